"""One command line, three front ends: the `invoke` command over a project's tasks.py, the `lambda-tasks`
console script and the Nox sessions (lambda_tasks.nox) parse the same flags into the same values, fail on the
same bad flags with the same one line, and print the same help texts. Each front end runs in-process here
(Invoke's and Nox's own entry points), with ``frontend.run`` replaced by a recorder; the real commands run in
test_nox.py."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import nox.__main__
import nox.registry
import pytest
from invoke import Program

from lambda_tasks import cli, frontend
from lambda_tasks.flags import COMMANDS, Command, Flag, check
from lambda_tasks.nox import help_text
from lambda_tasks.tasks import FlagTask, ns


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "tasks.py").write_text("from lambda_tasks.tasks import ns\n")
    (tmp_path / "noxfile.py").write_text("from lambda_tasks.flags import COMMANDS\nfrom lambda_tasks.nox import add_sessions\n"
                                         "add_sessions(globals(), commands=COMMANDS)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))  # Invoke's loader adds it; undone after the test
    return tmp_path


def exit_code(call) -> int:
    try:
        call()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def via_invoke(project: Path, name: str, args: list[str], monkeypatch) -> int:
    return exit_code(lambda: Program().run(["invoke", "--search-root", str(project), name, *args]))


def via_console_script(project: Path, name: str, args: list[str], monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", ["lambda-tasks", name, *args])
    return exit_code(cli.main)


def via_nox(project: Path, name: str, args: list[str], monkeypatch) -> int:
    monkeypatch.setattr(nox.registry, "_REGISTRY", {})  # each run registers the noxfile's sessions afresh
    monkeypatch.setattr(sys, "argv", ["nox", "-f", str(project / "noxfile.py"), "-s", name, "--", *args])
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        code = exit_code(nox.__main__.main)
    finally:  # Nox sets up the root logger on the captured stderr: later tests must not log there
        root.handlers[:], root.level = handlers, level
    monkeypatch.chdir(project)  # Nox moved to the noxfile's directory: the same one
    return code


FRONT_ENDS = {"invoke": via_invoke, "lambda-tasks": via_console_script, "nox": via_nox}


def expected(name: str, **given) -> dict:
    values = {flag.key: flag.default for flag in COMMANDS[name].flags}
    assert set(given) <= set(values), set(given) - set(values)
    return {**values, **given}


GOOD = [
    ("build", ["--runtime", "python3.11", "--arch", "arm64"], {"runtime": "python3.11", "arch": "arm64"}),
    ("build", ["-p", "app", "-r", "python3.13", "-a", "arm64", "-f", "-b", "-q", "-j", "-n"],
     {"project_dir": "app", "runtime": "python3.13", "arch": "arm64", "force": True, "bytecode": True,
      "quiet": True, "json": True, "no_wait": True}),
    ("verify", ["-e", "event.json", "--function", "crunch", "--handler=app.other", "-s", "prod"],
     {"event": "event.json", "function": "crunch", "handler": "app.other", "stage": "prod"}),
    ("verify", ["--all", "--pass-env", "SLACK_WEBHOOK_URL", "--pass-env", "DB_URL", "-e", "sqs"],
     {"all": True, "pass_env": ["SLACK_WEBHOOK_URL", "DB_URL"], "event": "sqs"}),
    ("publish-layer", ["--region", "us-east-1", "--region", "eu-west-1", "--s3-bucket", "b-{region}", "--plan"],
     {"region": ["us-east-1", "eu-west-1"], "s3_bucket": "b-{region}", "plan": True}),
    ("deploy", ["--function-name", "f", "--memory", "256", "--timeout=30", "--publish-version", "--alias", "live",
                "--no-verify", "-j"],
     {"function_name": "f", "memory": 256, "timeout": 30, "publish_version": True, "alias": "live",
      "no_verify": True, "json": True}),
    ("lock", ["-o", "pylock.arm64.toml", "-a", "arm64"], {"output": "pylock.arm64.toml", "arch": "arm64"}),
    ("publish-image", ["--repository", "127.0.0.1:5000/app", "--plan", "-j"],
     {"repository": "127.0.0.1:5000/app", "plan": True, "json": True}),
    ("delete", ["-s", "prod", "--plan", "--keep-layers", "--region", "eu-west-1"],
     {"stage": "prod", "plan": True, "keep_layers": True, "region": ["eu-west-1"]}),
    ("report", ["-j", "-a", "arm64"], {"json": True, "arch": "arm64"}),
]

BAD = [  # Invoke's parse errors in our words, with the nearest flag or command
    ("build", ["--bogus"], "unknown flag --bogus for build"),
    ("build", ["--runtme", "python3.12"], "unknown flag --runtme for build; did you mean --runtime?"),
    ("deploy", ["--memory", "lots"], "--memory takes a whole number (MB), not 'lots'"),
    ("deploy", ["--timeout", "1.5"], "--timeout takes a whole number (SECONDS), not '1.5'"),
    ("build", ["--runtime"], "--runtime needs a value (RUNTIME)"),
    ("publish-layer", ["-s", "prod"], "unknown flag -s for publish-layer"),  # -s is --stage wherever it is a flag
    ("build", ["extra"], "build takes no argument 'extra', only flags"),
    ("build", ["verfy"], "did you mean the command 'verify'?"),
    ("deploy", ["--keep-layers"], "unknown flag --keep-layers for deploy"),  # delete's alone
]


@pytest.mark.parametrize("front", FRONT_ENDS)
@pytest.mark.parametrize("name, args, given", GOOD, ids=[f"{c[0]}:{' '.join(c[1])}" for c in GOOD])
def test_the_same_values_through_every_front_end(project, monkeypatch, capfd, front, name, args, given):
    seen = []
    monkeypatch.setattr(frontend, "run", lambda command, values, configured, cwd=None:
                        seen.append((command, dict(values))) or frontend.Outcome())
    assert FRONT_ENDS[front](project, name, args, monkeypatch) == 0, capfd.readouterr()
    assert seen == [(name, expected(name, **given))]


@pytest.mark.parametrize("front", FRONT_ENDS)
@pytest.mark.parametrize("name, args, message", BAD, ids=[f"{c[0]}:{' '.join(c[1])}" for c in BAD])
def test_the_same_bad_flags_fail_the_same_way(project, monkeypatch, capfd, front, name, args, message):
    monkeypatch.setattr(frontend, "run", lambda *a, **k: pytest.fail("a bad flag ran the command"))
    assert FRONT_ENDS[front](project, name, args, monkeypatch) == 1
    err = capfd.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("front", FRONT_ENDS)
@pytest.mark.parametrize("code, message", [(1, "error: no app.py in /x\n  add one"), (130, frontend.INTERRUPTED)])
def test_a_failing_command_exits_with_its_code_and_one_line(project, monkeypatch, capfd, front, code, message):
    monkeypatch.setattr(frontend, "run", lambda *a, **k: frontend.Outcome(code, message))
    assert FRONT_ENDS[front](project, "build", [], monkeypatch) == code
    err = capfd.readouterr().err
    assert message.splitlines()[0].removeprefix("error: ") in err and "Traceback" not in err
    if code == 1:
        assert "  add one" in err  # the way out is printed too


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_help_shows_every_flag_and_its_text(project, monkeypatch, capsys, name):
    helps = {}
    for front, program in (("invoke", Program()), ("lambda-tasks", cli.program())):
        exit_code(lambda program=program, front=front: program.run([front, "--help", name]))
        helps[front] = capsys.readouterr().out
    helps["nox"] = help_text(name)
    for front, text in helps.items():
        assert _flat(COMMANDS[name].summary) in _flat(text), front
        for flag in COMMANDS[name].flags:
            assert f"--{flag.name}" in text and _flat(flag.help) in _flat(text), (front, flag.name)
            if flag.kind is int:
                assert f"--{flag.name}=INT" in text if front == "invoke" else f"--{flag.name}={flag.placeholder}" in text
            elif flag.placeholder and front != "invoke":
                assert f"--{flag.name}={flag.placeholder}" in text, (front, flag.name)


def test_every_task_is_made_from_a_declared_command():
    """A task added with Invoke's @task would escape the shared flags: declare it in frontend.py."""
    assert list(ns.tasks) == list(COMMANDS)
    assert all(isinstance(task, FlagTask) and task.command is COMMANDS[name] for name, task in ns.tasks.items())
    check(COMMANDS.values())


def _command(*flags: Flag) -> Command:
    return Command("x", flags, lambda run: None, "X.")


@pytest.mark.parametrize("commands, message", [
    ([_command(Flag("force", "f", kind=bool, short="f")), _command(Flag("function", "f", "NAME", short="f"))],
     "-f means --force and --function"),
    ([_command(Flag("memory", "m", "MB", kind=int)), _command(Flag("memory", "m", "MB"))], "--memory differs"),
    ([_command(Flag("handler", "h", "H", short="h"))], "-h means --help and --handler"),
    ([_command(Flag("a", "a", "A"), Flag("a", "b", "A"))], "has a flag twice"),
])
def test_clashing_flags_are_refused(commands, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check(commands)


def test_flags_are_declared_consistently():
    with pytest.raises(ValueError, match="a switch has no placeholder"):
        Flag("plan", "p", "PLAN", kind=bool)
    with pytest.raises(ValueError, match="a value flag needs one"):
        Flag("memory", "m", kind=int)


def test_values_feed_settings_or_options():
    settings, options = COMMANDS["deploy"].split(
        {"memory": 256, "region": ["eu-west-1"], "publish_version": False, "plan": True, "stage": None})
    assert settings == {"memory": 256, "regions": ["eu-west-1"]}  # not given (None, off, empty): lower sources decide
    assert options["plan"] is True and options["no_verify"] is False and options["quiet"] is False
    assert "memory" not in options
    assert COMMANDS["deploy"].split({"memory": 0, "timeout": 0})[0] == {"memory": 0, "timeout": 0}  # 0 is given
    _, verify_options = COMMANDS["verify"].split({"handler": "app.x"})
    assert verify_options["handler"] == "app.x"  # verify's --handler picks what to check, not the setting
