"""The newcomer's path: the README (short, its two commands first), the documentation site (built with --strict,
every page in the nav), the reference generated from the code's declarations (every setting with a help text,
every command and flag), the quickstart run verbatim against moto, and the test helper for system tools."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
import yaml
from conftest import REPO, need_tool

from lambda_tasks import frontend  # noqa: F401  (declares the commands)
from lambda_tasks.config import _FIELDS, setting_names
from lambda_tasks.flags import COMMANDS

BIN = Path(sys.executable).parent
DOCS = REPO / "docs"


def _reference():
    spec = importlib.util.spec_from_file_location("docs_reference", DOCS / "_hooks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _reference()


def test_readme_is_short_and_starts_with_the_two_commands():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) < 8 * 1024
    commands = [line.strip() for line in text.splitlines()[2:4]]
    assert commands[0].startswith("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/invoke build")
    assert commands[1].startswith(".venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -q")
    assert "-p no:xdist" not in text  # it errors out with the -n of pyproject.toml's addopts


def test_readme_links_point_at_files_that_exist():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    assert targets
    missing = [t for t in targets if not (REPO / t).exists()]  # generated pages are not linked: not in the repo
    assert not missing


def test_every_setting_has_a_help_text_and_is_in_the_reference():
    names = setting_names()
    assert not [name for name in names if not _FIELDS[name].metadata.get("help", "").strip()]
    page = reference.settings_markdown()
    for name in names:
        assert f'<span id="{name}"></span>`{name}`' in page, name
    assert "names_from" not in page and "output_dir" not in page  # derived, not settings


def test_the_reference_shows_defaults_kinds_and_flags():
    rows = {line.split("`")[1]: line for line in reference.settings_rows().splitlines()[2:]}
    assert "`128`" in rows["memory"] and "whole number, 0 or more" in rows["memory"] and "`--memory`" in rows["memory"]
    assert "`auto` or `pip` or `uv`" in rows["installer"]
    assert "table of strings" in rows["environment"] and "deploy" in rows["environment"]
    assert "unset" in rows["s3_bucket"] and "`--s3-bucket`" in rows["s3_bucket"]
    with pytest.raises(ValueError, match="no such setting: nope"):
        reference.settings_rows(["memory", "nope"])


def test_every_command_and_flag_is_in_the_reference():
    page = reference.commands_markdown()
    for name, declared in COMMANDS.items():
        assert f"\n## {name}\n" in page
        for flag in declared.flags:
            assert f"`--{flag.name}`" in page


def test_every_page_is_in_the_nav():
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)

    def paths(nav):
        if isinstance(nav, list):
            return [p for item in nav for p in paths(item)]
        if isinstance(nav, dict):
            return [p for value in nav.values() for p in paths(value)]
        return [nav]

    listed = set(paths(config["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "_hooks" not in p.parts}
    assert pages <= listed, pages - listed
    generated = {"reference/settings.md", "reference/commands.md", "changelog.md", "contributing.md"}
    assert listed - pages <= generated, listed - pages - generated


def _mkdocs() -> str:
    return need_tool("mkdocs", shutil.which("mkdocs", path=str(BIN)), install="pip install -e '.[docs]'")


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    done = subprocess.run([_mkdocs(), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr
    settings = (tmp_path / "site" / "reference" / "settings" / "index.html").read_text(encoding="utf-8")
    assert all(f'id="{name}"' in settings for name in setting_names())
    chalice = (tmp_path / "site" / "guides" / "chalice-projects" / "index.html").read_text(encoding="utf-8")
    assert "lambda_memory_size" in chalice and "<!-- chalice-config-keys -->" not in chalice


# ---------------------------------------------------------------- the quickstart, verbatim

START, END = re.compile(r"^<!-- quickstart", re.M), "<!-- end of quickstart -->"
#: A fenced block: its language, the rest of its info line (``title="path"``), its text.
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
EOF_MARK = "LAMBDA_TASKS_DOCS_EOF"


def walkthrough_script(text: str) -> str:
    """The bash script of a page's walk-through, in the page's order: between ``<!-- quickstart`` and
    ``<!-- end of quickstart -->``, each ```sh block verbatim and each block titled ``title="path"`` written to that
    path (from the directory the commands before it left the shell in). Without the markers: the ```sh blocks of
    the README's quickstart section. Any other block inside the markers is an error: nothing there goes untested."""
    found = START.search(text)
    if found:
        text = text[found.start():text.index(END)]
    else:
        text = text[text.index("## Your own project in five minutes"):]
        text = text[:text.index("\n## ", 4)]
    parts = []
    for language, info, body in FENCE.findall(text):
        title = re.search(r'title="([^"]+)"', info)
        if title:
            path = title.group(1)
            assert EOF_MARK not in body and "'" not in path and not path.startswith("/") and ".." not in path, path
            parts.append(f"mkdir -p \"$(dirname '{path}')\" && cat > '{path}' <<'{EOF_MARK}'\n{body}{EOF_MARK}")
        elif language == "sh":
            parts.append(body)
        elif found:
            raise AssertionError(f"a ```{language} block without a title inside the walk-through: {body[:60]!r}")
    return "\n".join(parts)


def test_the_walkthrough_script_writes_titled_blocks_and_runs_sh_blocks(tmp_path):
    page = ('# x\n\n```sh\necho outside\n```\n\n<!-- quickstart: here -->\n\n```sh\nmkdir p && cd p\n```\n\n'
            '```sh title="pkg/say.sh"\necho "it\'s here"\n```\n\n```sh\nsh pkg/say.sh\n```\n\n'
            '<!-- end of quickstart -->\n\n```sh\necho after\n```\n')
    script = walkthrough_script(page)
    assert "outside" not in script and "after" not in script
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout == "it's here\n", done.stderr
    assert (tmp_path / "p" / "pkg" / "say.sh").read_text() == 'echo "it\'s here"\n'
    with pytest.raises(AssertionError, match="without a title"):
        walkthrough_script(page.replace("```sh\nsh pkg", "```console\nsh pkg"))


#: The README's quickstart, and every page with one between <!-- quickstart ... --> and <!-- end of quickstart -->.
QUICKSTARTS = ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in DOCS.rglob("*.md")
                                    if START.search(p.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("page", QUICKSTARTS[1:])
def test_every_command_of_a_walkthrough_page_is_in_the_walkthrough(page):
    """A page with a walk-through shows no shell command the test does not run (output is shown indented)."""
    text = (REPO / page).read_text(encoding="utf-8")
    found = START.search(text)
    assert found
    outside = text[:found.start()] + text[text.index(END):]
    assert not [body for language, _, body in FENCE.findall(outside) if language in {"sh", "bash", "console", "shell"}]


def _check_hello(out: str, tmp_path: Path) -> None:
    assert "names: app hello-lambda, layers hello-lambda-deps-N (from [project] name in pyproject.toml)" in out
    assert "hello lambda" in out  # verify called the handler with the event
    assert re.search(r"function hello-lambda \[us-east-1\]: (created|updated|up to date)", out), out


def _sha256_b64(path: Path) -> str:
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def _check_todo_api(out: str, tmp_path: Path) -> None:
    """What the FastAPI walk-through's deploy made, read back from moto; and what verify answered locally."""
    project = tmp_path / "todo-api"
    assert "names: app todo-api, layers todo-api-deps-N (from [project] name in pyproject.toml)" in out
    assert '"statusCode": 201' in out and '{\\"title\\":\\"read the docs\\",\\"id\\":1,\\"done\\":false}' in out, out
    assert "function URL todo-api [us-east-1]: would create" in out  # the plan
    with zipfile.ZipFile(project / "dist" / "app.zip") as app:
        assert {"app.py", "todo/__init__.py", "todo/store.py", "todo/routes.py"} <= set(app.namelist())
    lam = boto3.client("lambda", region_name="us-east-1")
    config = lam.get_function(FunctionName="todo-api")["Configuration"]
    assert (config["Handler"], config["Runtime"], config["MemorySize"], config["Timeout"]) == (
        "app.handler", "python3.12", 512, 15)
    assert config["Environment"]["Variables"] == {"STAGE": "dev"}
    assert config["Role"].endswith(":role/todo-api-dev")
    assert config["CodeSha256"] == _sha256_b64(project / "dist" / "app.zip")
    (layer,) = config["Layers"]
    assert ":layer:todo-api-deps-1:" in layer["Arn"]
    name, version = layer["Arn"].rsplit(":", 2)[-2:]
    published = lam.get_layer_version(LayerName=name, VersionNumber=int(version))
    assert published["Content"]["CodeSha256"] == _sha256_b64(project / "layers" / "todo-api-deps-1.zip")
    assert "python3.12" in published["CompatibleRuntimes"]
    url = lam.get_function_url_config(FunctionName="todo-api")
    assert url["AuthType"] == "NONE" and url["FunctionUrl"].rstrip("/") in out  # the deploy printed it
    statements = json.loads(lam.get_policy(FunctionName="todo-api")["Policy"])["Statement"]
    assert any(s["Action"] == "lambda:InvokeFunctionUrl" and s["Principal"] in ("*", {"AWS": "*"})
               for s in statements), statements


#: What each walk-through's run is checked for beyond every command passing, by the name it deploys.
WALKTHROUGH_CHECKS = {"hello-lambda": _check_hello, "todo-api": _check_todo_api}


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.pypi
@pytest.mark.parametrize("page", QUICKSTARTS)
def test_the_quickstart_runs_verbatim_against_moto(tmp_path, iam_env, page):
    script = walkthrough_script((REPO / page).read_text(encoding="utf-8"))
    assert re.search(r"^(lambda-tasks|invoke) deploy", script, re.M), script
    env = {**os.environ, **iam_env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("AWS_DEFAULT_REGION", None)
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    checks = [check for name, check in WALKTHROUGH_CHECKS.items() if name in script]
    assert len(checks) == 1, f"{page}: no check of what its walk-through deployed (WALKTHROUGH_CHECKS)"
    checks[0](out, tmp_path)


# ---------------------------------------------------------------- system tools: skip outside CI, fail under CI=true


@pytest.mark.slow  # a pytest in a subprocess: 2 to 10 s on a shared machine
@pytest.mark.e2e
@pytest.mark.parametrize("ci, outcome", [("", "1 skipped"), ("true", "1 error")])  # fails in its setup
def test_a_missing_system_tool_skips_outside_ci_and_fails_under_ci(tmp_path, ci, outcome):
    (tmp_path / "test_tool.py").write_text(
        "import pytest\n\n@pytest.mark.tool('no-such-tool-here')\ndef test_needs_it():\n    pass\n")
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(REPO / "tests")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-n", "0",
                           "-rs", "-q", "test_tool.py"], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=120)
    assert outcome in done.stdout, done.stdout + done.stderr
    assert "no-such-tool-here is not installed" in done.stdout
