"""Small wheels, sdists and projects made by the tests themselves, so that pip runs offline."""

from __future__ import annotations

import base64
import hashlib
import io
import textwrap
import zipfile
from pathlib import Path


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(
    directory: Path,
    name: str,
    version: str = "1.0",
    tag: str = "py3-none-any",
    files: dict[str, bytes | str] | None = None,
    requires: list[str] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
    requires_python: str = "",
) -> Path:
    """A valid wheel: ``files`` maps paths inside the wheel to content; default one module."""
    dist = name.replace("-", "_")
    files = dict(files if files is not None else {f"{dist}/__init__.py": f"NAME = {name!r}\nVERSION = {version!r}\n"})
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python:
        metadata += f"Requires-Python: {requires_python}\n"
    for requirement in requires or []:
        metadata += f"Requires-Dist: {requirement}\n"
    files[f"{info}/METADATA"] = metadata
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n"
    records = []
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", compression) as archive:
        for arcname, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            archive.writestr(arcname, data)
            records.append(f"{arcname},{_record_hash(data)},{len(data)}")
        records.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    return path


_BACKEND = '''
"""An in-tree PEP 517 backend: builds without setuptools, so the tests need no index."""
import base64, hashlib, os, tarfile, zipfile

NAME, VERSION, TAG, FAIL, EXTRA = {name!r}, {version!r}, {tag!r}, {fail!r}, {extra!r}

def _h(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if FAIL:
        raise SystemExit("error: " + FAIL)
    dist = NAME.replace("-", "_")
    info = f"{{dist}}-{{VERSION}}.dist-info"
    files = {{f"{{dist}}/__init__.py": f"NAME = {{NAME!r}}\\n".encode(),
             f"{{info}}/METADATA": f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n".encode(),
             f"{{info}}/WHEEL": f"Wheel-Version: 1.0\\nGenerator: tests\\nRoot-Is-Purelib: true\\nTag: {{TAG}}\\n".encode()}}
    files.update({{name: text.encode("latin-1") for name, text in EXTRA.items()}})
    filename = f"{{dist}}-{{VERSION}}-{{TAG}}.whl"
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


def make_sdist(directory: Path, name: str, version: str = "1.0", tag: str = "py3-none-any", fail: str = "",
               extra_files: dict[str, str] | None = None) -> Path:
    """A source distribution whose in-tree backend builds a wheel tagged ``tag`` (or fails with ``fail``), with
    ``extra_files`` (path -> text, as latin-1 bytes) beside its module: ``{"x/_c.so": COMPILED}`` for a wheel
    that holds compiled code."""
    import tarfile

    dist = name.replace("-", "_")
    base = f"{dist}-{version}"
    members = {
        f"{base}/pyproject.toml": textwrap.dedent(
            """\
            [build-system]
            requires = []
            build-backend = "backend"
            backend-path = ["."]
            """
        ),
        f"{base}/backend.py": _BACKEND.format(name=name, version=version, tag=tag, fail=fail,
                                              extra=dict(extra_files or {})),
        f"{base}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for arcname, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


#: The start of an ELF file: what a compiled extension module holds.
COMPILED = "\x7fELF\x02\x01\x01\x00"


def make_project(root: Path, requirements: str = "", app: str | None = None, pyproject: str = "") -> Path:
    """A Chalice-style project in ``root``: app.py, chalicelib/, requirements.txt."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(app or "from chalicelib import helper\n\ndef handler(event, context):\n"
                                         "    return {'ok': helper.VALUE, 'event': event}\n")
    (root / "chalicelib").mkdir(exist_ok=True)
    (root / "chalicelib" / "__init__.py").write_text("")
    (root / "chalicelib" / "helper.py").write_text("VALUE = 42\n")
    (root / "requirements.txt").write_text(requirements)
    if pyproject:
        (root / "pyproject.toml").write_text(pyproject)
    return root


def declared(settings):
    """The project's dependency source read once, as a build reads it (sources/declaration.py)."""
    from lambda_tasks.sources.declaration import declare

    return declare(settings.sources, settings.pip_args)


def resolve_project(settings, reporter, **options):
    """``resolve()`` of the project's declaration, as a build calls it."""
    from lambda_tasks.resolve import resolve

    return resolve(settings.resolve, declared(settings), reporter, **options)


def layers_key(settings, **options) -> str:
    """The layers' fingerprint of the project, as a build computes it."""
    from lambda_tasks.assemble.fingerprint import layers_fingerprint

    return layers_fingerprint(settings.sources, settings.resolve, settings.layers, settings.image, declared(settings),
                              **options)
