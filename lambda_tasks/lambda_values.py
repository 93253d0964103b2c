"""What Lambda accepts as a value (pure): names, ARNs, regions, sizes, environment, tags, VPC ids.

Checked once, where a value enters (the settings), and again by deploy's preflight over the whole
configuration. The numbers and patterns are Lambda's API reference (shared/LAMBDA.md):

- memory 128..10240 MB, timeout 1..900 s, ephemeral storage 512..10240 MB;
- environment: keys ``[a-zA-Z][a-zA-Z0-9_]+`` (two characters at least), not one of the 18 keys Lambda sets
  and refuses (RESERVED_KEYS; TZ, LANG, PATH, PYTHONPATH ... may be set), and 4 KB in all, measured as Lambda
  measures it: the UTF-8 bytes of the compact JSON of the variables (its error quotes that "String measured"),
  so quotes and backslashes count twice. Values are never printed (they may be secrets);
- names: function 1..64 of ``[a-zA-Z0-9-_]`` (or its full ARN), layer 1..140 of the same, alias 1..128 and not
  all digits; handler ``module.function`` of at most 128 characters whose module is in the app zip or a layer;
  role ``arn:aws...:iam::<12 digits>:role/<name>``; region like ``eu-west-1``, ``us-gov-west-1``;
- the role deploy creates (``<app_name>-<stage>``): an IAM role name, 1..64 of letters, digits and ``+=,.@_-``;
- reserved concurrency 0 or more; VPC: subnet and security group ids both or neither, ``subnet-`` / ``sg-`` and 8
  or 17 hex digits, at most 16 subnets and 5 groups; tags: at most 50, keys 1..128 and values 0..256 characters
  of letters, digits, spaces and ``_ . : / = + - @``, no key starting ``aws:`` (in any case: AWS's own);
- ``package_type = "image"``: no Lambda layers (``layers``, ``extra_layers``); Lambda refuses them with an image.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

MEMORY_MB = (128, 10_240)
TIMEOUT_S = (1, 900)
EPHEMERAL_MB = (512, 10_240)
ENVIRONMENT_BYTES = 4096
HANDLER_CHARS = 128

#: Set by Lambda in every function; a configuration that names one is refused ("reserved keys").
RESERVED_KEYS = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})

_NAME = r"[a-zA-Z0-9_-]"
_REGION = r"[a-z]{2,4}(?:-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}"
ENV_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
FUNCTION_NAME = re.compile(rf"{_NAME}{{1,64}}")
FUNCTION_ARN = re.compile(rf"arn:aws[a-zA-Z-]*:lambda:{_REGION}:\d{{12}}:function:{_NAME}{{1,64}}")
LAYER_NAME = re.compile(rf"{_NAME}{{1,140}}")
LAYER_VERSION_ARN = re.compile(rf"arn:aws[a-zA-Z-]*:lambda:{_REGION}:\d{{12}}:layer:{_NAME}{{1,140}}:[1-9]\d*")
ALIAS = re.compile(rf"(?!\d+$){_NAME}{{1,128}}")
ROLE_ARN = re.compile(r"arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
REGION = re.compile(_REGION)
SUBNET_ID = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})")
SECURITY_GROUP_ID = re.compile(r"sg-(?:[0-9a-f]{8}|[0-9a-f]{17})")
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5
MAX_TAGS, TAG_KEY_CHARS, TAG_VALUE_CHARS = 50, 128, 256
TAG_TEXT = re.compile(r"[\w .:/=+\-@]*")
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
HANDLER = re.compile(r"[^\s./]+(?:[./][^\s./]+)*\.[A-Za-z_][A-Za-z0-9_]*")
#: room left in ``layer_name`` for the ``-1`` .. ``-99`` the build appends
LAYER_SUFFIX = 3
IMAGE_NO_LAYERS = "an image function takes no Lambda layers: put what they hold in the requirements (into the image)"


def image_override_problem(value: str | Sequence[str] | None, package_type: str) -> str | None:
    """ImageConfig's EntryPoint (up to 1,500 strings) or WorkingDirectory (up to 1,000 characters)."""
    if not value:
        return None
    if package_type != "image":
        return 'applies only to package_type = "image" (a zip function has no entry point to override)'
    if isinstance(value, str):
        return None if len(value) <= 1000 and value.startswith("/") else \
            "must be an absolute path of at most 1,000 characters"
    if len(value) > 1500 or any(not item or len(item) > 1024 for item in value):
        return "must be 1 to 1,500 non-empty strings of at most 1,024 characters each"
    return None


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _whole_in(value: Any, bounds: tuple[int, int], unit: str) -> str | None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"Lambda takes {low} to {high} {unit}, not {_shown(value)}"
    return None


# ---------------------------------------------------------------- one value each: a problem, or None


def memory_problem(value: Any) -> str | None:
    return _whole_in(value, MEMORY_MB, "MB")


def timeout_problem(value: Any) -> str | None:
    return _whole_in(value, TIMEOUT_S, "seconds")


def ephemeral_storage_problem(value: Any) -> str | None:
    return _whole_in(value, EPHEMERAL_MB, "MB")


def environment_bytes(variables: Mapping[str, str]) -> int:
    """The size Lambda holds against its 4 KB: compact JSON of the map, in UTF-8."""
    return len(json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def environment_problems(variables: Any) -> list[str]:
    if not isinstance(variables, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        return ["must be a table of NAME = \"value\" strings"]
    found = []
    bad = sorted(k for k in variables if not ENV_KEY.fullmatch(k) and k not in RESERVED_KEYS)
    if bad:
        found.append(f"names must match [a-zA-Z][a-zA-Z0-9_]+ (a letter, then at least one more letter, digit or "
                     f"_), not {', '.join(_shown(k, 40) for k in bad[:5])}" + (" ..." if len(bad) > 5 else ""))
    reserved = sorted(k for k in variables if k in RESERVED_KEYS)
    if reserved:
        found.append(f"{', '.join(reserved)} {'is' if len(reserved) == 1 else 'are'} set by Lambda itself and "
                     "cannot be configured; use another name")
    size = environment_bytes(variables)
    if size > ENVIRONMENT_BYTES:
        found.append(f"{len(variables)} variables take {size} bytes (as JSON, as Lambda counts); Lambda allows "
                     f"{ENVIRONMENT_BYTES}: move large values to SSM Parameter Store or Secrets Manager")
    return found


def function_name_problem(name: Any) -> str | None:
    if isinstance(name, str) and (FUNCTION_NAME.fullmatch(name) or FUNCTION_ARN.fullmatch(name)):
        return None
    return f"must be 1 to 64 characters of a-z A-Z 0-9 - _ (or the function's full ARN), not {_shown(name)}"


def layer_name_problem(name: Any, room: int = 0) -> str | None:
    """``room``: characters the build still appends (``-1``)."""
    longest = 140 - room
    if isinstance(name, str) and LAYER_NAME.fullmatch(name) and len(name) <= longest:
        return None
    extra = " (the build appends -1, -2, ...)" if room else ""
    return f"must be 1 to {longest} characters of a-z A-Z 0-9 - _{extra}, not {_shown(name)}"


def layer_arn_problem(arn: Any) -> str | None:
    if isinstance(arn, str) and LAYER_VERSION_ARN.fullmatch(arn):
        return None
    return f"must be a layer version ARN, arn:aws:lambda:<region>:<account>:layer:<name>:<version>, not {_shown(arn)}"


def alias_problem(name: Any) -> str | None:
    if isinstance(name, str) and ALIAS.fullmatch(name):
        return None
    return f"must be 1 to 128 characters of a-z A-Z 0-9 - _, not only digits, not {_shown(name)}"


def handler_problem(handler: Any) -> str | None:
    if isinstance(handler, str) and len(handler) <= HANDLER_CHARS and HANDLER.fullmatch(handler):
        return None
    return f"must be module.function (dots for packages), at most {HANDLER_CHARS} characters, not {_shown(handler)}"


def role_problem(arn: Any) -> str | None:
    if isinstance(arn, str) and ROLE_ARN.fullmatch(arn):
        return None
    return f"must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>, not {_shown(arn)}"


def role_name_problem(name: str) -> str | None:
    """The name of the role deploy would create."""
    if ROLE_NAME.fullmatch(name):
        return None
    return (f"the role deploy would create, {_shown(name, 80)} (app_name-stage), is not an IAM role name (1 to 64 "
            "of a-z A-Z 0-9 + = , . @ _ -): set role to an existing role's ARN, or a shorter app_name")


def reserved_concurrency_problem(value: Any) -> str | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return None
    return f"must be a whole number, 0 or more (0 stops the function from running), not {_shown(value)}"


def vpc_problems(subnets: Any, groups: Any) -> list[str]:
    subnets, groups = list(subnets or ()), list(groups or ())
    if bool(subnets) != bool(groups):
        return [f"a function in a VPC needs both subnet_ids and security_group_ids; only "
                f"{'subnet_ids' if subnets else 'security_group_ids'} is set"]
    found = []
    for values, rule, prefix, most in ((subnets, SUBNET_ID, "subnet", MAX_SUBNETS),
                                       (groups, SECURITY_GROUP_ID, "sg", MAX_SECURITY_GROUPS)):
        bad = [value for value in values if not (isinstance(value, str) and rule.fullmatch(value))]
        if bad:
            found.append(f"{prefix}-<8 or 17 hex digits> expected, not {', '.join(_shown(b, 40) for b in bad[:3])}")
        if len(values) > most:
            found.append(f"{len(values)} {prefix} ids; Lambda takes at most {most}")
    return found


def tags_problems(tags: Any) -> list[str]:
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        return ["must be a table of key = \"value\" strings"]
    found = []
    if len(tags) > MAX_TAGS:
        found.append(f"{len(tags)} tags; Lambda takes at most {MAX_TAGS} on a function")
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            found.append(f"{_shown(key, 40)}: keys starting aws: are AWS's own; use another key")
        elif not 1 <= len(key) <= TAG_KEY_CHARS or not TAG_TEXT.fullmatch(key):
            found.append(f"{_shown(key, 40)}: a key is 1 to {TAG_KEY_CHARS} letters, digits, spaces or _ . : / = + - @")
        if len(value) > TAG_VALUE_CHARS or not TAG_TEXT.fullmatch(value):
            found.append(f"{_shown(key, 40)}: a value is at most {TAG_VALUE_CHARS} letters, digits, spaces or "
                         "_ . : / = + - @")
    return found


def region_problem(region: Any) -> str | None:
    if isinstance(region, str) and REGION.fullmatch(region):
        return None
    return f"must be an AWS region name such as us-east-1 or eu-west-1, not {_shown(region)}"


def handler_module_files(handler: str) -> tuple[str, ...]:
    """The paths (from a sys.path entry) that can hold the handler's module, as Lambda's runtime imports it."""
    module = handler.rsplit(".", 1)[0].replace("/", ".").replace(".", "/")
    return (f"{module}.py", f"{module}/__init__.py", f"{module}.pyc")


def handler_module_problem(handler: str, names: Collection[str], roots: Iterable[str] = ("",)) -> str | None:
    """None when the module of ``handler`` is among ``names`` (zip entries) under one of ``roots``."""
    if handler_problem(handler):
        return None  # reported by the syntax rule
    files = handler_module_files(handler)
    module = files[0].removesuffix(".py")
    for root in roots:
        if any(root + path in names for path in files):
            return None
        native = f"{root}{module}."
        if any(name.startswith(native) and name.endswith(".so") and "/" not in name[len(native):] for name in names):
            return None
    return (f"module {module.replace('/', '.')} is in neither the app zip nor a layer (looked for "
            f"{' or '.join(files[:2])}); check the handler and --project-dir")


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (the second field of its ARNs)."""
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                              ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f")):
        if region.startswith(prefix):
            return partition
    return "aws"


def arn_place_problem(arn: str, regions: Sequence[str], regional: bool = True) -> str | None:
    """An ARN used by a function deployed to ``regions`` must be of their partition and (``regional``: a layer or a
    function) of their region; AWS refuses a layer of another region. None when ``regions`` is not set."""
    parts = arn.split(":")
    if not regions or len(parts) < 6 or not arn.startswith("arn:"):
        return None
    partitions = sorted({partition_of(region) for region in regions})
    if parts[1] not in partitions:
        return (f"{_shown(arn)} is in the partition {parts[1]}, but the regions {', '.join(regions)} are in "
                f"{', '.join(partitions)}")
    if regional and any(region != parts[3] for region in regions):
        return (f"{_shown(arn)} is in {parts[3]}, but the function is deployed to {', '.join(regions)}: Lambda takes "
                "only a layer or function of its own region (use a functions entry per region)")
    return None


def loaded_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(setting, problem) for names and ARNs as the settings are loaded: the layer name names files
    (``layers/<layer_name>-1.zip``), so ``../../x`` must never reach a path; an ARN of another partition or region
    than ``regions`` would only fail mid-deploy. Their syntax is the preflight's; where they are is known here."""
    regions = tuple(values.get("regions", ()))
    found = [("layer_name", layer_name_problem(values["layer_name"], room=LAYER_SUFFIX))]
    found += [("regions", region_problem(region)) for region in regions]
    if not any(problem for _, problem in found):
        found += [("extra_layers", arn_place_problem(arn, regions)) for arn in values.get("extra_layers", ())]
        for spec in values.get("functions", ()):
            where = tuple(spec.regions) if isinstance(spec.regions, (list, tuple)) and spec.regions else regions
            found += [("functions", arn_place_problem(arn, where)) for arn in spec.layers or ()]
            if isinstance(spec.role, str):
                found.append(("functions", arn_place_problem(spec.role, where, regional=False)))
        if values.get("role"):
            found.append(("role", arn_place_problem(values["role"], regions, regional=False)))
        name = values.get("function_name")
        if name and FUNCTION_ARN.fullmatch(name):
            found.append(("function_name", arn_place_problem(name, regions)))
    return [(key, problem) for key, problem in found if problem]
