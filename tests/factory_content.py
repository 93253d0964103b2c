"""Inputs for tests/test_bad_inputs_content.py: tokens shaped like real ones, tampered wheels, local projects that
ship every file of their package, black-hole servers.

The tokens are made up here (random characters in the formats secret scanners know); none is valid anywhere.
"""

from __future__ import annotations

import contextlib
import io
import random
import socket
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

_RNG = random.Random(23)
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


def _random(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(length))


TOKENS = {
    "github": "ghp_" + _random(36),
    "github_pat": "github_pat_" + _random(22) + "_" + _random(59),
    "gitlab": "glpat-" + _random(20),
    "slack": "xoxb-" + _random(12, "23456789") + "-" + _random(13, "23456789") + "-" + _random(24),
    "slack_webhook": "https://hooks.slack.com/services/T" + _random(8).upper() + "/B" + _random(8).upper() + "/"
                     + _random(24),
    "stripe": "sk_live_" + _random(24),
    "stripe_restricted": "rk_live_" + _random(24),
    "google": "AIza" + _random(35),
    "npm": "npm_" + _random(36),
    "pypi": "pypi-AgEIcHlwaS5vcmc" + _random(70),
    "aws": "AKIA" + _random(16, "ABCDEFGHJKLMNPQRSTUVWXYZ234567"),
}
_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dV\n"
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{_BODY}-----END RSA PRIVATE KEY-----\n"


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(files: dict[str, bytes | str], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in files.items():
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()


def rewrite_wheel(wheel: Path, edit: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]) -> Path:
    """The wheel with its members (name, bytes), in order, replaced by ``edit``'s; RECORD as it was."""
    with zipfile.ZipFile(wheel) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name": some tests want one
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in edit(members):
                archive.writestr(name, data)
    return wheel


_BACKEND = '''
"""Packs every file under the package directory (dotfiles too) into a wheel, without setuptools."""
import base64, hashlib, os, time, zipfile

NAME, SLEEP = {name!r}, {sleep!r}

def _h(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if SLEEP:
        with open(SLEEP, "w") as out:
            out.write(str(os.getpid()))
        time.sleep(600)
    here = os.path.dirname(os.path.abspath(__file__))
    info = NAME + "-1.0.dist-info"
    files = {{}}
    for folder, _, names in os.walk(os.path.join(here, NAME)):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, here).replace(os.sep, "/")] = handle.read()
    files[info + "/METADATA"] = ("Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: 1.0\\n").encode()
    files[info + "/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    filename = NAME + "-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        rows = []
        for arcname, data in sorted(files.items()):
            zf.writestr(arcname, data)
            rows.append(arcname + "," + _h(data) + "," + str(len(data)))
        rows.append(info + "/RECORD,,")
        zf.writestr(info + "/RECORD", "\\n".join(rows) + "\\n")
    return filename
'''


def local_package(directory: Path, name: str, files: dict[str, bytes | str], sleep: str = "") -> Path:
    """A project (for a ``./libs/<name>`` line) whose wheel holds every file of ``files`` (paths inside the
    package directory ``name/``); with ``sleep``, the backend writes its pid there and hangs instead."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text('[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                              'backend-path = ["."]\n')
    (directory / "backend.py").write_text(_BACKEND.format(name=name, sleep=sleep))
    package = directory / name
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(f"NAME = {name!r}\n")
    for relative, data in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return directory


@contextlib.contextmanager
def black_hole() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers; its host:port. It closes
    everything when the block ends (or after 10 minutes by itself)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.wait(0):
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    timer = threading.Timer(600, stop.set)
    timer.daemon = True
    timer.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        timer.cancel()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()
