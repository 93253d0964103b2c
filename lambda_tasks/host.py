"""What this machine has: its CPU, interpreters of each Python version, emulators, strip tools, uv."""

from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .deadlines import capture
from .errors import BytecodeError, DeadlineError, ResolveError
from .targets import Target

#: ``platform.machine()`` spellings -> the machine names of wheel tags and ``uname -m`` on Linux.
_MACHINE_NAMES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}

#: Where the kernel lists the interpreters it runs foreign executables with (qemu-user's binfmt_misc entries).
BINFMT_MISC = Path("/proc/sys/fs/binfmt_misc")


def machine() -> str:
    """This host's CPU as wheel tags name it: x86_64 or aarch64 (or whatever else it is)."""
    return _machine_name(platform.machine())


def _machine_name(name: str) -> str:
    name = name.strip().lower()
    return _MACHINE_NAMES.get(name, name)


# Line 1 is all a candidate must print (the tests' fake interpreters print only that); lines 2 and 3 tell
# an emulated interpreter and a free-threaded build (which cannot load the runtime's extension modules).
_PROBE = ("import platform, sys; print(sys.implementation.cache_tag or ''); print(platform.machine()); "
          "print(getattr(sys, 'abiflags', ''))")


@dataclass(frozen=True)
class Interpreter:
    """A Python that runs on this host: how to start it, its cache tag and the CPU it is built for."""

    command: tuple[str, ...]  # the interpreter, after an emulator when it is built for another CPU
    cache_tag: str
    machine: str
    freethreaded: bool = False

    @property
    def path(self) -> str:
        return self.command[-1]


@functools.cache
def describe(command: tuple[str, ...]) -> Interpreter | None:
    """Run the interpreter once (per process) and describe it; None when it does not run."""
    try:
        done = capture([*command, "-I", "-c", _PROBE], f"describing {' '.join(command)}", deadline=60)
    except (OSError, DeadlineError):
        return None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines or not lines[0].strip():
        return None
    cpu = _machine_name(lines[1]) if len(lines) > 1 and lines[1].strip() else machine()
    return Interpreter(command, lines[0].strip(), cpu, len(lines) > 2 and "t" in lines[2])


def probe(path: str) -> str | None:
    """The interpreter's ``sys.implementation.cache_tag`` (``cpython-311``), or None when it does not run."""
    found = describe((path,))
    return found.cache_tag if found else None


def candidates(version: tuple[int, int]) -> list[str]:
    """Where a Python ``version`` may be, best first, not yet run: ``pythonX.Y`` on PATH, pyenv's versions,
    uv's managed Pythons, then this interpreter."""
    name = f"python{version[0]}.{version[1]}"
    found = _on_path(name) + _pyenv(version, name) + _uv_managed(version, name)
    if sys.version_info[:2] == version:
        found.append(sys.executable)
    return list(dict.fromkeys(found))


def interpreters(target: Target) -> list[Interpreter]:
    """Interpreters of the target's exact version that run here, best first (shims that fail are left out)."""
    found: list[Interpreter] = []
    seen: set[str] = set()
    for path in candidates(target.python_version):
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        described = describe((path,))
        if described and described.cache_tag == target.cache_tag and not described.freethreaded:
            found.append(described)
    return found


def find_interpreter(target: Target, configured: str | None) -> str:
    """An interpreter of the target's exact version: the ``bytecode_python`` setting when given, else the
    first of :func:`interpreters`. Raises :class:`BytecodeError` saying how to fix it."""
    wanted = target.cache_tag
    version = ".".join(map(str, target.python_version))
    if configured:
        path = shutil.which(configured) or configured
        tag = probe(path)
        if tag is None:
            raise BytecodeError(
                f"bytecode_python = {configured!r} does not run; give the path of a Python {version} interpreter"
            )
        if tag != wanted:
            raise BytecodeError(
                f"bytecode_python = {configured!r} is {tag}, but {target.runtime} needs {wanted}: "
                f"give a Python {version} interpreter (bytecode only loads on the exact version that wrote it)"
            )
        return path
    found = interpreters(target)
    if found:
        return found[0].path
    on_path = f"python{version} on PATH does not run" if _on_path(f"python{version}") else f"no python{version} on PATH"
    raise BytecodeError(
        f"bytecode = true needs a CPython {version} interpreter to compile for {target.runtime}, and none was "
        f"found ({on_path}, none in pyenv's versions or uv's Pythons); install Python {version}, set "
        f"bytecode_python to its path, or turn bytecode off"
    )


def _on_path(name: str) -> list[str]:
    """Every ``name`` on PATH, in order: a pyenv shim that does not run may hide a real one further on."""
    found: list[str] = []
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = shutil.which(name, path=directory) if directory else None
        if path:
            found.append(path)
    return found


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name))


def _pyenv(version: tuple[int, int], name: str) -> list[str]:
    """``$PYENV_ROOT/versions/*/bin/pythonX.Y``, newest patch release first."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    try:
        versions = sorted((d for d in root.iterdir() if d.is_dir()), key=_version_key, reverse=True)
    except OSError:
        return []
    return [str(d / "bin" / name) for d in versions if (d / "bin" / name).is_file()]


def _uv_managed(version: tuple[int, int], name: str) -> list[str]:
    """What ``uv python find X.Y`` answers (when uv is here), then uv's install directory."""
    dotted = f"{version[0]}.{version[1]}"
    found: list[str] = []
    uv = uv_path()
    if uv:
        answer = _uv_find(uv, dotted)
        if answer:
            found.append(answer)
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    root = Path(os.environ.get("UV_PYTHON_INSTALL_DIR") or Path(data) / "uv" / "python")
    try:
        # cpython-3.12.4-linux-x86_64-gnu; "cpython-3.1*" would also match 3.12, hence the dot or dash
        dirs = [d for d in root.iterdir() if re.fullmatch(rf"cpython-{re.escape(dotted)}[.-].*", d.name)
                and "freethreaded" not in d.name]
    except OSError:
        return found
    newest_first = sorted(dirs, key=_version_key, reverse=True)
    return found + [str(d / "bin" / name) for d in newest_first if (d / "bin" / name).is_file()]


def uv_path() -> str | None:
    """uv on PATH or next to this interpreter, or None."""
    return shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))


@functools.cache
def _uv_find(uv: str, version: str) -> str | None:
    try:
        done = capture([uv, "python", "find", version], "uv python find", deadline=60,
                       env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
    except (OSError, DeadlineError):
        return None
    answer = done.stdout.strip()
    return answer if done.returncode == 0 and answer else None


def emulator(cpu: str) -> tuple[str, ...] | None:
    """How this host runs a program built for ``cpu``: ``()`` natively or through binfmt_misc,
    ``(qemu-<cpu>,)`` with qemu-user on PATH, None when it cannot."""
    if cpu == machine() or _binfmt_enabled(cpu):
        return ()
    for name in (f"qemu-{cpu}", f"qemu-{cpu}-static"):
        path = shutil.which(name)
        if path:
            return (path,)
    return None


def _binfmt_enabled(cpu: str) -> bool:
    try:
        status = (BINFMT_MISC / "status").read_text().strip()
        entry = (BINFMT_MISC / f"qemu-{cpu}").read_text().splitlines()
    except OSError:
        return False
    return status == "enabled" and bool(entry) and entry[0].strip() == "enabled"


def emulated_variable(cpu: str) -> str:
    """The environment variable naming a Python built for ``cpu``: ``LAMBDA_TASKS_AARCH64_PYTHON``."""
    return f"LAMBDA_TASKS_{cpu.upper()}_PYTHON"


def find_emulated(target: Target) -> tuple[Interpreter | None, str]:
    """An interpreter of the target's version and CPU that this host runs under emulation, else (None, why).

    Only the interpreter named by :func:`emulated_variable` is tried: a foreign CPU's Python is never guessed.
    """
    variable = emulated_variable(target.machine)
    version = ".".join(map(str, target.python_version))
    configured = os.environ.get(variable)
    run = emulator(target.machine)
    if not configured:
        if run is None:
            return None, f"no qemu-{target.machine} here"
        return None, f"set {variable} to an {target.machine} Python {version} to load them under emulation"
    if run is None:
        return None, f"{variable} is set, but this host has neither qemu-{target.machine} nor binfmt_misc for it"
    found = describe((*run, shutil.which(configured) or configured))
    if found is None or found.cache_tag != target.cache_tag or found.machine != target.machine:
        what = "does not run" if found is None else f"is {found.cache_tag} on {found.machine}"
        return None, f"{variable} = {configured!r} {what}, not {target.cache_tag} on {target.machine}"
    return found, ""


def find_strip(target: Target) -> str | None:
    """A strip tool that handles the target's machine: the host's ``strip`` when the host is the same
    machine, else ``<machine>-linux-gnu-strip``; ``llvm-strip`` handles both."""
    names = [f"{target.machine}-linux-gnu-strip"]
    if machine() == target.machine:
        names.insert(0, "strip")
    names.append("llvm-strip")
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_uv() -> str:
    """The uv executable (on PATH or next to this interpreter), or a ResolveError saying what to do."""
    found = uv_path()
    if not found:
        raise ResolveError('installer = "uv" but uv is not installed: install uv (pip install uv) or set '
                           'installer = "pip"')
    return found
