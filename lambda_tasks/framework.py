"""What the project's framework says, under the settings the user gave: Chalice's .chalice/config.json values for
the stage and the functions app.py defines (``project_settings``), the notes on what lambda-tasks reads differently
(``chalice_notes``), and what deploy wires around the functions (``app_wiring``). Used by commands.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .app_model import ApiSettings, FunctionUrl
from .config import FunctionSpec, Settings, load_settings
from .manifest import load
from .report import Reporter
from .sections import DeploySettings, FunctionSettings, Shipping
from .sources.chalice_app import read_app
from .sources.chalice_config import function_notes, function_specs, read_config, stage_values
from .sources.chalice_domain import custom_domain

if TYPE_CHECKING:
    from .deploy.app_wiring import AppWiring


def project_settings(cwd: Path, configured: Mapping[str, Any], flags: Mapping[str, Any], *,
                     sticky: bool = False) -> Settings:
    """Settings from flags, Invoke's config and pyproject.toml, over what the project's framework says
    (.chalice/config.json for the stage, the functions app.py defines), over the last build's target when
    ``sticky`` (``verify``, ``publish-layer`` and ``deploy`` act on what ``build --runtime/--arch`` made)."""
    settings = load_settings(cwd, configured, flags)
    fallbacks: list[tuple[Mapping[str, Any], str]] = []
    framework = _chalice_values(settings.deploy)
    if framework is not None:
        fallbacks.append(framework)
    built = load(settings.manifest_path, settings.output_dir) if sticky else None
    if built is not None and (built.runtime, built.architecture) != (settings.runtime, settings.arch):
        last = ({"runtime": built.runtime, "arch": built.architecture}, "the last build's manifest")
        # the last build's target as a pair, or not at all: where the settings name the runtime (or the arch)
        # themselves, half of it would make a target neither names (python3.12 from pyproject.toml, arm64 from
        # a `build -r python3.11 -a arm64`)
        whole = load_settings(cwd, configured, flags, fallbacks=[*fallbacks, last])
        if (whole.runtime, whole.arch) == (built.runtime, built.architecture):
            fallbacks.append(last)
    if fallbacks:
        settings = load_settings(cwd, configured, flags, fallbacks=fallbacks)
    if framework is not None and not settings.functions and not settings.function_name:
        settings = dataclasses.replace(settings, functions=chalice_functions(settings.deploy))
    return settings


def _chalice_values(settings: DeploySettings) -> tuple[dict[str, Any], str] | None:
    """The settings a Chalice project's .chalice/config.json gives for the stage (None: not a Chalice app)."""
    app = read_app(settings.project_dir / "app.py") if (settings.project_dir / "app.py").is_file() else None
    if app is None:
        return None
    config = read_config(settings.project_dir)
    values: dict[str, Any] = {"handler": f"app.{app.variable}"}
    if app.app_name:
        values["app_name"] = app.app_name
    if config is not None:
        values.update(stage_values(config, settings.stage)[0])
    return values, f".chalice/config.json (stage {settings.stage})"


def chalice_functions(settings: DeploySettings) -> tuple[FunctionSpec, ...]:
    """The Lambda functions of a Chalice app, named as Chalice names them for the stage."""
    app = read_app(settings.project_dir / "app.py")
    if app is None:
        return ()
    specs: tuple[FunctionSpec, ...] = function_specs(app, read_config(settings.project_dir), settings.stage,
                                                     app_name=settings.app_name)  # ours wins
    return specs


def chalice_notes(settings: DeploySettings) -> list[str]:
    """One line for each thing of a Chalice app lambda-tasks does not act on or reads differently: config.json
    keys, per-function entries, what app.py does that Chalice would not."""
    app = read_app(settings.project_dir / "app.py")
    if app is None:
        return []
    config = read_config(settings.project_dir)
    notes = list(app.notes)
    if config is not None:
        notes += stage_values(config, settings.stage)[1] + function_notes(app, config, settings.stage)
    return list(dict.fromkeys(notes))


def app_wiring(settings: DeploySettings, functions: FunctionSettings, built: Shipping,
               reporter: Reporter) -> AppWiring:
    """What deploy wires around the functions (after the build): a Chalice app's routes and event sources (what
    its syntax does not say read by importing it in the verify sandbox, in the artifacts ``built`` names), the
    API's settings, the function URLs."""
    # lazy: deploy's and verify's modules; a no-op build must not load them (start-up time)
    from .deploy.app_wiring import AppWiring
    from .deploy.deploy_record import record_path

    # lazy: deploy's and verify's modules; a no-op build must not load them (start-up time)
    from .verify.app_dump import needed, read_by_import

    app = read_app(settings.project_dir / "app.py") if (settings.project_dir / "app.py").is_file() else None
    web = app.web if app is not None else None
    if web is not None and needed(web):
        web = read_by_import(built, functions, web, reporter, regions=settings.regions)
    name = settings.app_name or settings.project_dir.resolve().name
    web = dataclasses.replace(web, title=name) if web is not None and not web.title else web
    api = ApiSettings(settings.api_gateway_stage, settings.api_gateway_endpoint_type,
                      settings.minimum_compression_size)
    url = FunctionUrl(functions.function_url_auth, functions.function_url_invoke_mode,
                      functions.function_url_cors_origins)
    urls = {spec.name: url for spec in functions.function_specs()
            if (spec.function_url if spec.function_url is not None else functions.function_url)}
    domain = custom_domain(read_config(settings.project_dir), settings.stage) if app is not None else None
    return AppWiring(web, api, name, settings.stage, record_path(settings.output_dir, settings.stage),
                     settings.max_parallel, urls, domain)
