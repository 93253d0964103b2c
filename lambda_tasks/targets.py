"""The Lambda target: runtime and architecture -> Python version, ABI, glibc and wheel tags."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from .errors import SettingsError

if TYPE_CHECKING:
    from packaging.tags import Tag

#: runtime -> (python version, glibc of its OS). Amazon Linux 2 has glibc 2.26, AL2023 has 2.34.
RUNTIMES: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "python3.10": ((3, 10), (2, 26)),
    "python3.11": ((3, 11), (2, 26)),
    "python3.12": ((3, 12), (2, 34)),
    "python3.13": ((3, 13), (2, 34)),
    "python3.14": ((3, 14), (2, 34)),
}

#: Distributions that ``exclude_runtime_provided`` leaves out: every Lambda Python runtime has them on its path
#: (their versions vary by region).
RUNTIME_PROVIDED: frozenset[str] = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
#: Top-level modules the runtime can import besides the standard library: boto3 and what it needs.
RUNTIME_MODULES: tuple[str, ...] = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

#: Lambda's architecture name -> the machine name in wheel platform tags.
ARCHITECTURES: dict[str, str] = {"x86_64": "x86_64", "arm64": "aarch64"}

# The legacy manylinux aliases and the glibc they stand for (PEP 600); 1 and 2010 exist only for x86.
_LEGACY_ALIASES = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


def default_runtime() -> str | None:
    """The runtime matching the local interpreter, when Lambda has one."""
    name = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return name if name in RUNTIMES else None


def check_runtime(runtime: str) -> str:
    if runtime not in RUNTIMES:
        raise SettingsError(
            f"runtime {runtime!r} is not a supported Lambda Python runtime; "
            f"use one of: {', '.join(RUNTIMES)}"
        )
    return runtime


def check_arch(arch: str) -> str:
    if arch not in ARCHITECTURES:
        raise SettingsError(f"arch {arch!r} is not a Lambda architecture; use x86_64 or arm64")
    return arch


@dataclass(frozen=True)
class Target:
    """What the artifacts must run on."""

    runtime: str
    arch: str

    def __post_init__(self) -> None:
        check_runtime(self.runtime)
        check_arch(self.arch)

    @property
    def python_version(self) -> tuple[int, int]:
        return RUNTIMES[self.runtime][0]

    @property
    def glibc(self) -> tuple[int, int]:
        return RUNTIMES[self.runtime][1]

    @property
    def machine(self) -> str:
        """The machine name in wheel tags and ``uname -m``: x86_64 or aarch64."""
        return ARCHITECTURES[self.arch]

    @property
    def version_nodot(self) -> str:
        return "".join(map(str, self.python_version))

    @property
    def abi(self) -> str:
        return f"cp{self.version_nodot}"

    @property
    def cache_tag(self) -> str:
        """``sys.implementation.cache_tag`` of the runtime's interpreter, e.g. ``cpython-312``."""
        return f"cpython-{self.version_nodot}"

    @property
    def extension_suffix(self) -> str:
        """The tag in compiled module names, e.g. ``cpython-312-x86_64-linux-gnu``."""
        return f"cpython-{self.version_nodot}-{self.machine}-linux-gnu"

    @cached_property
    def platforms(self) -> tuple[str, ...]:
        """Every platform tag the runtime accepts, best (newest glibc) first."""
        major, newest = self.glibc
        tags: list[str] = []
        for minor in range(newest, 4, -1):
            tags.append(f"manylinux_{major}_{minor}_{self.machine}")
            alias = _LEGACY_ALIASES.get((major, minor))
            if alias and (alias == "manylinux2014" or self.machine == "x86_64"):
                tags.append(f"{alias}_{self.machine}")
        return tuple(tags)

    @cached_property
    def tags(self) -> frozenset[Tag]:
        """The set of ``packaging.tags.Tag`` a wheel must have one of to load on this target."""
        return frozenset(self.tag_ranks)

    @cached_property
    def tag_ranks(self) -> dict[Tag, int]:
        """Each accepted tag -> its rank, 0 the best (as pip orders them: newest glibc, then abi3, then pure)."""
        # lazy: packaging (~25 ms) is not loaded by a no-op build
        from packaging import tags

        ordered = list(tags.cpython_tags(self.python_version, [self.abi], self.platforms))
        ordered += list(tags.compatible_tags(self.python_version, self.abi, self.platforms))
        ranks: dict[Tag, int] = {}
        for number, tag in enumerate(ordered):
            ranks.setdefault(tag, number)
        return ranks

    def accepts_wheel(self, filename: str) -> bool:
        """True when the wheel file name carries a tag this target can load."""
        # lazy: packaging (~25 ms) is not loaded by a no-op build
        from packaging.utils import parse_wheel_filename

        _, _, _, wheel_tags = parse_wheel_filename(filename)
        return not self.tags.isdisjoint(wheel_tags)

    def pip_target_args(self) -> list[str]:
        """pip options that make it resolve for this target instead of the host."""
        args = [
            "--implementation", "cp",
            "--python-version", ".".join(map(str, self.python_version)),
            "--abi", self.abi, "--abi", "abi3", "--abi", "none",
            "--only-binary=:all:",
        ]
        for platform in self.platforms:
            args += ["--platform", platform]
        return args

    def __str__(self) -> str:
        return f"{self.runtime}/{self.arch}"

    def marker_environment(self) -> dict[str, str]:
        """The PEP 508 marker environment of the runtime's interpreter (what ``python_version < "3.11"`` sees).

        The full version is X.Y.0: Lambda moves the patch level without notice, so no later one is certain.
        Patch-level markers nearly always guard a backport or workaround (``python_full_version < "3.9.2"``);
        .0 takes it, which is harmless on a later patch, where leaving a needed one out would not be.
        ``platform_release`` and ``platform_version`` (the kernel's) are unknown, so empty.
        """
        full = ".".join(map(str, self.python_version)) + ".0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": full,
            "python_version": ".".join(map(str, self.python_version)),
            "sys_platform": "linux",
        }
