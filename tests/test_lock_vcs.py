"""VCS and archive entries in pylock.toml and uv.lock: built like the same requirement in requirements.txt (the
locked commit; the archive's hash checked), the locked version enforced, other VCS refused clearly."""

import hashlib
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import offline_pyproject
from factory import build, make_project, make_sdist
from factory_sdists import make_local_project
from test_locks import Lines, _layer, _settings

from lambda_tasks.errors import ResolveError

pytestmark = pytest.mark.slow  # git and pip wheel builds
_GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t"}


def _git_repo(root: Path, version: str = "0.7") -> tuple[Path, str]:
    repo = make_local_project(root, "gitlib", version)
    for command in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "one"]):
        subprocess.run(["git", *command], cwd=repo, check=True, env=_GIT_ENV)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True)
    return repo, commit.stdout.strip()


def _project(tmp_path: Path, wheelhouse: Path, name: str, text: str, pyproject: str = "") -> Path:
    project = make_project(tmp_path / "proj", pyproject=pyproject + offline_pyproject(wheelhouse))
    (project / "requirements.txt").unlink()
    (project / name).write_text(text)
    return project


def test_pylock_vcs_and_archive_entries_are_built(tmp_path, wheelhouse):
    repo, commit = _git_repo(tmp_path / "repo")
    sdist = make_sdist(tmp_path / "archives", "arclib", "1.2")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    lock = textwrap.dedent(f"""\
        lock-version = "1.0"
        created-by = "tests"

        [[packages]]
        name = "gitlib"
        version = "0.7"
        vcs = {{ type = "git", url = "{repo.as_uri()}", requested-revision = "main", commit-id = "{commit}" }}

        [[packages]]
        name = "arclib"
        version = "1.2"
        archive = {{ path = "../archives/{sdist.name}", hashes = {{ sha256 = "{digest}" }} }}
    """)
    project = _project(tmp_path, wheelhouse, "pylock.toml", lock)
    manifest = build(_settings(project), reporter=Lines())
    assert _layer(project, manifest) == {"gitlib": "0.7", "arclib": "1.2"}
    (project / "pylock.toml").write_text(lock.replace(digest, "0" * 64))
    with pytest.raises(ResolveError, match=r"arclib-1\.2\.tar\.gz from .* does not match the sha256 in the lock"):
        build(_settings(project), reporter=Lines())
    (project / "pylock.toml").write_text(lock.replace('version = "0.7"', 'version = "0.9"').replace(digest, "0" * 64)
                                         .replace('type = "git"', 'type = "hg"'))
    with pytest.raises(ResolveError, match=r"gitlib is locked from hg, which lambda-tasks cannot fetch"):
        build(_settings(project), reporter=Lines())


def test_uv_lock_git_source_is_built_at_the_locked_commit(tmp_path, wheelhouse):
    repo, commit = _git_repo(tmp_path / "repo")
    lock = textwrap.dedent(f"""\
        version = 1
        revision = 3
        requires-python = ">=3.10"

        [[package]]
        name = "app"
        version = "0.1.0"
        source = {{ virtual = "." }}
        dependencies = [{{ name = "gitlib" }}]

        [package.metadata]
        requires-dist = [{{ name = "gitlib", git = "{repo.as_uri()}?rev=main" }}]

        [[package]]
        name = "gitlib"
        version = "0.7"
        source = {{ git = "{repo.as_uri()}?rev=main#{commit}" }}
    """)
    pyproject = (f'[project]\nname = "app"\nversion = "0.1.0"\n'
                 f'dependencies = ["gitlib @ git+{repo.as_uri()}@main"]\n')
    project = _project(tmp_path, wheelhouse, "uv.lock", lock, pyproject)
    manifest = build(_settings(project), reporter=Lines())
    assert _layer(project, manifest) == {"gitlib": "0.7"}
    # a later commit on the branch does not change what ships: the lock names the commit
    make_local_project(repo, "gitlib", "0.8")
    subprocess.run(["git", "commit", "-qam", "two"], cwd=repo, check=True, env=_GIT_ENV)
    manifest = build(_settings(project), force=True, reporter=Lines())
    assert _layer(project, manifest) == {"gitlib": "0.7"}
    (project / "uv.lock").write_text(lock.replace('version = "0.7"', 'version = "0.8"'))
    with pytest.raises(ResolveError, match=r"gitlib==0.8 .*builds version 0.7"):
        build(_settings(project), reporter=Lines())
