"""``python .../lambda_tasks/resolve/fastpip.py``: pip, with shortcuts and one fix for resolving for another platform.

Run as a file, not with ``-m``: that would import lambda-tasks' packages first, for nothing.

1. A wheel's tags are checked against a *set* of the accepted tags. pip keeps a list and, for every file on
   an index page, builds a set from it (numpy and pandas list ~28,000 files; a Lambda target accepts ~600
   tags): 0.6 s of a 2.7 s cold resolve.
2. With ``LAMBDA_TASKS_WHEEL_TAGS`` (the accepted tags, space-separated), a wheel on a JSON index page that
   has none of them is dropped before pip parses its link: another 0.7 s.
3. With ``LAMBDA_TASKS_MARKER_ENV`` (the target's PEP 508 environment as JSON), every environment marker pip
   evaluates -- requirements file lines, dependencies' Requires-Dist, extras -- sees the target, not this host.
   pip's ``--python-version`` only chooses wheels: on a 3.11 host, ``backport; python_version < "3.11"`` is
   left out of a python3.10 build, and an arm64 build takes ``platform_machine == "x86_64"`` lines.
4. When pip's formats are binary-only for every project (``--only-binary=:all:``, which resolving for another
   platform requires), a file on a JSON index page that is not a wheel (an sdist) is dropped with 2: pip
   rejects every such link anyway ("No sources permitted"), after parsing it. Another 0.2-0.3 s.
5. Some pip releases (23.2 here) read every chosen distribution's metadata again after resolving, only to
   print deprecation warnings about non-standard versions (0.3 s): skipped while the warning is one (its
   ``gone_in`` release is still ahead).
6. With ``LAMBDA_TASKS_FETCHED_DIR``, each wheel pip has fetched (after pip checked it against the index's
   hash, when there is one) is hard-linked into that directory at once, so that lambda-tasks can check it
   while pip goes on resolving (``assemble/early.py``). pip itself does nothing differently.

1, 2, 4, 5 and 6 only skip or share work: pip picks exactly the wheels it would pick unpatched, and each
checks that pip's code still looks as expected or leaves pip alone. 3 changes pip's answer, so it cannot
quietly fall back: when it cannot be applied, fastpip exits with ``MARKER_EXIT_CODE``
and a line that starts with ``MARKER_ERROR``, before pip runs.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..targets import Target

TAGS_VARIABLE = "LAMBDA_TASKS_WHEEL_TAGS"
FETCHED_VARIABLE = "LAMBDA_TASKS_FETCHED_DIR"
MARKERS_VARIABLE = "LAMBDA_TASKS_MARKER_ENV"
#: The pip releases whose internals the patches were checked against (each release in 23.1 .. 26.3).
TESTED_PIP = ">=23.1,<27"
#: fastpip's exit code when the marker environment was asked for but cannot be applied (pip uses 0-4 and 23).
MARKER_EXIT_CODE = 86
MARKER_ERROR = "lambda-tasks: cannot evaluate markers for the target"

#: The names of a PEP 508 environment, every one of which the target's must give.
_MARKER_NAMES = frozenset({
    "implementation_name", "implementation_version", "os_name", "platform_machine", "platform_python_implementation",
    "platform_release", "platform_system", "platform_version", "python_full_version", "python_version", "sys_platform",
})


class MarkerPatchError(Exception):
    """The marker environment could not be put in place; the message says why."""


def marker_env_variable(target: Target) -> dict[str, str]:
    """The variable to add to pip's environment so that it evaluates markers for ``target``."""
    return {MARKERS_VARIABLE: json.dumps(target.marker_environment(), sort_keys=True)}


def wheel_fits(filename: str, accepted: frozenset[str]) -> bool:
    """True unless ``filename`` is a wheel none of whose tags is in ``accepted`` ("py3-none-any" form)."""
    parts = filename[:-4].lower().split("-")
    if not filename.endswith(".whl") or len(parts) not in (5, 6):
        return True  # not a well-formed wheel name: pip decides
    return any(
        f"{py}-{abi}-{platform}" in accepted
        for py in parts[-3].split(".") for abi in parts[-2].split(".") for platform in parts[-1].split(".")
    )


def _patch_tag_check() -> None:
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.models import wheel

    Wheel: Any = wheel.Wheel  # pip's class, patched
    plain = Wheel.supported
    if not {"file_tags", "isdisjoint"} <= set(plain.__code__.co_names):
        return  # pip changed: keep its own check
    as_sets: dict[int, tuple[list[Any], frozenset[Any], int]] = {}

    def supported(self: Any, tags: Any) -> bool:
        if not isinstance(tags, list):
            return bool(plain(self, tags))
        found = as_sets.get(id(tags))
        if found is None or found[0] is not tags or found[2] != len(tags):
            found = as_sets[id(tags)] = (tags, frozenset(tags), len(tags))
        return not found[1].isdisjoint(self.file_tags)

    Wheel.supported = supported


def _json_pages_patchable() -> bool:
    """True when ``Link.from_json(cls, file_data, page_url)`` is a classmethod whose None the page parser skips."""
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.index import collector
    from pip._internal.models.link import Link

    bound = Link.__dict__.get("from_json")
    if not isinstance(bound, classmethod):
        return False
    code = bound.__func__.__code__
    if code.co_argcount != 3 or code.co_varnames[:3] != ("cls", "file_data", "page_url") or "get" not in code.co_names:
        return False
    try:
        source = inspect.getsource(inspect.unwrap(collector.parse_links))
    except (AttributeError, OSError, TypeError):
        return False
    return "Link.from_json(" in source and "if link is None:" in source


def _patch_json_pages(accepted: frozenset[str], binary_only: dict[str, bool] | None = None) -> None:
    """Drop the links pip would reject: wheels without an accepted tag, and (while ``binary_only["all"]``)
    files that are not wheels."""
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.models import link

    Link: Any = link.Link  # pip's class, patched

    if not _json_pages_patchable():
        return  # pip changed: parse every link
    plain = Link.__dict__["from_json"].__func__
    formats = binary_only if binary_only is not None else {}

    def from_json(cls: Any, file_data: Any, page_url: str) -> Any:
        name = file_data.get("filename") if isinstance(file_data, dict) else None
        if isinstance(name, str):
            if not wheel_fits(name, accepted):
                return None  # pip skips a None link, as it does for one without a URL
            if formats.get("all") and not _maybe_wheel(name, file_data.get("url")):
                return None
        return plain(cls, file_data, page_url)

    Link.from_json = classmethod(from_json)


def _maybe_wheel(filename: str, url: Any) -> bool:
    """True when the file name or the URL's last segment ends with .whl (pip judges by the URL)."""
    path = url.split("#", 1)[0].split("?", 1)[0] if isinstance(url, str) else ""
    return filename.lower().endswith(".whl") or path.lower().endswith(".whl")


def _watch_formats(binary_only: dict[str, bool]) -> None:
    """Set ``binary_only["all"]`` when the command's formats are binary-only for every project, as pip reads
    them from its options (command line, pip.conf, PIP_* variables) when it builds its package finder."""
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.cli.req_command import RequirementCommand
    from pip._internal.models.format_control import FormatControl

    plain = RequirementCommand.__dict__.get("_build_package_finder")
    if not callable(plain) or "options" not in plain.__code__.co_varnames[: plain.__code__.co_argcount]:
        return  # pip changed: sdists stay for pip to reject

    def build(self: Any, *args: Any, **kwargs: Any) -> Any:
        options = kwargs.get("options", args[0] if args else None)
        control = getattr(options, "format_control", None)
        binary_only["all"] = isinstance(control, FormatControl) and control == FormatControl(set(), {":all:"})
        return plain(self, *args, **kwargs)

    RequirementCommand._build_package_finder = build  # type: ignore[method-assign]


def _share_fetched(directory: str) -> None:
    """Hard-link each wheel pip fetched into ``directory`` as soon as ``unpack_url`` returns it."""
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.operations import prepare

    plain = getattr(prepare, "unpack_url", None)
    if not callable(plain):
        return

    def unpack_url(*args: Any, **kwargs: Any) -> Any:
        fetched = plain(*args, **kwargs)
        path = getattr(fetched, "path", None)
        if isinstance(path, str) and path.endswith(".whl"):
            with contextlib.suppress(OSError):  # another file system, a name already there: checked later
                os.link(path, os.path.join(directory, os.path.basename(path)))
        return fetched

    prepare.unpack_url = unpack_url


def _skip_legacy_warnings() -> None:
    """No second read of every chosen distribution's metadata just for deprecation warnings (pip 23.x)."""
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.req import req_set
    from pip._vendor.packaging.version import parse

    RequirementSet: Any = req_set.RequirementSet  # patched; the method is gone from later pip releases
    plain = RequirementSet.__dict__.get("warn_legacy_versions_and_specifiers")
    if plain is None or "deprecated" not in plain.__code__.co_names:
        return
    releases = [text for text in plain.__code__.co_consts if isinstance(text, str) and text[:1].isdigit()]
    if not releases or not all(parse(text) > parse(_pip_version()) for text in releases):
        return  # the "warning" may be an error in this release (pip raises once gone_in is reached)
    RequirementSet.warn_legacy_versions_and_specifiers = lambda self: None


def _target_environment(text: str) -> dict[str, str]:
    try:
        environment = json.loads(text)
    except ValueError as error:
        raise MarkerPatchError(f"{MARKERS_VARIABLE} is not JSON ({error})") from None
    if not isinstance(environment, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in environment.items()
    ):
        raise MarkerPatchError(f"{MARKERS_VARIABLE} is not an object of strings")
    missing = _MARKER_NAMES - set(environment)
    if missing:
        raise MarkerPatchError(f"{MARKERS_VARIABLE} lacks {', '.join(sorted(missing))}")
    return environment


def _patch_markers(target: dict[str, str]) -> None:
    """Make pip's vendored ``packaging.markers`` evaluate every marker in ``target``'s environment.

    Every marker pip evaluates goes through ``Marker.evaluate``, which starts from the module's
    ``default_environment()`` and adds only ``extra``: replacing that function covers requirement lines, both
    metadata backends' Requires-Dist and extras. The result is then checked on pip's own ``Marker``.
    """
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.req import req_install
    from pip._vendor.packaging import markers as vendored

    markers: Any = vendored  # patched; its names differ between pip releases

    plain = getattr(markers, "default_environment", None)
    marker_class: Any = getattr(markers, "Marker", None)
    evaluate = getattr(marker_class, "evaluate", None)
    if not callable(plain) or evaluate is None or "default_environment" not in evaluate.__code__.co_names:
        raise MarkerPatchError("its packaging.markers no longer evaluates through default_environment()")
    if getattr(req_install, "Marker", marker_class) is not marker_class:
        raise MarkerPatchError("its requirements use another Marker class")
    unknown = set(plain()) - set(target)
    if unknown:
        raise MarkerPatchError(f"its markers know names the target does not give: {', '.join(sorted(unknown))}")

    def default_environment() -> dict[str, str]:
        return dict(target)  # a fresh dict: evaluate() updates it with ``extra``

    markers.default_environment = default_environment
    for name, module in list(sys.modules.items()):  # modules that imported the function itself (pip inspect)
        if name.startswith("pip.") and getattr(module, "default_environment", None) is plain:
            vars(module)["default_environment"] = default_environment
    probe = " and ".join(f"{name} == {json.dumps(target[name])}" for name in sorted(_MARKER_NAMES))
    try:
        applied = marker_class(probe).evaluate({"extra": ""}) and not marker_class(
            f"python_version != {json.dumps(target['python_version'])}").evaluate()
    except Exception as error:  # noqa: BLE001 - any failure of the probe means the patch cannot be trusted
        raise MarkerPatchError(f"its markers rejected the target's environment ({error})") from None
    if not applied:
        raise MarkerPatchError("its markers still see this host after the patch")


def _pip_version() -> str:
    try:
        # lazy: pip's internals (~390 ms) load only where pip runs
        import pip

        return str(pip.__version__)
    except Exception:  # noqa: BLE001 - only for the message
        return "unknown"


def main() -> None:
    if sys.path and sys.path[0] in ("", os.getcwd(), os.path.dirname(os.path.abspath(__file__))):
        sys.path.pop(0)  # neither the user's project nor this directory (pip.py) may shadow pip's modules
    binary_only: dict[str, bool] = {}
    fetched = os.environ.get(FETCHED_VARIABLE)
    for patch in (_patch_tag_check, lambda: _watch_formats(binary_only), _skip_legacy_warnings,
                  lambda: _share_fetched(fetched) if fetched else None):
        with contextlib.suppress(Exception):  # any surprise in pip's internals: leave that part of pip alone
            patch()
    try:
        accepted = frozenset(os.environ.get(TAGS_VARIABLE, "").split())
        if accepted:
            _patch_json_pages(accepted, binary_only)
    except Exception:  # noqa: BLE001 - any surprise in pip's internals: run plain pip
        pass
    requested = os.environ.get(MARKERS_VARIABLE)
    if requested:
        try:
            _patch_markers(_target_environment(requested))
        except Exception as error:  # noqa: BLE001 - any failure: stop, a plain pip would resolve for this host
            reason = str(error) if isinstance(error, MarkerPatchError) else f"{type(error).__name__}: {error}"
            sys.stderr.write(
                f"{MARKER_ERROR} with this pip (version {_pip_version()}): {reason}; "
                f"install pip{TESTED_PIP} where lambda-tasks runs\n"
            )
            sys.exit(MARKER_EXIT_CODE)
    # lazy: pip's internals (~390 ms) load only where pip runs
    from pip._internal.cli.main import main as pip_main

    sys.exit(pip_main())


if __name__ == "__main__":
    main()
