"""Infrastructure as code for the built artifacts: CloudFormation, SAM and Terraform (JSON). Pure.

The zips are named by content in S3 (``s3_key``: ``<s3_prefix><sha256>.zip``, as publish and deploy upload
them), so a template changes exactly when an artifact does. Each function takes its configuration from its
FunctionSpec, else from the setting of the same name, as ``deploy`` does. Without a role, the template makes
one (basic execution, plus VPC access when the function has subnets), as ``manage_iam_role`` asks.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import FunctionSpec
from ..deploy.app_wiring import AppWiring
from ..deploy.layer_publish import s3_key
from ..deploy.layer_versions import layer_description
from ..errors import DeployError
from ..manifest import Manifest
from ..sections import FunctionSettings, LayerSettings
from . import app_resources

FORMATS = ("cloudformation", "sam", "terraform")
FILE_NAMES = {"cloudformation": "cloudformation.json", "sam": "template.json", "terraform": "lambda.tf.json"}
BASIC_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
XRAY_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
TRUST: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@dataclass(frozen=True)
class LayerPlan:
    key: str  # a logical name: LayerN
    name: str
    s3_key: str
    sha256: str
    description: str


@dataclass(frozen=True)
class FunctionPlan:
    """A function's configuration with the settings' values filled in."""

    key: str  # a logical name, unique in the template
    name: str
    handler: str
    memory: int
    timeout: int
    environment: Mapping[str, str]
    role: str | None  # None: the template makes one
    tags: Mapping[str, str]
    extra_layers: tuple[str, ...]
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    reserved_concurrency: int | None
    xray: bool
    ephemeral_storage: int | None
    short: str = ""  # the function's short name (Chalice's name: api_handler for the routes)
    read_policies: tuple[str, ...] = ()  # what its event sources need its role to read


@dataclass(frozen=True)
class Plan:
    runtime: str
    arch: str
    bucket: str | None  # may hold {region}
    app_key: str
    app_sha256: str
    layers: tuple[LayerPlan, ...]
    functions: tuple[FunctionPlan, ...]
    app: AppWiring | None = None  # the routes, event sources and function URLs around the functions


def plan(settings: FunctionSettings, built: LayerSettings, manifest: Manifest, app: AppWiring | None = None) -> Plan:
    """The template's resources: the functions as ``settings`` configures them, the zips where ``built`` (the
    layers' section) uploads them, with its ``extra_layers``."""
    layers = tuple(LayerPlan(f"Layer{n}", record.name, s3_key(built, record.sha256), record.sha256,
                             layer_description(record)) for n, record in enumerate(manifest.layers, 1))
    functions: list[FunctionPlan] = []
    web = app.web if app is not None else None
    for spec in settings.function_specs():
        function = _function(settings, built.extra_layers, spec, _logical(spec.name, {f.key for f in functions}))
        short = spec.short_name or spec.name
        functions.append(dataclasses.replace(function, short=short,
                                             read_policies=app_resources.read_policies(web, short)))
    return Plan(settings.runtime, settings.arch, built.s3_bucket, s3_key(built, manifest.app.sha256),
                manifest.app.sha256, layers, tuple(functions), app)


def _function(settings: FunctionSettings, extra_layers: Sequence[str], spec: FunctionSpec, key: str) -> FunctionPlan:
    def pick(name: str) -> Any:
        own = getattr(spec, name)
        return own if own is not None else getattr(settings, name)

    role = pick("role")
    if role is None and not settings.manage_iam_role:
        raise DeployError(f"function {spec.name} has no role and manage_iam_role is false\n"
                          "  set role (an IAM role ARN), or let the template make one (manage_iam_role = true)")
    return FunctionPlan(key, spec.name, pick("handler"), pick("memory"), pick("timeout"), dict(pick("environment")),
                        role, dict(pick("tags")), (*(spec.layers or ()), *extra_layers),
                        tuple(pick("subnet_ids")), tuple(pick("security_group_ids")), pick("reserved_concurrency"),
                        bool(pick("xray")), pick("ephemeral_storage"))


def _logical(name: str, taken: set[str]) -> str:
    """An alphanumeric logical id from a function name (``my-app-dev-crunch`` -> ``MyAppDevCrunch``)."""
    base = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part) or "Function"
    base = base if base[0].isalpha() else f"F{base}"
    if re.fullmatch(r"Layer\d+|ArtifactBucket|.*Role", base):  # the template's own names: LayerN, <key>Role
        base += "Function"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}{n}", n + 1
    return key


def policies(function: FunctionPlan) -> list[str]:
    """The managed policies of a role the template makes: logs, and VPC and X-Ray access when used (what SAM
    gives the roles it makes)."""
    return [BASIC_POLICY, *([VPC_POLICY] if function.subnet_ids else []), *([XRAY_POLICY] if function.xray else []),
            *function.read_policies]


def source_code_hash(sha256_hex: str) -> str:
    """Terraform's ``source_code_hash`` (and Lambda's CodeSha256): the base64 of the sha256."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()


# ------------------------------------------------------------------------------------------ CloudFormation, SAM


def cloudformation(p: Plan, sam: bool = False) -> dict[str, Any]:
    """A CloudFormation template (or, with ``sam``, a SAM one) for the layers and functions."""
    resources: dict[str, Any] = {}
    for layer in p.layers:
        content = {"Bucket" if sam else "S3Bucket": _cfn_bucket(p), "Key" if sam else "S3Key": layer.s3_key}
        properties = {"LayerName": layer.name, "Description": layer.description,
                      "ContentUri" if sam else "Content": content,
                      "CompatibleRuntimes": [p.runtime], "CompatibleArchitectures": [p.arch]}
        if sam:
            properties["RetentionPolicy"] = "Retain"
        resources[layer.key] = {"Type": "AWS::Serverless::LayerVersion" if sam else "AWS::Lambda::LayerVersion",
                                # old versions stay: a rollback's functions still name them
                                "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": properties}
    for function in p.functions:
        if function.role is None and not sam:
            resources[f"{function.key}Role"] = _cfn_role(function)
        resources[function.key] = _cfn_function(p, function, sam)
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Lambda functions and layers built by lambda-tasks ({p.runtime}, {p.arch})",
    }
    if sam:
        template["Transform"] = "AWS::Serverless-2016-10-31"
    if not p.bucket or "{region}" not in p.bucket:
        bucket: dict[str, Any] = {"Type": "String", "Description": "the S3 bucket holding the zips (s3_bucket)"}
        if p.bucket:
            bucket["Default"] = p.bucket
        template["Parameters"] = {"ArtifactBucket": bucket}
    around, around_outputs, _ = _around(p, "cloudformation")
    template["Resources"] = {**resources, **around}
    outputs: dict[str, Any] = {layer.key: {"Value": {"Ref": layer.key}} for layer in p.layers}
    outputs.update({f"{f.key}Arn": {"Value": {"Fn::GetAtt": [f.key, "Arn"]}} for f in p.functions})
    outputs.update(around_outputs)
    if outputs:
        template["Outputs"] = outputs
    return template


def _cfn_bucket(p: Plan) -> Any:
    if p.bucket and "{region}" in p.bucket:
        return {"Fn::Sub": p.bucket.replace("${", "${!").replace("{region}", "${AWS::Region}")}  # ${! is a literal ${
    return {"Ref": "ArtifactBucket"}


def _cfn_role(function: FunctionPlan) -> dict[str, Any]:
    properties: dict[str, Any] = {"AssumeRolePolicyDocument": TRUST, "ManagedPolicyArns": policies(function)}
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def _cfn_function(p: Plan, f: FunctionPlan, sam: bool) -> dict[str, Any]:
    code = {"Bucket" if sam else "S3Bucket": _cfn_bucket(p), "Key" if sam else "S3Key": p.app_key}
    properties: dict[str, Any] = {
        "FunctionName": f.name, "Handler": f.handler, "Runtime": p.runtime, "Architectures": [p.arch],
        "MemorySize": f.memory, "Timeout": f.timeout, "CodeUri" if sam else "Code": code,
        "Layers": [*({"Ref": layer.key} for layer in p.layers), *f.extra_layers],
    }
    if f.role is not None:
        properties["Role"] = f.role
    elif not sam:  # SAM makes the role itself (with VPC access when VpcConfig is set)
        properties["Role"] = {"Fn::GetAtt": [f"{f.key}Role", "Arn"]}
    if f.environment:
        properties["Environment"] = {"Variables": dict(f.environment)}
    if f.tags:
        properties["Tags"] = dict(f.tags) if sam else [{"Key": k, "Value": v} for k, v in f.tags.items()]
    if f.subnet_ids or f.security_group_ids:
        properties["VpcConfig"] = {"SubnetIds": list(f.subnet_ids), "SecurityGroupIds": list(f.security_group_ids)}
    if f.reserved_concurrency is not None:
        properties["ReservedConcurrentExecutions"] = f.reserved_concurrency
    if f.xray:
        properties["Tracing" if sam else "TracingConfig"] = "Active" if sam else {"Mode": "Active"}
    if f.ephemeral_storage is not None:
        properties["EphemeralStorage"] = {"Size": f.ephemeral_storage}
    return {"Type": "AWS::Serverless::Function" if sam else "AWS::Lambda::Function", "Properties": properties}


# ------------------------------------------------------------------------------------------ Terraform


def terraform(p: Plan) -> dict[str, Any]:
    """Terraform's JSON syntax (``*.tf.json``): the layers, the functions and, where needed, their roles."""
    bucket = "${var.artifact_bucket}"
    if p.bucket and "{region}" in p.bucket:
        bucket = '${replace(var.artifact_bucket, "{region}", data.aws_region.current.name)}'
    variable: dict[str, Any] = {"type": "string", "description": "the S3 bucket holding the zips (s3_bucket)"}
    if p.bucket:
        variable["default"] = p.bucket
    layers = {_tf_name(layer.key): {
        "layer_name": tf_literal(layer.name), "description": tf_literal(layer.description), "s3_bucket": bucket,
        "s3_key": layer.s3_key,
        "source_code_hash": source_code_hash(layer.sha256), "compatible_runtimes": [p.runtime],
        "compatible_architectures": [p.arch], "lifecycle": {"create_before_destroy": True},
    } for layer in p.layers}
    resources: dict[str, Any] = {}
    if layers:
        resources["aws_lambda_layer_version"] = layers
    roles: dict[str, Any] = {}
    attachments: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    for f in p.functions:
        name = _tf_name(f.key)
        if f.role is None:
            roles[name] = {"name_prefix": tf_literal(f"{f.name[:30]}-"), "assume_role_policy": _json(TRUST)}
            for n, policy in enumerate(policies(f)):
                attachments[f"{name}_{n}"] = {"role": f"${{aws_iam_role.{name}.name}}", "policy_arn": policy}
        functions[name] = _tf_function(p, f, bucket, name)
    for kind, values in (("aws_iam_role", roles), ("aws_iam_role_policy_attachment", attachments),
                         ("aws_lambda_function", functions)):
        if values:
            resources[kind] = values
    around, around_outputs, _ = _around(p, "terraform")
    resources.update(around)
    document: dict[str, Any] = {
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": ">= 5.0"}}},
        "variable": {"artifact_bucket": variable},
    }
    data: dict[str, Any] = {kind: {"current": {}} for kind in ("aws_region", "aws_caller_identity", "aws_partition")
            if f"data.{kind}" in bucket + json.dumps(around)}
    if data:
        document["data"] = data
    document["resource"] = resources
    outputs = {f"{_tf_name(layer.key)}_arn": {"value": f"${{aws_lambda_layer_version.{_tf_name(layer.key)}.arn}}"}
               for layer in p.layers}
    outputs.update({f"{_tf_name(f.key)}_arn": {"value": f"${{aws_lambda_function.{_tf_name(f.key)}.arn}}"}
                    for f in p.functions})
    outputs.update(around_outputs)
    if outputs:
        document["output"] = outputs
    return document


def _around(p: Plan, fmt: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The REST API, event sources and function URLs (app_resources.py); ``notes``: what is left out."""
    if p.app is None:
        return {}, {}, []
    if fmt == "terraform":
        return app_resources.terraform(p.app.web, p.app.api, p.functions, p.app.urls, _tf_name, p.app.domain)
    return app_resources.cloudformation(p.app.web, p.app.api, p.functions, p.app.urls, p.app.domain)


def notes(fmt: str, p: Plan) -> list[str]:
    """What the template leaves out of the app, one line each."""
    return _around(p, "terraform" if fmt == "terraform" else "cloudformation")[2]


def _tf_function(p: Plan, f: FunctionPlan, bucket: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "function_name": tf_literal(f.name), "handler": tf_literal(f.handler), "runtime": p.runtime,
        "architectures": [p.arch],
        "memory_size": f.memory, "timeout": f.timeout, "s3_bucket": bucket, "s3_key": p.app_key,
        "source_code_hash": source_code_hash(p.app_sha256),
        "role": tf_literal(f.role) if f.role is not None else f"${{aws_iam_role.{name}.arn}}",
        "layers": [*(f"${{aws_lambda_layer_version.{_tf_name(layer.key)}.arn}}" for layer in p.layers),
                   *tf_literal(f.extra_layers)],
    }
    if f.environment:
        body["environment"] = {"variables": tf_literal(f.environment)}
    if f.tags:
        body["tags"] = tf_literal(f.tags)
    if f.subnet_ids or f.security_group_ids:
        body["vpc_config"] = {"subnet_ids": tf_literal(f.subnet_ids),
                              "security_group_ids": tf_literal(f.security_group_ids)}
    if f.reserved_concurrency is not None:
        body["reserved_concurrent_executions"] = f.reserved_concurrency
    if f.xray:
        body["tracing_config"] = {"mode": "Active"}
    if f.ephemeral_storage is not None:
        body["ephemeral_storage"] = {"size": f.ephemeral_storage}
    return body


def tf_literal(value: Any) -> Any:
    """A value of the user's as Terraform's JSON syntax reads it literally: its strings (map keys included) are
    templates there, so ``${`` and ``%{`` become ``$${`` and ``%%{`` (an environment value ``${file("/etc/passwd")}``
    stays that text, never an expression)."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, Mapping):
        return {tf_literal(key): tf_literal(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [tf_literal(item) for item in value]
    return value


def _tf_name(key: str) -> str:
    """A Terraform resource name: ``MyAppDevCrunch`` -> ``my_app_dev_crunch``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def render(fmt: str, p: Plan) -> dict[str, Any]:
    if fmt == "terraform":
        return terraform(p)
    return cloudformation(p, sam=fmt == "sam")
