"""Nox sessions of the bundled example: `nox -s build -- --runtime python3.12`, `nox -s verify`, `nox --list`."""

from lambda_tasks.nox import add_sessions

add_sessions(globals())
