"""Where and how the runtime process runs: Lambda's paths in a private mount namespace when this machine allows
one, its limits enforced.

- **Namespace** (Linux, ``unshare`` as root or with unprivileged user namespaces; detected by trying it once):
  /var/task and each top-level entry of the layers bound read-only (/opt is a read-only tmpfs holding only
  them), /var/runtime holding the runtime client, /tmp a fresh tmpfs of the function's ephemeral storage. The
  rest of /var, and whatever the interpreter and the runtime links need under /opt or /tmp, is bound back, so
  the host's interpreter still runs. Elsewhere the same layout is used with its paths mapped, said in one line.
- **Timeout**: the invocation is stopped after the function's timeout (Lambda's ``Task timed out``), the Init
  phase after 10 s plus the timeout.
- **Memory**: the process tree's peak resident memory (the kernel's high-water mark, ``VmHWM``, so a spike
  between two looks counts) is read every 20 ms and the runtime killed as Lambda kills it when it passes the
  memory size. Neither RLIMIT_AS (it counts address space Lambda does not: a 128 MB
  function may map far more) nor a cgroup (the machine's owner's) is used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..deadlines import capture
from ..errors import DeadlineError
from .lambda_env import INIT_SECONDS, Places
from .runtime_api import RuntimeAPI


@dataclass(frozen=True)
class Isolation:
    """How this machine isolates the runtime: ``prefix`` runs a command in a private mount namespace ("" when
    it cannot), ``why_not`` says in one line why paths are mapped instead."""

    prefix: tuple[str, ...]
    why_not: str = ""


@functools.cache
def detect() -> Isolation:
    """A private mount namespace if this machine gives one: tried, never assumed."""
    if os.environ.get("LAMBDA_TASKS_VERIFY_NO_NAMESPACE"):
        return Isolation((), "LAMBDA_TASKS_VERIFY_NO_NAMESPACE is set")
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if not unshare or not mount or not Path("/proc/self/ns/mnt").exists():
        return Isolation((), "no unshare(1) and mount namespaces here (Linux only)")
    attempts: list[tuple[str, ...]] = [(unshare, "--mount", "--propagation", "private")] if os.geteuid() == 0 else []
    attempts.append((unshare, "--user", "--map-root-user", "--mount", "--propagation", "private"))
    probe = (f"{mount} -t tmpfs -o size=1m tmpfs /tmp && mkdir /tmp/x && {mount} --rbind /tmp/x /tmp/x && "
             f"{mount} -o remount,bind,ro,nosuid,nodev /tmp/x")  # what mount_script does, on a private /tmp
    for prefix in attempts:
        try:
            done = capture([*prefix, "/bin/sh", "-c", probe], "verify: the mount namespace probe", deadline=20)
        except (OSError, DeadlineError):
            continue
        if done.returncode == 0:
            return Isolation(prefix)
    return Isolation((), "this machine allows no private mount namespace (not root, no unprivileged user namespaces)")


SETUP_FAILED = 121  # the exit status of a namespace whose mounts failed


@dataclass(frozen=True)
class Mounts:
    """The host directories of the layout and what the namespace shows them as."""

    task: Path
    opt: Path
    runtime: Path
    stash: Path  # an empty directory beside them: the host's /var and /opt are reached through it
    keep: tuple[Path, ...]  # host paths the interpreter and the runtime links need, shown where they are
    tmp_mb: int
    hide: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)  # host library dir -> names


def mount_script(mounts: Mounts, command: Sequence[str]) -> tuple[str | None, str]:
    """The shell script that lays out Lambda's paths in the new namespace and execs ``command``; (None, why)
    when the host's own paths cannot be kept (an entry of /opt a layer also has)."""
    mount = shutil.which("mount") or "mount"
    layer_tops = sorted(p.name for p in mounts.opt.iterdir())
    kept: dict[str, list[str]] = {"/opt": [], "/tmp": []}
    for path in mounts.keep:
        for root, tops in kept.items():
            if path.is_relative_to(root) and path != Path(root):
                top = path.relative_to(root).parts[0]
                if root == "/opt" and top in layer_tops:
                    return None, f"/opt/{top} on this host is also a layer's /opt/{top}"
                if top not in tops:
                    tops.append(top)
    q = shlex.quote
    stash = mounts.stash
    lines = ["set -e", "umask 022"]

    def bind(source: str, where: str, read_only: bool = True, directory: bool = True) -> None:
        lines.append(f"{'mkdir -p' if directory else 'touch'} {q(where)}")
        lines.append(f"{mount} --rbind {q(source)} {q(where)}")
        if read_only:  # nosuid,nodev kept: a user namespace may not clear them where the host set them
            lines.append(f"{mount} -o remount,bind,ro,nosuid,nodev {q(where)}")

    # host libraries Lambda lacks: whiteouts over their directories (host_libraries.py)
    for index, (directory, names) in enumerate(mounts.hide.items()):
        mask = stash / "mask" / str(index)
        lines.append(f"mkdir -p {q(str(mask))}")
        lines += [f"mknod {q(str(mask / name))} c 0 0" for name in names]
        lines.append(f"{mount} -t overlay overlay -o ro,lowerdir={mask}:{directory} {q(directory)}")
    # the host's /var and /opt stay reachable through the stash (under /tmp, covered last)
    for name in ("var", "opt"):
        if Path(f"/{name}").is_dir():
            bind(f"/{name}", str(stash / name), read_only=False)
    lines.append(f"{mount} -t tmpfs -o size=1m,mode=755 tmpfs /var")
    for entry in sorted(Path("/var").iterdir()) if Path("/var").is_dir() else []:
        if entry.name not in ("task", "runtime") and (entry.is_dir() or entry.is_file()):
            bind(str(stash / "var" / entry.name), str(entry), read_only=False, directory=entry.is_dir())
    bind(str(mounts.task), "/var/task")
    bind(str(mounts.runtime), "/var/runtime")
    for index, top in enumerate(kept["/tmp"]):  # held in /var while /tmp is covered
        bind(f"/tmp/{top}", f"/var/.lambda-tasks-tmp/{index}", read_only=False)
    lines.append(f"{mount} -t tmpfs -o size=1m,mode=755 tmpfs /opt")
    for name in layer_tops:
        bind(str(mounts.opt / name), f"/opt/{name}", directory=(mounts.opt / name).is_dir())
    for top in kept["/opt"]:
        bind(str(stash / "opt" / top), f"/opt/{top}", directory=(Path("/opt") / top).is_dir())
    lines.append(f"{mount} -o remount,ro /opt")
    lines.append(f"{mount} -t tmpfs -o size={mounts.tmp_mb}m,mode=1777 tmpfs /tmp")
    for index, top in enumerate(kept["/tmp"]):
        bind(f"/var/.lambda-tasks-tmp/{index}", f"/tmp/{top}", read_only=False)
    lines.append(f"{mount} -o remount,ro /var")
    # a step that fails exits with SETUP_FAILED: verify then runs with paths mapped, saying why
    lines = [lines[0], *(f"{line} || exit {SETUP_FAILED}" for line in lines[1:])]
    lines.append("cd /var/task && unset OLDPWD PWD")
    lines.append("exec " + " ".join(q(part) for part in command))
    return "\n".join(lines), ""


@dataclass
class Ended:
    """How the runtime process ended: ``stopped`` is why verify stopped it ("" when it ended by itself or
    was stopped after answering), ``peak`` its peak resident memory in bytes, ``code`` its exit status."""

    stopped: str
    peak: int
    code: int | None
    output: str


def run(command: Sequence[str], env: Mapping[str, str], cwd: Path, api: RuntimeAPI, *, has_event: bool,
        timeout: int, memory_mb: int, echo: Callable[[str], None]) -> Ended:
    """Start the runtime process and watch it until it answered (or failed to), then stop it."""
    process = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line)
            echo(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    limit, peak, stopped, status = memory_mb * 1024 * 1024, 0, "", None
    try:
        while True:
            api.changed.wait(0.02)
            api.changed.clear()
            exchange = api.exchange
            now = time.monotonic()
            answered = exchange.init_error is not None or exchange.response is not None or exchange.error is not None
            if answered or (not has_event and exchange.init_done is not None):
                break
            ended, status = _reap(process, block=False)
            if ended:
                break
            peak = max(peak, tree_rss(process.pid))
            if peak > limit:
                stopped = "memory"
                break
            if exchange.init_done is None and now - exchange.started > INIT_SECONDS + timeout:
                stopped = "init timeout"
                break
            if exchange.delivered is not None and now - exchange.delivered > timeout:
                stopped = "timeout"
                break
    except BaseException:  # Ctrl-C: the runtime is in its own session, so it is stopped here
        _stop(process)
        with contextlib.suppress(ChildProcessError):
            _reap(process, block=True)
        raise
    if status is None:
        peak = max(peak, tree_rss(process.pid))
    _stop(process)  # the runtime and whatever it started
    if status is None:
        _reap(process, block=True)
    reader.join(timeout=5)
    if not stopped and peak > limit:
        stopped = "memory"
    return Ended(stopped, peak, process.returncode, "\n".join(lines))


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()


def _reap(process: subprocess.Popen[bytes], *, block: bool) -> tuple[bool, int | None]:
    """(ended, exit status). Not ru_maxrss for the peak: it counts the forked image of this process before the
    exec (the parent's own memory); /proc's VmHWM counts the runtime's own."""
    code = process.wait() if block else process.poll()
    return code is not None, code


def tree_rss(pid: int) -> int:
    """Peak resident memory (the kernel's high-water mark, VmHWM, since each one's exec) of a process and its
    descendants, in bytes (0 when gone or without /proc)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


def places_for(isolation: Isolation, task: Path, opt: Path, runtime: Path, tmp: Path) -> Places:
    """Lambda's paths in a namespace, else the layout's own."""
    if isolation.prefix:
        return Places()
    return Places(str(task), str(opt), str(runtime), str(tmp))
