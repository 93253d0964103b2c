"""``lambda-tasks``: the same tasks as a console script, for projects without a tasks.py."""

from __future__ import annotations

from invoke.program import Program

from . import __version__
from .tasks import ns


def main() -> None:
    Program(namespace=ns, version=__version__, name="lambda-tasks", binary="lambda-tasks").run()


if __name__ == "__main__":
    main()
