"""The deploy's last line tells the truth about everything it did: a function URL created for an unchanged
function is a change (not "Nothing changed since the last deploy"), and the plan's verdict comes after the plan's
last line, the URL's included. Through the real `lambda-tasks` command against moto's server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent


def deploy(root: Path, name: str, *flags: str, url: bool) -> list[str]:
    env = {**os.environ, "INVOKE_LAMBDA_TASKS_FUNCTION_URL": "true" if url else "false"}
    done = subprocess.run([str(BIN / "lambda-tasks"), "deploy", "--function-name", name, "--no-verify", *flags],
                          cwd=root, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return (done.stdout + done.stderr).splitlines()


def test_the_last_line_counts_the_function_url(tmp_path, iam_env, unique_name):
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "outcome"\n\n[tool.lambda-tasks]\n'
                                             'runtime = "python3.12"\n')
    name = unique_name()
    deploy(tmp_path, name, url=False)
    unchanged = deploy(tmp_path, name, url=False)
    assert unchanged[-1] == "Nothing changed since the last deploy: no layer published, no function updated"

    plan = deploy(tmp_path, name, "--plan", url=True)
    assert plan[-2:] == [f"function URL {name} [us-east-1]: would create, let anyone invoke it through the URL",
                         "plan only: nothing was changed"], plan
    made = deploy(tmp_path, name, url=True)
    assert made[-1].startswith(f"function URL {name} [us-east-1]: created, anyone may invoke it through the URL, ")
    assert not [line for line in made if line.startswith("Nothing changed")], made

    again = deploy(tmp_path, name, url=True)
    assert again[-2].startswith(f"function URL {name} [us-east-1]: up to date, https://")
    assert again[-1].startswith("Nothing changed since the last deploy"), again
    assert deploy(tmp_path, name, "--plan", url=True)[-1] == "plan: nothing to change"
