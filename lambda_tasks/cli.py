"""``lambda-tasks``: the same tasks as a console script, for projects without a tasks.py. ``--version`` prints
``lambda-tasks <version>``; ``--help`` lists our commands and only our options (none of Invoke's own, whose short
flags would clash with ours); a closed pipe (``lambda-tasks --help | head``) ends quietly."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from . import __version__, up_to_date
from .errors import INTERRUPTED

if TYPE_CHECKING:
    from invoke.program import Program


def program() -> Program:
    # lazy: the command layer and the settings; a no-op the stamp decides never loads them (start-up time)
    from .console import ConsoleProgram
    from .tasks import ns

    return ConsoleProgram(namespace=ns, version=__version__, name="lambda-tasks", binary="lambda-tasks")


def replay(command: up_to_date.Command) -> None:
    """The last build's command again, without Invoke: the stamp showed the command line, the environment,
    Invoke's config files and lambda-tasks' own files unchanged, so Invoke would parse these same values (only
    the project's files changed, and the build reads them anew). Ends as the Invoke task does: the error on
    stderr and its exit code."""
    # lazy: the command layer; a no-op the stamp decides never loads it (start-up time)
    from . import stamp_commit
    from .frontend import run

    outcome = run(*command)
    if outcome.code:
        print(outcome.message, file=sys.stderr)
        sys.exit(outcome.code)
    stamp_commit.commit(command)


def main() -> None:
    try:
        if up_to_date.fast_path("lambda-tasks", sys.argv[1:]):  # a no-op decided by the last build's stamp
            return
        command = up_to_date.pending.replay if up_to_date.pending is not None else None
        if command is not None:
            replay(command)
        else:
            program().run()
        sys.stdout.flush()
    except KeyboardInterrupt:  # Ctrl-C while starting (a command's own Ctrl-C ends in frontend.run): no traceback
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # the reader left (`| head`): nothing more to say, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    finally:
        up_to_date.pending = None  # a later call in this process (a test's) is not this command line


if __name__ == "__main__":
    main()
