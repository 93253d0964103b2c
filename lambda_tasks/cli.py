"""``lambda-tasks``: the same tasks as a console script, for projects without a tasks.py. ``--version`` prints
``lambda-tasks <version>``."""

from __future__ import annotations

from invoke.program import Program

from . import __version__
from .tasks import ns


def program() -> Program:
    """Invoke's Program over our collection: its help shows each flag's placeholder (``--project-dir=DIR``)."""
    return Program(namespace=ns, version=__version__, name="lambda-tasks", binary="lambda-tasks")


def main() -> None:
    program().run()


if __name__ == "__main__":
    main()
