"""``invoke lock``: write a pylock.toml (PEP 751) for the target from the project's declaration.

uv resolves for the target, not the host (``uv pip compile --format pylock.toml`` with the target's
``--python-platform`` and ``--python-version``; wheels only, unless a requirement has none: then its sdist is
locked, and the build builds it with the compiler off). ``pip lock`` is not used: it resolves for the
interpreter that runs it (it has no ``--platform``). uv's lock lists only the target's wheels and no markers,
so the file gets ``environments`` naming the target: a build for another runtime or architecture refuses it
instead of shipping a resolution made for something else, and ``[tool.lambda-tasks]`` the extras and groups it
was made with (the build's closure check takes pyproject.toml's requirements with those). Written atomically:
the same inputs (and the same index) give the same bytes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import deadlines
from ..errors import ResolveError, SettingsError
from ..files import write_atomic
from ..host import find_uv
from ..report import Reporter
from ..sections import ResolveSettings, SourceSettings
from ..sources.declaration import declare_source
from ..sources.project import Source, kind_of
from ..sources.requirements import Line, direct_reference
from ..target_lock import environment_marker
from ..targets import Target
from .process import redact
from .uv import _NO_WHEEL, explain_uv_failure, uv_platform, uv_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def write_pylock(sources: SourceSettings, settings: ResolveSettings, source: Source, output: Path,
                 reporter: Reporter) -> int:
    """Lock the declaration ``source`` for the target into ``output``; the number of packages locked."""
    if kind_of(output) != "pylock":
        raise SettingsError(f"{output.name} is not a pylock file name; use pylock.toml or pylock.<name>.toml")
    if source.is_lock:
        raise SettingsError(f"the dependencies come from {source.path.name}, which is already a lock; "
                            "name requirements.txt or pyproject.toml with the requirements setting")
    declaration = declare_source(source, sources, settings.pip_args)
    target = settings.target
    uv = find_uv()
    uv_args, uv_env = uv_settings(settings.pip_args, isolated=settings.installer != "uv")
    with tempfile.TemporaryDirectory(prefix="lock-") as tmp:
        lock, requirements = Path(tmp, "pylock.toml"), Path(tmp, "requirements.txt")
        requirements.write_text("".join(f"{_absolute(line)}\n" for line in declaration.lines), encoding="utf-8")
        command = [
            uv, "pip", "compile", str(requirements), "--format", "pylock.toml", "-o", str(lock),
            "--python-platform", uv_platform(target), "--python-version", ".".join(map(str, target.python_version)),
            "--no-header", "--quiet", *uv_args, "--python", sys.executable,
        ]
        reporter.status(f"lock: uv pip compile for {target}")
        step = "lock (uv pip compile)"
        returncode, out = deadlines.run([*command, "--only-binary", ":all:"], source.path.parent, uv_env, step)
        if returncode != 0 and _NO_WHEEL.search(out):
            reporter.info("lock: a requirement has no wheel for the target; locking its sdist (built at build time, "
                          "compiler off)")
            returncode, out = deadlines.run(command, source.path.parent, uv_env, step)
        reporter.status_done()
        if returncode != 0:
            raise ResolveError(redact(explain_uv_failure(out, settings, declaration.shown)))
        text = lock.read_text(encoding="utf-8")
    data = _with_environment(text, target, source, sources)
    count = len(read_toml_text(data).get("packages", []))
    write_atomic(output, data.encode())
    return count


def _absolute(line: Line) -> str:
    """A line for uv's input file: a requirement named by a local path, by its absolute ``file:`` URL (the
    file uv reads is not beside the project's)."""
    reference = direct_reference(line)
    if reference is None or not reference.is_local:
        return line.text
    marker = f" ; {reference.marker}" if reference.marker else ""
    name = f"{reference.name}{reference.extras} @ " if reference.name else ""
    return f"{name}{Path(reference.location).as_uri()}{marker}"


def _with_environment(text: str, target: Target, source: Source, settings: SourceSettings) -> str:
    """uv's lock with a header saying how it was made and ``environments`` for the target (before the first
    table: a top-level key)."""
    what = source.path.name + (f" (extras {', '.join(settings.extras)})" if settings.extras else "") + (
        f" (groups {', '.join(settings.groups)})" if settings.groups else "")
    header = (f"# Written by `invoke lock` (lambda-tasks) for {target} from {what}, resolved by uv for the target.\n"
              f"# Lock again after changing {source.path.name}: nothing checks that they still agree.\n")
    line = f'environments = ["{environment_marker(target)}"]\n'
    position = text.find("\n[")
    body = text + "\n" + line if position < 0 else text[: position + 1] + line + text[position + 1:]
    made_for = (f"\n[tool.lambda-tasks]\nextras = {json.dumps(list(settings.extras))}\n"
                f"groups = {json.dumps(list(settings.groups))}\n")
    return header + body.rstrip("\n") + "\n" + made_for


def read_toml_text(text: str) -> dict[str, Any]:

    data: dict[str, Any] = tomllib.loads(text)
    return data

