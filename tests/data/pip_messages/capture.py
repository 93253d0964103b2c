"""Capture pip's real failure output for each case into ``<pip-version>/<case>.txt`` (the classifier's fixtures).

    python tests/data/pip_messages/capture.py /path/to/python-with-pip-X [...]

``diagnose_index.txt`` is no case of this script: the ``Skipping link`` lines of pywin32 311's cp312 wheels and
pip's last lines from ``pip download --no-deps -vv pywin32==311`` on PyPI for the same target (what
``no_fit_failure`` reads).

Each case is a wheelhouse built by tests/factory.py and a requirements file, resolved offline for
python3.12/x86_64 through fastpip, exactly as lambda-tasks runs pip. Only pip's ERROR and INFO text is kept
(from "ERROR:" on), with the temporary paths replaced by ``<tmp>``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parents[2])]

from factory import make_wheel  # noqa: E402

from lambda_tasks.resolve.fastpip import TAGS_VARIABLE, marker_env_variable  # noqa: E402
from lambda_tasks.targets import Target  # noqa: E402

WIN = "cp312-cp312-win_amd64"


def conflict_pins(w: Path) -> str:  # tests/test_build.py's case
    make_wheel(w, "needsold", requires=["helperdep<1"])
    make_wheel(w, "helperdep")
    return "needsold\nhelperdep==1.0\n"


def conflict_ranges(w: Path) -> str:  # two dependencies' ranges that do not meet
    make_wheel(w, "lowuser", requires=["shared<2"])
    make_wheel(w, "highuser", requires=["shared>=2"])
    for version in ("1.0", "2.0"):
        make_wheel(w, "shared", version)
    return "lowuser\nhighuser\n"


def conflict_clauses(w: Path) -> str:  # boto3==1.26.0 with botocore==1.30.0: pip prints "<1.30.0 and >=1.29.0"
    make_wheel(w, "clientlib", requires=["corelib>=1.29.0,<1.30.0,!=1.29.5"])
    for version in ("1.29.0", "1.30.0"):
        make_wheel(w, "corelib", version)
    return "clientlib==1.0\ncorelib==1.30.0\n"


def transitive_unavailable(w: Path) -> str:  # sqlalchemy[postgresql] -> psycopg2: every parent version asks
    for version in ("1.0", "2.0"):
        make_wheel(w, "sqlish", version, requires=["pgdriver>=2.7"])
    make_wheel(w, "pgdriver", "2.9", tag=WIN)
    return "sqlish\n"


def transitive_single(w: Path) -> str:  # one parent version: nothing to backtrack through
    make_wheel(w, "sqlish", "2.0", requires=["pgdriver>=2.7"])
    make_wheel(w, "pgdriver", "2.9", tag=WIN)
    return "sqlish==2.0\n"


def transitive_two_parents(w: Path) -> str:  # two packages ask for it with ranges that meet: still no conflict
    for version in ("1.0", "2.0"):
        make_wheel(w, "sqlish", version, requires=["pgdriver>=2.7"])
        make_wheel(w, "ormish", version, requires=["pgdriver>=2.0"])
    make_wheel(w, "pgdriver", "2.9", tag=WIN)
    return "sqlish\normish\n"


def direct_unavailable(w: Path) -> str:
    make_wheel(w, "winonly", "1.0", tag=WIN)
    return "winonly==1.0\n"


def direct_and_dependency(w: Path) -> str:  # the project asks for it, and so does a dependency
    for version in ("1.0", "2.0"):
        make_wheel(w, "sqlish", version, requires=["pgdriver>=2.7"])
    make_wheel(w, "pgdriver", "2.9", tag=WIN)
    return "sqlish\npgdriver\n"


def mix(w: Path) -> str:  # a true conflict and a dependency with nothing for the target
    conflict_pins(w)
    transitive_unavailable(w)
    return "needsold\nhelperdep==1.0\nsqlish\n"


CASES = [conflict_pins, conflict_ranges, conflict_clauses, transitive_unavailable, transitive_single, transitive_two_parents,
         direct_unavailable, direct_and_dependency, mix]


def capture(python: str) -> None:
    version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True,
                             check=True).stdout.split()[1]
    target = Target("python3.12", "x86_64")
    env = {**marker_env_variable(target), TAGS_VARIABLE: " ".join(sorted(str(tag) for tag in target.tags)),
           "PATH": "/usr/bin:/bin", "PIP_NO_CACHE_DIR": "1", "PIP_CONFIG_FILE": "/dev/null"}
    fastpip = HERE.parents[2] / "lambda_tasks" / "resolve" / "fastpip.py"
    out = HERE / version
    out.mkdir(exist_ok=True)
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            wheels = Path(tmp, "w")
            wheels.mkdir()
            spec = Path(tmp, "requirements.txt")
            spec.write_text(case(wheels))
            done = subprocess.run([python, str(fastpip), "--disable-pip-version-check", "--no-input", "download",
                                   "-r", str(spec), "-d", str(Path(tmp, "d")), "--progress-bar", "off",
                                   "--no-index", "--find-links", str(wheels), *target.pip_target_args()],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env={**env, "PYTHONUNBUFFERED": "1"}, cwd=tmp, timeout=120)
            text = done.stdout.replace(tmp, "<tmp>")
            start = text.find("ERROR:")
            text = text[start:] if start >= 0 else f"(exit {done.returncode}, no error)\n"
            text = re.sub(r"\n{3,}", "\n\n", text)
            (out / f"{case.__name__}.txt").write_text(text.strip() + "\n")
            print(version, case.__name__, done.returncode)


if __name__ == "__main__":
    for interpreter in sys.argv[1:]:
        capture(interpreter)
