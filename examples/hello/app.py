"""A small Chalice-style app: the handler uses a compiled dependency (PyYAML's libyaml binding)
and a vendored package."""

import platform

import yaml
from chalicelib.greeting import greeting
from hello_vendored import signature


def handler(event, context):
    config = yaml.safe_load(greeting())
    name = (event or {}).get("name", config["default_name"])
    return {
        "message": config["template"].format(name=name),
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
        "python": platform.python_version(),
        "vendored": signature(),
    }
