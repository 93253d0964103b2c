"""The newcomer's path: the README (short, its two commands first), the documentation site (built with --strict,
every page in the nav), the reference generated from the code's declarations (every setting with a help text,
every command and flag), the quickstart run verbatim against moto, and the test helper for system tools."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

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


def quickstart_blocks(text: str) -> list[str]:
    """The ```sh blocks between the quickstart markers (getting-started.md), or of the README's quickstart section."""
    found = re.search(r"^<!-- quickstart", text, re.M)
    start = found.start() if found else -1
    if start >= 0:
        text = text[start:text.index("<!-- end of quickstart -->")]
    else:
        text = text[text.index("## Your own project in five minutes"):]
        text = text[:text.index("\n## ", 4)]
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


#: The README's quickstart, and every page with one between <!-- quickstart ... --> and <!-- end of quickstart -->.
QUICKSTARTS = ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in DOCS.rglob("*.md")
                                    if re.search(r"^<!-- quickstart", p.read_text(encoding="utf-8"), re.M))]


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.pypi
@pytest.mark.parametrize("page", QUICKSTARTS)
def test_the_quickstart_runs_verbatim_against_moto(tmp_path, iam_env, page):
    blocks = quickstart_blocks((REPO / page).read_text(encoding="utf-8"))
    assert any("lambda-tasks deploy" in block for block in blocks)
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {**os.environ, **iam_env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("AWS_DEFAULT_REGION", None)
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout + done.stderr
    if "hello-lambda" not in script:
        return  # another page's walk-through: it ran, every command green
    assert "names: app hello-lambda, layers hello-lambda-deps-N (from [project] name in pyproject.toml)" in out
    assert "hello lambda" in out  # verify called the handler with the event
    assert re.search(r"function hello-lambda \[us-east-1\]: (created|updated|up to date)", out), out


# ---------------------------------------------------------------- system tools: skip outside CI, fail under CI=true


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
