"""The documentation's generated parts, made from the code's own declarations at build time, so they cannot drift:
the settings reference (config.Settings: default, kind, what it affects, help), the commands and flags reference
(flags.COMMANDS), tables of chosen settings in the guides (``<!-- settings: a b -->``), Chalice's config.json keys
(``<!-- chalice-config-keys -->``), and CHANGELOG.md and CONTRIBUTING.md as pages.

mkdocs runs it as a hook (mkdocs.yml); tests/test_docs.py imports it to check that every setting is documented.
A missing page or a broken link fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import inspect
import logging
import re
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
log = logging.getLogger("mkdocs.hooks.reference")

#: Pages written in other worktrees (merged by the lead): left out of the nav, and links to them made plain text,
#: while they are not in docs/. Empty this once they are all merged, so that a missing one fails the build.
SETTINGS_INTRO = """# Settings

Generated from the declarations in `lambda_tasks/sections.py` (each setting's default, kind, what it affects and
its help), so this list is complete and current. The code declares them in sections (sources, resolve, app,
layers, image, function, deploy): each stage of the build and deploy is given its section only.

Where a value comes from, highest first:

1. a command's flag (the **flag** column);
2. Invoke's config: `invoke.yaml` under `lambda_tasks:`, or an environment variable
   `INVOKE_LAMBDA_TASKS_<KEY>` (`INVOKE_LAMBDA_TASKS_RUNTIME=python3.13`; a list is comma- or space-separated;
   a table setting cannot come from a variable);
3. `[tool.lambda-tasks]` in the `pyproject.toml` of the directory the command runs in;
4. when `project_dir` points elsewhere, the project's own `[tool.lambda-tasks]`, for what those leave unset;
5. for a Chalice app, `.chalice/config.json` for the stage ([Chalice projects](../guides/chalice-projects.md));
   for `verify`, `publish-layer` and `deploy`, the last build's runtime and architecture;
6. the default.

Keys may use `-` or `_`. An unknown key, a bad value, or a table under a near-miss name (`[tool.lambda_tasks]`,
`lambda-tasks:` in invoke.yaml) is an error naming it, with the nearest name. **Affects** says what a change
makes stale: the app zip, the layers (or the image's layers), both, or nothing built (a deploy setting).

```toml
[tool.lambda-tasks]
runtime = "python3.12"
arch = "arm64"
environment = { STAGE = "prod" }
```

```yaml
# invoke.yaml
lambda_tasks:
  runtime: python3.12
  environment: {STAGE: prod}
```

"""


def _code(value: str) -> str:
    return f"`{value}`"


def _plain(text: str) -> str:
    """Prose from the code shown as written: markdown's special characters escaped."""
    return re.sub(r"([\\*_|\[\]`])", r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")


def _size(value: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2)):
        if value >= size and value % (size // 1024) == 0:
            return f"`{value}` ({value / size:g} {unit})"
    return _code(str(value))


def default_text(name: str) -> str:
    """The default as users see it."""
    from lambda_tasks import config

    field = config._FIELDS[name]
    if field.metadata.get("shown"):
        return _plain(field.metadata["shown"])
    value = field.default_factory() if callable(field.default_factory) else field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return _code(str(value).lower())
    if isinstance(value, int):
        return _size(value)
    if isinstance(value, (tuple, list)):
        return "`[]`" if not value else _code(str(list(value)))
    if isinstance(value, dict):
        return "`{}`"
    return _code(f'"{value}"' if not isinstance(value, Path) else str(value))


def kind_text(name: str) -> str:
    """The kind of value, from the kind that parses it (and the field's type)."""
    from lambda_tasks import config, kinds, targets
    from lambda_tasks.function_spec import function_specs

    field = config._FIELDS[name]
    kind = field.metadata["kind"]
    closure = inspect.getclosurevars(kind).nonlocals if kind.__closure__ else {}
    if kind is kinds.boolean:
        text = "true or false"
    elif kind is kinds.runtime:
        text = " · ".join(targets.RUNTIMES)
    elif kind is kinds.arch:
        text = " or ".join(targets.ARCHITECTURES)
    elif "allowed" in closure:
        text = " or ".join(_code(choice) for choice in closure["allowed"])
    elif "minimum" in closure:
        low, high = closure["minimum"], closure["maximum"]
        text = f"whole number, {low}..{high}" if high is not None else f"whole number, {low} or more"
    elif kind in (kinds.texts, kinds.extra_layer_arns):
        text = "list of strings"
    elif kind is kinds.variables:
        text = "table of strings"
    elif kind is kinds.layer_numbers:
        text = "table: name = layer number"
    elif kind is function_specs:
        text = "list of tables"
    elif field.type in ("Path",):
        text = "path"
    else:
        text = "string"
    return text + (", or unset" if field.metadata["optional"] else "")


def affects_text(name: str) -> str:
    from lambda_tasks.config import _FIELDS, Affects

    affects = _FIELDS[name].metadata["affects"]
    return {Affects.APP: "app zip", Affects.LAYERS: "layers", Affects.BOTH: "app zip, layers"}.get(affects, "deploy")


def flags_feeding() -> dict[str, list[str]]:
    """Setting -> the flags that feed it (``--runtime``), from the declared commands."""
    from lambda_tasks import frontend  # noqa: F401  (declares the commands)
    from lambda_tasks.flags import COMMANDS

    found: dict[str, list[str]] = {}
    for declared in COMMANDS.values():
        for flag in declared.flags:
            if flag.setting and f"--{flag.name}" not in found.setdefault(flag.setting, []):
                found[flag.setting].append(f"--{flag.name}")
    return found


def settings_rows(names: list[str] | None = None) -> str:
    """A table of the settings (all, in declaration order, or ``names`` in that order)."""
    from lambda_tasks.config import _FIELDS, setting_names

    known = setting_names()
    chosen = [name for name in _FIELDS if name in known] if names is None else names
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"no such setting: {', '.join(unknown)}")
    feeding = flags_feeding()
    rows = ["| setting | default | kind | affects | flag | what it does |", "|---|---|---|---|---|---|"]
    for name in chosen:
        help_text = _plain(_FIELDS[name].metadata.get("help", ""))
        flags = ", ".join(_code(f) for f in feeding.get(name, []))
        rows.append(f"| <span id=\"{name}\"></span>`{name}` | {default_text(name)} | {kind_text(name)} | "
                    f"{affects_text(name)} | {flags} | {help_text} |")
    return "\n".join(rows)


def settings_markdown() -> str:
    return SETTINGS_INTRO + settings_rows() + "\n"


def commands_markdown() -> str:
    """Every command with its help and every flag: short flag, value, help, the setting it feeds."""
    from lambda_tasks import frontend  # noqa: F401  (declares the commands)
    from lambda_tasks.flags import COMMANDS

    out = ["# Commands and flags", "",
           "Generated from the declarations in `lambda_tasks/flags.py` and `lambda_tasks/frontend.py`. Each command "
           "runs the same way from `invoke <command>` (a tasks.py with `from lambda_tasks.tasks import ns`), "
           "`lambda-tasks <command>` and `nox -s <command> -- <flags>` ([Command line](../guides/command-line.md)). "
           "A flag that feeds a setting can also be set in pyproject.toml or invoke.yaml "
           "([Settings](settings.md)); `--json` output is described in [--json](json.md).", ""]
    out += ["| command | what it does |", "|---|---|"]
    out += [f"| [`{name}`](#{name}) | {_plain(' '.join(declared.doc.split(chr(10) * 2)[0].split()))} |"
            for name, declared in COMMANDS.items()]
    for name, declared in COMMANDS.items():
        out += ["", f"## {name}", "", f"    lambda-tasks {name} [flags]", ""]
        out += [_plain(line) for line in declared.doc.splitlines()]
        out += ["", "| flag | short | value | what it does | setting |", "|---|---|---|---|---|"]
        for flag in declared.flags:
            value = ("switch" if flag.kind is bool else f"`{flag.placeholder}`"
                     + (", whole number" if flag.kind is int else "") + (", repeatable" if flag.repeat else ""))
            setting = f"[`{flag.setting}`](settings.md#{flag.setting})" if flag.setting else ""
            short = f"`-{flag.short}`" if flag.short else ""
            text = _plain(flag.help)
            out.append(f"| `--{flag.name}` | {short} | {value} | {text} | {setting} |")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- mkdocs hooks


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    generated = {
        "reference/settings.md": settings_markdown(),
        "reference/commands.md": commands_markdown(),
        "changelog.md": (REPO / "CHANGELOG.md").read_text(encoding="utf-8"),
        "contributing.md": (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8"),
    }
    for path, content in generated.items():
        files.append(File.generated(config, path, content=content))
    return files


_SETTINGS_TABLE = re.compile(r"<!-- settings: ([a-z_ ]+) -->")
_FILE = re.compile(r"<!-- file: ([\w./-]+?\.(yml|toml|py)) -->")  # a repository file, shown whole

def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    from lambda_tasks.sources.chalice_config import readme_table

    markdown = _SETTINGS_TABLE.sub(lambda m: settings_rows(m.group(1).split()), markdown)
    markdown = markdown.replace("<!-- chalice-config-keys -->", readme_table())
    markdown = _FILE.sub(lambda m: f"```{m.group(2)}\n{(REPO / m.group(1)).read_text(encoding='utf-8')}```", markdown)
    return markdown

