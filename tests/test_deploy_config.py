"""deploy: each function's whole configuration (VPC, X-Ray, /tmp, tags, reserved concurrency, its own layers), the
role deploy creates when none is named, and "not deployed here" (function_config.py, roles.py, deploy.py).

Pure planning first; then against the shared moto server, in an account of these tests' own where moto knows
AWS's managed policies (``iam_env``)."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_helpers import REGION, CallLog, FakeBuild, client_error, create_role, deploy_problems, fail_times
from conftest import IAM_ACCOUNT

from lambda_tasks import lambda_values as values
from lambda_tasks.aws import clients as aws
from lambda_tasks.config import FunctionSpec
from lambda_tasks.deploy import roles
from lambda_tasks.deploy.function_config import (
    concurrency_change,
    config_changes,
    desired_config,
    layer_list,
    managed_role_name,
    tag_changes,
)
from lambda_tasks.deploy.functions import deploy_functions
from lambda_tasks.errors import AwsError, DeployError, LimitError
from lambda_tasks.report import Reporter

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:own:3"
NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."

# ---------------------------------------------------------------- pure


def test_desired_config_takes_each_field_from_the_function_then_the_settings(tmp_path: Path) -> None:
    settings = FakeBuild(tmp_path).settings(xray=True, ephemeral_storage=1024, subnet_ids=["subnet-0123abcd"],
                                            security_group_ids=["sg-0123abcd"], role="arn:aws:iam::1:role/all")
    config = desired_config(settings.function, FunctionSpec("f"), ["l1"], role="arn:managed")
    assert config["TracingConfig"] == {"Mode": "Active"} and config["EphemeralStorage"] == {"Size": 1024}
    assert config["VpcConfig"] == {"SubnetIds": ["subnet-0123abcd"], "SecurityGroupIds": ["sg-0123abcd"]}
    assert config["Role"] == "arn:aws:iam::1:role/all"  # a named role wins over the managed one
    own = desired_config(settings.function, FunctionSpec("g", xray=False, ephemeral_storage=2048, subnet_ids=(),
                                                role="arn:aws:iam::1:role/own"), [])
    assert own["TracingConfig"] == {"Mode": "PassThrough"} and own["EphemeralStorage"] == {"Size": 2048}
    assert own["VpcConfig"] == {"SubnetIds": [], "SecurityGroupIds": []}  # one of the two unset: no VPC
    assert own["Role"] == "arn:aws:iam::1:role/own"
    plain = desired_config(FakeBuild(tmp_path).settings().function, FunctionSpec("h"), [], role="arn:managed")
    assert plain["Role"] == "arn:managed" and plain["EphemeralStorage"] == {"Size": 512}
    assert "Role" not in desired_config(FakeBuild(tmp_path).settings().function, FunctionSpec("h"), [])


def test_config_changes_reads_what_lambda_omits_as_its_default(tmp_path: Path) -> None:
    desired = desired_config(FakeBuild(tmp_path).settings().function, FunctionSpec("f"), [])
    # what GetFunction answers for a function created with nothing but the required fields
    bare = {"Runtime": "python3.12", "Handler": "app.handler", "MemorySize": 128, "Timeout": 60,
            "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": [], "VpcId": ""}, "Layers": []}
    assert config_changes(bare, desired) == []
    assert config_changes({k: v for k, v in bare.items() if k != "VpcConfig"}, desired) == []
    in_vpc = {**bare, "VpcConfig": {"SubnetIds": ["subnet-2", "subnet-1"], "SecurityGroupIds": ["sg-1"]}}
    assert config_changes(in_vpc, desired) == ["VpcConfig"]  # unset takes the function out, as Chalice does
    wanted = {**desired, "VpcConfig": {"SubnetIds": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]}}
    assert config_changes(in_vpc, wanted) == []  # order is not a difference
    traced = {**bare, "TracingConfig": {"Mode": "Active"}, "EphemeralStorage": {"Size": 4096}}
    assert config_changes(traced, desired) == ["TracingConfig", "EphemeralStorage"]


def test_tag_changes_make_the_tags_exactly_the_wanted_ones_but_keep_aws_tags() -> None:
    current = {"team": "a", "cost": "1", "aws:cloudformation:stack-name": "s", "old": "x"}
    assert tag_changes(current, {"team": "b", "cost": "1", "new": ""}) == ({"team": "b", "new": ""}, ["old"])
    assert tag_changes(current, {}) == ({}, ["cost", "old", "team"])
    assert tag_changes({"a": "1"}, {"a": "1"}) == ({}, [])


def test_concurrency_change() -> None:
    assert [concurrency_change(a, b) for a, b in [(None, None), (5, 5), (None, 5), (5, 0), (5, None), (0, None)]] == [
        "", "", "put", "put", "delete", "delete"]


def test_layer_list_puts_the_functions_own_layers_between(tmp_path: Path) -> None:
    extra = FakeBuild(tmp_path).settings(extra_layers=["arn:extra"]).extra_layers
    assert layer_list(extra, ["b1"], FunctionSpec("f", layers=("arn:own",))) == ["b1", "arn:own", "arn:extra"]
    with pytest.raises(LimitError, match=r"6 layers \(3 built \+ 2 of function f's layers \+ 1 extra_layers\)"):
        layer_list(extra, ["b1", "b2", "b3"], FunctionSpec("f", layers=("arn:1", "arn:2")))


def test_managed_role_name_and_policies(tmp_path: Path) -> None:
    assert managed_role_name(FakeBuild(tmp_path).settings(app_name="shop", stage="prod").deploy) == "shop-prod"
    assert roles.policies(False, "eu-west-1") == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    assert roles.policies(True, "cn-north-1")[1] == (
        "arn:aws-cn:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    assert json.loads(roles.trust_policy())["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert roles.role_name_of("arn:aws:iam::123456789012:role/path/to/app-dev") == "app-dev"


@pytest.mark.parametrize(("message", "yes"), [
    (NOT_ASSUMABLE, True),
    ("The provided execution role does not have permissions to call CreateNetworkInterface on EC2", True),
    ("Layers consist of more than the maximum number of layers", False),
])
def test_not_assumable(message, yes) -> None:
    assert roles.not_assumable(client_error("InvalidParameterValueException", message, 400, "CreateFunction")) is yes
    assert not roles.not_assumable(client_error("AccessDeniedException", message, 403, "CreateFunction"))


def test_when_assumable_backs_off_and_is_bounded() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky(**kwargs: Any) -> str:
        calls.append(kwargs["n"])
        if len(calls) < 4:
            raise client_error("InvalidParameterValueException", NOT_ASSUMABLE, 400, "CreateFunction")
        return "ok"

    run = roles.when_assumable(flaky, sleep=sleeps.append, on_wait=lambda attempt, delay: None)
    assert run(n=1) == "ok" and len(calls) == 4 and sleeps == [2.0, 4.0, 8.0]

    def never(**_: Any) -> None:
        raise client_error("InvalidParameterValueException", NOT_ASSUMABLE, 400, "CreateFunction")

    sleeps.clear()
    with pytest.raises(Exception, match="cannot be assumed"):
        roles.when_assumable(never, sleep=sleeps.append, on_wait=lambda a, d: None)()
    assert len(sleeps) == roles.ROLE_ATTEMPTS - 1 and max(sleeps) == roles.ROLE_MAX_DELAY

    def denied(**_: Any) -> None:
        raise client_error("AccessDeniedException", "no", 403, "CreateFunction")

    sleeps.clear()
    with pytest.raises(Exception, match="AccessDenied"):
        roles.when_assumable(denied, sleep=sleeps.append, on_wait=lambda a, d: None)()
    assert sleeps == []  # anything else goes through at once


def test_role_lines() -> None:
    created = roles.ManagedRole("app-dev", "arn:aws:iam::1:role/app-dev", "create", ["arn:x/AWSLambdaBasicExecutionRole"])
    assert created.describe() == "role app-dev: created (arn:aws:iam::1:role/app-dev; AWSLambdaBasicExecutionRole)"
    assert created.fresh and created.changed
    reused = roles.ManagedRole("app-dev", "arn", "reuse")
    assert reused.describe() == "role app-dev: exists, reused" and not reused.fresh and not reused.changed
    planned = roles.ManagedRole("app-dev", "arn", "create", ["arn:x/AWSLambdaBasicExecutionRole"], planned=True)
    assert planned.describe().startswith("would create role app-dev (trusted by lambda.amazonaws.com")
    assert not planned.fresh


@pytest.mark.parametrize(("subnets", "groups", "found"), [
    ((), (), []), (["subnet-0123abcd"], ["sg-0123abcd"], []),
    (["subnet-0123456789abcdef0"], ["sg-0123456789abcdef0"], []),
    (["subnet-0123abcd"], [], ["needs both subnet_ids and security_group_ids; only subnet_ids"]),
    ([], ["sg-0123abcd"], ["only security_group_ids is set"]),
    (["subnet-xyz"], ["sg-0123abcd"], ["subnet-<8 or 17 hex digits> expected, not 'subnet-xyz'"]),
    (["subnet-0123abcd"], ["default"], ["sg-<8 or 17 hex digits> expected, not 'default'"]),
    ([f"subnet-{i:08x}" for i in range(17)], ["sg-0123abcd"], ["17 subnet ids; Lambda takes at most 16"]),
    (["subnet-0123abcd"], [f"sg-{i:08x}" for i in range(6)], ["6 sg ids; Lambda takes at most 5"]),
])
def test_vpc_rules(subnets, groups, found) -> None:
    problems = values.vpc_problems(subnets, groups)
    assert len(problems) == len(found) and all(f in p for f, p in zip(found, problems, strict=True))


@pytest.mark.parametrize(("tags", "found"), [
    ({}, None), ({"team": "web", "cost center": "a/b:c=d+e-f@g.h_i", "empty": ""}, None), ({"équipe": "café"}, None),
    ({"aws:owner": "x"}, "keys starting aws: are AWS's own"), ({"AWS:Owner": "x"}, "keys starting aws:"),
    ({"k" * 129: "x"}, "a key is 1 to 128"), ({"": "x"}, "a key is 1 to 128"), ({"a#b": "x"}, "a key is 1 to 128"),
    ({"k": "v" * 257}, "a value is at most 256"), ({"k": "line\nbreak"}, "a value is at most 256"),
    ({f"k{i}": "" for i in range(51)}, "51 tags; Lambda takes at most 50"), ({"k": 1}, "key = \"value\" strings"),
])
def test_tag_rules(tags, found) -> None:
    problems = values.tags_problems(tags)
    assert (problems == []) if found is None else (len(problems) == 1 and found in problems[0])


def test_role_name_and_reserved_concurrency_rules() -> None:
    assert values.role_name_problem("shop-prod") is None and values.role_name_problem("a" * 64) is None
    assert "set role to an existing role's ARN, or a shorter app_name" in values.role_name_problem("a" * 65)
    assert values.role_name_problem("my app-dev")
    assert [values.reserved_concurrency_problem(x) is None for x in (None, 0, 5, -1, True, "5")] == [
        True, True, True, False, False, False]


def test_managed_role_name_is_checked_only_when_a_function_may_take_it(tmp_path: Path) -> None:
    long = {"app_name": "a" * 61, "function_name": "f"}
    assert [p.setting for p in deploy_problems(FakeBuild(tmp_path).settings(**long))] == ["app_name"]
    assert deploy_problems(FakeBuild(tmp_path).settings(**long, role="arn:aws:iam::123456789012:role/r")) == []
    assert deploy_problems(FakeBuild(tmp_path).settings(**long, manage_iam_role=False)) == []


# ---------------------------------------------------------------- moto server


class Params(CallLog):
    """A CallLog that also keeps each call's parameters, and counts tagging and IAM writes as writes."""

    def __init__(self) -> None:
        super().__init__()
        self.params: dict[str, list[dict[str, Any]]] = {}

    def attach(self, service: str, region: str, client: Any) -> None:
        super().attach(service, region, client)
        event = f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}"
        client.meta.events.register(event, self._keep)

    def _keep(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.params.setdefault(model.name, []).append(dict(params))

    def mutations(self) -> Counter[str]:
        writes = ("Tag", "Untag", "Attach", "Detach")
        return super().mutations() + Counter({k: v for k, v in self.calls.items() if k.startswith(writes)})


def deploy(build: FakeBuild, log: CallLog | None = None, plan: bool = False, sleeps: list[float] | None = None,
           **flags: Any) -> tuple[Any, str]:
    out = io.StringIO()
    settings = build.settings(**flags)
    result = deploy_functions(settings.function, settings.deploy, settings.layers, build.manifest(),
                              clients=aws.Clients(on_client=log.attach if log else None), reporter=Reporter(out),
                              plan=plan, sleep=sleeps.append if sleeps is not None else lambda _: None)
    return result, out.getvalue()


def lambda_client() -> Any:
    return boto3.client("lambda", region_name=REGION)


def iam() -> Any:
    return boto3.client("iam", region_name=REGION)


def attached(role: str) -> list[str]:
    return sorted(p["PolicyName"] for p in iam().list_attached_role_policies(RoleName=role)["AttachedPolicies"])


@pytest.fixture
def app(iam_env, unique_name, tmp_path: Path) -> dict[str, Any]:
    """A built app with two functions, configured every way a spec can be."""
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "def handler(e, c): pass\n"}, [{"a.py": "a"}])
    api, worker = unique_name("api"), unique_name("worker")
    functions = [
        {"name": api, "handler": "app.handler", "tags": {"team": "web"}, "reserved_concurrency": 5, "xray": True},
        {"name": worker, "handler": "app.handler", "memory": 1024, "timeout": 300, "ephemeral_storage": 2048,
         "environment": {"QUEUE": "jobs"}},
    ]
    flags = {"app_name": unique_name("shop"), "stage": "prod", "functions": functions, "tags": {"app": "shop"},
             "environment": {"STAGE": "prod"}}
    return {"build": build, "api": api, "worker": worker, "flags": flags, "role": f"{flags['app_name']}-prod"}


@pytest.mark.slow
def test_role_created_once_then_reused_and_the_functions_configured(app) -> None:
    build, flags, role = app["build"], app["flags"], app["role"]
    _, out = deploy(build, **flags)
    assert f"role {role}: created (arn:aws:iam::{IAM_ACCOUNT}:role/{role}; AWSLambdaBasicExecutionRole)" in out
    assert attached(role) == ["AWSLambdaBasicExecutionRole"]
    trust = iam().get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}

    api = lambda_client().get_function(FunctionName=app["api"])
    worker = lambda_client().get_function(FunctionName=app["worker"])
    assert api["Configuration"]["Role"] == worker["Configuration"]["Role"] == f"arn:aws:iam::{IAM_ACCOUNT}:role/{role}"
    assert api["Configuration"]["TracingConfig"] == {"Mode": "Active"}
    assert api["Tags"] == {"team": "web"} and api["Concurrency"] == {"ReservedConcurrentExecutions": 5}
    assert api["Configuration"]["Environment"]["Variables"] == {"STAGE": "prod"}
    w = worker["Configuration"]
    assert (w["MemorySize"], w["Timeout"], w["EphemeralStorage"], w["TracingConfig"]) == (
        1024, 300, {"Size": 2048}, {"Mode": "PassThrough"})
    assert w["Environment"]["Variables"] == {"QUEUE": "jobs"} and worker["Tags"] == {"app": "shop"}
    assert "Concurrency" not in worker

    log = Params()
    result, out = deploy(build, log, **flags)
    assert f"role {role}: exists, reused" in out and "Nothing changed since the last deploy" in out
    assert log.mutations() == {} and not result.changed
    assert "TagResource" not in log.calls and "AttachRolePolicy" not in log.calls
    assert log.calls["CreateRole"] == 0 and log.calls["GetRole"] == 1  # IAM once per deploy


@pytest.mark.slow
def test_a_changed_field_is_the_only_thing_updated(app) -> None:
    build, flags = app["build"], app["flags"]
    deploy(build, **flags)
    functions = [{**flags["functions"][0], "memory": 512, "reserved_concurrency": None},
                 {**flags["functions"][1], "tags": {"app": "shop", "tier": "batch"}}]
    log = Params()
    _, out = deploy(build, log, **{**flags, "functions": functions})
    assert log.mutations() == {"UpdateFunctionConfiguration": 1, "DeleteFunctionConcurrency": 1, "TagResource": 1}
    sent = log.params["UpdateFunctionConfiguration"][0]
    assert sent == {"FunctionName": app["api"], "MemorySize": 512}  # only what differs
    assert log.params["TagResource"][0]["Tags"] == {"tier": "batch"}
    assert f"function {app['api']} [{REGION}]: updated configuration (MemorySize) and reserved concurrency (none)" in out
    assert f"function {app['worker']} [{REGION}]: updated tags (tier)" in out
    api = lambda_client().get_function(FunctionName=app["api"])
    assert api["Configuration"]["MemorySize"] == 512 and "Concurrency" not in api
    # a tag someone else added is removed (the tags are what the settings say), an aws: one could not be
    lambda_client().tag_resource(Resource=api["Configuration"]["FunctionArn"], Tags={"added": "by hand"})
    log = Params()
    deploy(build, log, **{**flags, "functions": functions})
    assert log.mutations() == {"UntagResource": 1} and log.params["UntagResource"][0]["TagKeys"] == ["added"]


def test_new_role_not_yet_assumable_is_retried(iam_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [])
    fn, app_name = unique_name("f"), unique_name("app")
    log = Params()
    hook = fail_times(2, lambda: client_error("InvalidParameterValueException", NOT_ASSUMABLE, 400, "CreateFunction"))
    log.hook("lambda", "before-send.lambda.CreateFunction", hook)
    sleeps: list[float] = []
    _, out = deploy(build, log, sleeps=sleeps, function_name=fn, app_name=app_name)
    assert hook.state["left"] == 0 and log.calls["CreateFunction"] == 3 and sleeps == [2.0, 4.0]
    assert f"function {fn}: Lambda cannot use the new role {app_name}-dev yet (IAM takes some seconds), retrying" in out
    assert lambda_client().get_function(FunctionName=fn)["Configuration"]["Role"].endswith(f"role/{app_name}-dev")


def test_a_named_role_that_lambda_cannot_assume_fails_at_once(iam_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [])
    role = create_role(unique_name("role"))
    log = Params()
    log.hook("lambda", "before-send.lambda.CreateFunction",
             fail_times(5, lambda: client_error("InvalidParameterValueException", NOT_ASSUMABLE, 400, "x")))
    sleeps: list[float] = []
    with pytest.raises(AwsError, match=r"cannot be assumed by Lambda\.; check --role") as info:
        deploy(build, log, sleeps=sleeps, function_name=unique_name("f"), role=role)
    assert "\n" not in str(info.value) and sleeps == [] and log.calls["CreateFunction"] == 1
    assert "GetRole" not in log.calls  # a named role: IAM is not touched


@pytest.mark.slow
def test_vpc_function_gets_the_vpc_policy_on_the_reused_role(iam_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [])
    fn, app_name = unique_name("f"), unique_name("app")
    deploy(build, function_name=fn, app_name=app_name)
    vpc = {"subnet_ids": ["subnet-0123456789abcdef0"], "security_group_ids": ["sg-01234567"]}
    log = Params()
    _, out = deploy(build, log, function_name=fn, app_name=app_name, **vpc)
    assert f"role {app_name}-dev: exists, reused; attached AWSLambdaVPCAccessExecutionRole" in out
    assert log.mutations() == {"AttachRolePolicy": 1, "UpdateFunctionConfiguration": 1}
    assert attached(f"{app_name}-dev") == ["AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole"]
    config = lambda_client().get_function(FunctionName=fn)["Configuration"]
    assert config["VpcConfig"]["SubnetIds"] == ["subnet-0123456789abcdef0"]
    log = Params()
    _, out = deploy(build, log, function_name=fn, app_name=app_name, **vpc)
    assert log.mutations() == {} and "Nothing changed" in out
    _, out = deploy(build, function_name=fn, app_name=app_name)  # unset again: out of the VPC, as Chalice does
    assert "updated configuration (VpcConfig)" in out


@pytest.mark.slow
def test_existing_function_under_another_role_keeps_it(iam_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [])
    fn, own = unique_name("f"), create_role(unique_name("own"))
    deploy(build, function_name=fn, role=own)
    log = Params()
    result, _ = deploy(build, log, function_name=fn, app_name=unique_name("app"))
    assert not result.changed and result.role is None and "GetRole" not in log.calls
    assert lambda_client().get_function(FunctionName=fn)["Configuration"]["Role"] == own


def test_plan_says_it_would_create_the_role_and_changes_nothing(iam_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    fn, app_name = unique_name("f"), unique_name("app")
    log = Params()
    _, out = deploy(build, log, plan=True, function_name=fn, app_name=app_name, subnet_ids=["subnet-01234567"],
                    security_group_ids=["sg-01234567"])
    assert (f"would create role {app_name}-dev (trusted by lambda.amazonaws.com; AWSLambdaBasicExecutionRole, "
            "AWSLambdaVPCAccessExecutionRole)") in out
    assert f"function {fn} [{REGION}]: would create" in out and "plan only: nothing was changed" in out
    assert log.mutations() == {}
    with pytest.raises(Exception, match="NoSuchEntity"):
        iam().get_role(RoleName=f"{app_name}-dev")


@pytest.mark.slow
def test_not_deployed_parts_are_listed_once_per_function(iam_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [])
    api, job = unique_name("api"), unique_name("job")
    functions = [FunctionSpec(api, "app.app", not_deployed=("API Gateway REST API for 3 routes",)),
                 FunctionSpec(job, "app.job", not_deployed=("EventBridge schedule rate(5 minutes)",)),
                 FunctionSpec(unique_name("plain"), "app.plain")]
    for plan in (True, False):
        _, out = deploy(build, plan=plan, functions=functions, app_name=unique_name("app"),
                        regions=[REGION, "eu-west-1"])
        lines = out.splitlines()
        assert lines.count("not deployed here: API Gateway REST API for 3 routes") == 1
        assert lines.count("not deployed here: EventBridge schedule rate(5 minutes)") == 1
        assert lines[-1] == ('2 parts of the app are not deployed by lambda-tasks: see docs/guides/chalice-projects.md '
                             '("Not deployed here") for what deploys them')


@pytest.mark.parametrize(("flags", "named"), [
    ({"app_name": "a" * 61}, "app_name"),
    ({"tags": {"aws:owner": "me"}}, "tags"),
    ({"subnet_ids": ["subnet-01234567"]}, "subnet_ids/security_group_ids"),
    ({"functions": [{"name": "f", "reserved_concurrency": -1}]}, "functions[f].reserved_concurrency"),
    ({"functions": [{"name": "f", "ephemeral_storage": 100}]}, "functions[f].ephemeral_storage"),
    ({"functions": [{"name": "f", "layers": ["arn:layer"]}]}, "functions[f].layers"),
])
def test_refused_before_any_call(iam_env, unique_name, tmp_path: Path, flags, named) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    log = Params()
    base = {} if "functions" in flags else {"function_name": unique_name("f")}
    with pytest.raises(DeployError, match=rf"^1 setting AWS would refuse: {re.escape(named)}\n"):
        deploy(build, log, **base, **flags)
    assert sum(log.calls.values()) == 0
