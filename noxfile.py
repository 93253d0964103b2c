"""The project's own version matrix (CI runs it from .ci/run): the resolver's tests on the oldest and the newest
pip and uv lambda-tasks supports (pyproject.toml: pip>=23.1,<27, uv>=0.13; uv 0.8.0 failed 5 of these tests, so
the floor was raised to what passes).

fastpip patches pip's internals and about 25 regular expressions read pip's and uv's messages: a new pip or uv
may change either, so both ends of the supported ranges are tested, not only what the main run happens to get.
Raise NEWEST when a new release is supported (and OLDEST with the lower bounds in pyproject.toml).

    nox -s resolvers            # both ends
    nox -s "resolvers(oldest)"  # one
"""

from __future__ import annotations

import nox

OLDEST = {"pip": "23.1", "uv": "0.13.0"}
NEWEST = {"pip": "26.3", "uv": "0.13.10"}

#: the tests that run pip or uv, or read what they print
RESOLVER_TESTS = ["tests/test_fastpip.py", "tests/test_pip_config.py", "tests/test_uv.py", "tests/test_markers.py",
                  "tests/test_sdists.py", "tests/test_local_requirements.py", "tests/test_requirements.py",
                  "tests/test_early.py", "tests/test_lock_command.py",
                  "tests/test_resolve_failures.py"]

nox.options.sessions = ["resolvers"]


@nox.session(venv_backend="uv")
@nox.parametrize("versions", [OLDEST, NEWEST], ids=["oldest", "newest"])
def resolvers(session: nox.Session, versions: dict[str, str]) -> None:
    session.install("-e", ".[test]")
    session.install(f"pip=={versions['pip']}", f"uv=={versions['uv']}")
    session.run("python", "-m", "pip", "--version")
    session.run("python", "-m", "uv", "--version")
    # a compatibility run: the pyramid's time limit is the main run's (it would only measure this machine's load)
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not pypi", "--unmarked-limit", "0",
                *RESOLVER_TESTS, *session.posargs)
