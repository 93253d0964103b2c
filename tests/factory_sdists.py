"""Projects and sdists with a C extension, made offline: an in-tree PEP 517 backend that "compiles" by running
``$CC`` (as setuptools' build_ext does), so the tests see what lambda-tasks' disabled compiler does to them.

``ext``: "none" (pure), "optional" (speedups: a failed compiler means a pure wheel, as MarkupSafe 1.x does),
"required" (a failed compiler fails the build with setuptools' wording).
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import textwrap
from pathlib import Path

_BACKEND = '''
"""An in-tree PEP 517 backend with an optional or required C extension, without setuptools."""
import base64, hashlib, os, subprocess, sys, sysconfig, zipfile

NAME, VERSION, REQUIRES, EXT, SOURCE = {name!r}, {version!r}, {requires!r}, {ext!r}, {source!r}

def _h(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def _compile():
    cc = os.environ.get("CC", "cc")
    try:
        return subprocess.run([cc, "--version"], capture_output=True).returncode == 0, cc, "exit status"
    except OSError as error:
        return False, cc, error.strerror

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    tag = "py3-none-any"
    if EXT != "none":
        compiled, cc, why = _compile()
        if compiled:
            tag = f"cp{{sys.version_info[0]}}{{sys.version_info[1]}}-cp{{sys.version_info[0]}}{{sys.version_info[1]}}-" \\
                  + sysconfig.get_platform().replace("-", "_").replace(".", "_")
        elif EXT == "required":
            print("building '" + NAME + "._speedups' extension")
            raise SystemExit(f"error: command '{{cc}}' failed: {{why}}")
        else:
            print("WARNING: The C extension could not be compiled, speedups are not enabled.")
    dist = NAME.replace("-", "_")
    info = f"{{dist}}-{{VERSION}}.dist-info"
    metadata = f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n"
    metadata += "".join(f"Requires-Dist: {{requirement}}\\n" for requirement in REQUIRES)
    purelib = "true" if tag.endswith("any") else "false"
    files = {{f"{{dist}}/__init__.py": SOURCE.encode(), f"{{info}}/METADATA": metadata.encode(),
             f"{{info}}/WHEEL": f"Wheel-Version: 1.0\\nGenerator: tests\\nRoot-Is-Purelib: {{purelib}}\\nTag: {{tag}}\\n".encode()}}
    filename = f"{{dist}}-{{VERSION}}-{{tag}}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        rows = []
        for arcname, data in files.items():
            zf.writestr(arcname, data)
            rows.append(f"{{arcname}},{{_h(data)}},{{len(data)}}")
        rows.append(f"{{info}}/RECORD,,")
        zf.writestr(f"{{info}}/RECORD", "\\n".join(rows) + "\\n")
    return filename

def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError
'''

_PYPROJECT = textwrap.dedent(
    """\
    [build-system]
    requires = []
    build-backend = "backend"
    backend-path = ["."]
    """
)


def project_files(name: str, version: str = "1.0", requires: list[str] | None = None, ext: str = "none",
                  source: str | None = None) -> dict[str, str]:
    """The files of a buildable project (path inside it -> text)."""
    source = source if source is not None else f"NAME = {name!r}\nVERSION = {version!r}\n"
    return {
        "pyproject.toml": _PYPROJECT,
        "backend.py": _BACKEND.format(name=name, version=version, requires=list(requires or []), ext=ext,
                                      source=source),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }


def make_local_project(directory: Path, name: str, version: str = "1.0", requires: list[str] | None = None,
                       ext: str = "none", source: str | None = None) -> Path:
    """A project directory (for ``./pkg`` lines) that builds offline."""
    directory.mkdir(parents=True, exist_ok=True)
    for relative, text in project_files(name, version, requires, ext, source).items():
        (directory / relative).write_text(text)
    return directory


def make_ext_sdist(directory: Path, name: str, version: str = "1.0", ext: str = "optional",
                   requires: list[str] | None = None) -> Path:
    """A source distribution with a C extension (``ext`` "optional" or "required")."""
    base = f"{name.replace('-', '_')}-{version}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for relative, text in project_files(name, version, requires, ext).items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{relative}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def make_git_repo(directory: Path, name: str, version: str = "1.0", requires: list[str] | None = None) -> Path:
    """A git repository holding a buildable project, committed (for ``git+file://`` lines)."""
    make_local_project(directory, name, version, requires)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": os.devnull}
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "."], ["git", "commit", "-q", "-m", "init"]):
        subprocess.run(command, cwd=directory, check=True, env=env, capture_output=True)
    return directory
