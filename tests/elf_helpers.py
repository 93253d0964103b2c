"""Real ELF files for the audit tests, compiled by the host's C compiler (``cc``).

- :func:`plain_library`: a shared library needing nothing newer than glibc 2.2.5 (runs anywhere).
- :func:`newer_glibc_library`: calls ``pthread_create``; on glibc >= 2.34 it links ``pthread_create@GLIBC_2.34``.
- :func:`linked`: a shared library whose DT_NEEDED names the given libraries (linked against stubs of those
  sonames), with the linker flags given (``-Wl,-rpath,$ORIGIN/...``, ``--enable-new-dtags`` for RUNPATH).
- :func:`with_machine`: the same bytes with another ``e_machine`` in the ELF header (an honest "built for
  another CPU" file: the loader checks exactly that field).
"""

from __future__ import annotations

import functools
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest

CC = shutil.which("cc")
needs_cc = pytest.mark.skipif(CC is None, reason="needs the host's C compiler `cc` to make real ELF files")

EM_X86_64 = 62
EM_AARCH64 = 183
E_MACHINE_OFFSET = 18  # e_ident (16 bytes) + e_type (2 bytes)

PLAIN_SOURCE = "int lambda_tasks_answer(void) { return 42; }\n"
PTHREAD_SOURCE = """
#include <pthread.h>
static void *run(void *arg) { return arg; }
int lambda_tasks_start(void) { pthread_t thread; return pthread_create(&thread, 0, run, 0); }
"""


@functools.cache
def compile_shared(source: str, extra: tuple[str, ...] = ()) -> bytes:
    """The bytes of a shared library compiled from C ``source`` (cached per test session)."""
    if CC is None:
        pytest.skip("needs the host's C compiler `cc` to make real ELF files")
    with tempfile.TemporaryDirectory() as scratch:
        src, out = Path(scratch) / "lib.c", Path(scratch) / "lib.so"
        src.write_text(source)
        subprocess.run([CC, "-shared", "-fPIC", "-O1", "-g", "-o", str(out), str(src), *extra], check=True,
                       capture_output=True)
        return out.read_bytes()


def plain_library() -> bytes:
    """A host-machine shared library with debug info that needs no versioned glibc symbol newer than 2.2.5."""
    return compile_shared(PLAIN_SOURCE)


def newer_glibc_library() -> bytes:
    """A host-machine shared library that needs ``pthread_create@GLIBC_2.34`` (glibc >= 2.34 hosts)."""
    return compile_shared(PTHREAD_SOURCE, ("-pthread",))


@functools.cache
def linked(needed: tuple[str, ...], flags: tuple[str, ...] = (), soname: str = "") -> bytes:
    """A shared library whose DT_NEEDED are ``needed`` (stub libraries with those sonames are linked against)."""
    if CC is None:
        pytest.skip("needs the host's C compiler `cc` to make real ELF files")
    with tempfile.TemporaryDirectory() as scratch:
        stubs = Path(scratch)
        links = []
        for name in needed:
            subprocess.run([CC, "-shared", "-fPIC", "-o", str(stubs / name), "-x", "c", "-", f"-Wl,-soname,{name}"],
                           input=b"int stub_symbol_of_this_library;\n", check=True, capture_output=True)
            links.append(f"-l:{name}")
        out = stubs / "out.so"
        own = [f"-Wl,-soname,{soname}"] if soname else []
        subprocess.run([CC, "-shared", "-fPIC", "-o", str(out), "-x", "c", "-", "-L", str(stubs),
                        "-Wl,--no-as-needed", *links, *own, *flags],
                       input=PLAIN_SOURCE.encode(), check=True, capture_output=True)
        return out.read_bytes()


def with_machine(data: bytes, machine: int) -> bytes:
    """``data`` (a little-endian ELF file) with its header's e_machine set to ``machine``."""
    assert data[:4] == b"\x7fELF" and data[5] == 1, "expects a little-endian ELF file"
    return data[:E_MACHINE_OFFSET] + struct.pack("<H", machine) + data[E_MACHINE_OFFSET + 2:]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
