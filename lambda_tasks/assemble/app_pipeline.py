"""The app's pipeline: collect -> paths -> guard -> bytecode -> audit -> pack (limits).

Imported only when a build has something to make: a no-op rebuild never loads the checks.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..checks import audit, guard, paths
from ..checks.bytecode import compile_entries, merge
from ..entries import APP_MOUNT, Entry
from ..host import find_interpreter
from ..package_index import DEFAULT_INDEX, PackageIndex
from ..project_paths import ProjectPath
from ..report import Reporter
from ..sections import AppSettings, Shipping
from ..targets import Target
from . import app_code, collect, layers
from . import chalice_runtime as chalice


def make_app(settings: AppSettings, app_files: Sequence[tuple[str, ProjectPath]], framework: chalice.Runtime | None,
             vendor: ProjectPath | None, index: PackageIndex, reporter: Reporter, *, image_mode: bool,
             vendor_dir: str, extra_layers: Sequence[str]) -> tuple[list[Entry], layers.AppPlan | None]:
    """The app's checked entries, and its packed zip (None for an image: the entries go into its top layer).
    ``vendor_dir``'s top names are not the app's imports; ``extra_layers`` may provide shared libraries."""
    app_code.check_imports(app_files, settings.project_dir, [vendor_dir.split("/", 1)[0]], reporter.warn)
    app_entries = app_code.app_entries(app_files)
    if framework is not None:
        reporter.info(chalice.describe(framework))
        app_entries += chalice.runtime_entries(framework, app_entries)
    paths.check_paths(app_entries, settings.app_zip)
    guard.check_files(app_entries, settings.include, warn=reporter.warn)
    app_entries = with_bytecode(app_entries, settings, APP_MOUNT, reporter)
    audit.audit(app_entries, settings.target, settings.audit_allow, mount=APP_MOUNT,
                extra_layers=extra_layers, reporter=reporter,
                shipped=collect.vendor_libraries(vendor, image_mode), index=index)
    return app_entries, None if image_mode else layers.pack_app(app_entries, settings)


def package_index(pip_args: Sequence[str]) -> PackageIndex:
    """The index pip would ask, as its configuration and ``pip_args`` say (not asked with --no-index); asked
    only for advice, when a shared library is missing: found then, not before."""
    return PackageIndex(find=lambda: _index_of(tuple(pip_args)))


def _index_of(pip_args: Sequence[str]) -> tuple[str | None, str]:
    # lazy: pip's configuration, read only for advice in an error
    from ..resolve.pip_config import PipConfigError, command_line_settings, pip_settings

    try:
        pip = {**pip_settings(), **command_line_settings(pip_args)[0]}
    except PipConfigError:
        return None, "pip's configuration could not be read"
    if pip.get("no-index", "").lower() not in ("", "0", "false", "no", "off"):
        return None, "pip is told --no-index"
    return (pip.get("index-url") or DEFAULT_INDEX).split()[0], ""


def with_bytecode(entries: Sequence[Entry], settings: Shipping, mount: str, reporter: Reporter) -> list[Entry]:
    """Add unchecked-hash pycs when ``bytecode`` is on (compiled with the runtime's exact Python)."""
    if not settings.bytecode:
        return list(entries)

    target: Target = settings.target
    interpreter = find_interpreter(target, settings.bytecode_python)
    pycs = compile_entries(entries, target, interpreter, mount, reporter)
    what = "the app" if mount == APP_MOUNT else "the layers"
    version = ".".join(map(str, target.python_version))
    reporter.info(f"bytecode: {len(pycs)} unchecked-hash .pyc files for {what} ({version}, {interpreter})")
    return merge(entries, pycs)
