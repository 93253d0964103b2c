"""Faults moto never produces, injected with botocore event hooks: 409 conflicts, throttling,
connection errors (during uploads, and after a publish succeeded), and AWS errors as one-liners."""

from __future__ import annotations

import io
from pathlib import Path

import boto3
import pytest
from aws_helpers import (  # noqa: F401 - fixture
    REGION,
    CallLog,
    FakeBuild,
    client_error,
    create_role,
    fail_times,
    no_retry_wait,
    respond_times,
)
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, NoCredentialsError

from lambda_tasks.aws import clients as aws
from lambda_tasks.deploy.functions import deploy_functions
from lambda_tasks.deploy.layer_publish import publish_layers
from lambda_tasks.errors import AwsError
from lambda_tasks.report import Reporter


def conflict(operation: str):
    return lambda: client_error("ResourceConflictException", "The operation cannot be performed at this time. "
                                "An update is in progress for resource: arn:aws:lambda:...:function:f", 409, operation)


def run_deploy(build: FakeBuild, log: CallLog, sleeps: list[float] | None = None, **flags):
    out = io.StringIO()
    settings = build.settings(**flags)
    result = deploy_functions(settings.function, settings.deploy, settings.layers, build.manifest(),
                              clients=aws.Clients(on_client=log.attach),
                              reporter=Reporter(out), sleep=(sleeps.append if sleeps is not None else lambda _: None))
    return result, out.getvalue()


def layer_count(name: str) -> int:
    return len(boto3.client("lambda", region_name=REGION).list_layer_versions(LayerName=name)["LayerVersions"])


# ---------------------------------------------------------------- 409


def test_two_conflicts_then_success(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    run_deploy(build, CallLog(), function_name=fn, role=role)
    build.build({"app.py": "v2"}, [{"a.py": "a"}])
    log = CallLog()
    hook = fail_times(2, conflict("UpdateFunctionCode"))
    log.hook("lambda", "before-send.lambda.UpdateFunctionCode", hook)
    sleeps: list[float] = []
    run_deploy(build, log, sleeps, function_name=fn)
    assert hook.state["left"] == 0 and len(sleeps) == 2
    assert log.calls["UpdateFunctionCode"] == 3  # two conflicts, then success
    assert boto3.client("lambda", region_name=REGION).get_function(FunctionName=fn)["Configuration"][
        "CodeSha256"] == aws.code_sha256(build.manifest().app.sha256)


@pytest.mark.slow
def test_endless_conflict_is_a_one_line_error_and_a_rerun_converges(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    fn = unique_name("f")
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    run_deploy(build, CallLog(), function_name=fn, role=role)
    build.build({"app.py": "v1"}, [{"a.py": "a2"}])  # new layer content
    log = CallLog()
    log.hook("lambda", "before-send.lambda.UpdateFunctionConfiguration", fail_times(100, conflict("x")))
    with pytest.raises(AwsError) as info:
        run_deploy(build, log, function_name=fn)
    message = str(info.value)
    assert "\n" not in message and "another update is still in progress" in message
    assert log.calls["UpdateFunctionConfiguration"] == aws.CONFLICT_ATTEMPTS
    # interrupted after publishing, before updating: the layer is recorded, a re-run only updates
    assert layer_count(build.layer(1)) == 2
    log = CallLog()
    run_deploy(build, log, function_name=fn)
    assert log.mutations() == {"UpdateFunctionConfiguration": 1}
    assert layer_count(build.layer(1)) == 2
    config = boto3.client("lambda", region_name=REGION).get_function(FunctionName=fn)["Configuration"]
    assert config["Layers"][0]["Arn"] == build.manifest().layers[0].published[REGION]


# ---------------------------------------------------------------- throttling (botocore standard mode)


def test_throttling_is_retried_by_botocore(moto_env, unique_name, tmp_path: Path, no_retry_wait) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    log = CallLog()
    body = {"__type": "TooManyRequestsException", "message": "Rate exceeded", "Reason": "CallerRateLimitExceeded"}
    hook = respond_times(2, 429, body)
    log.hook("lambda", "before-send.lambda.ListLayerVersions", hook)
    result = publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                            reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    # retried below the API call: one call when planning, one looking again right before publishing (issue 28)
    assert hook.state["left"] == 0 and log.calls["ListLayerVersions"] == 2
    assert [s.action for s in result.steps] == ["publish"] and layer_count(build.layer(1)) == 1


def test_endless_throttling_is_a_one_line_error(moto_env, unique_name, tmp_path: Path, no_retry_wait) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    log = CallLog()
    log.hook("lambda", "before-send.lambda.ListLayerVersions",
             respond_times(99, 429, {"__type": "TooManyRequestsException", "message": "Rate exceeded"}))
    with pytest.raises(AwsError, match="throttling after several retries"):
        publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                       reporter=Reporter(io.StringIO()), sleep=lambda _: None)


def test_client_config_uses_standard_retries() -> None:
    config = aws.client_config()
    assert config.retries["mode"] == "standard" and "lambda-tasks" in config.user_agent_extra


# ---------------------------------------------------------------- connection errors


def endpoint_error():
    return EndpointConnectionError(endpoint_url="https://s3.amazonaws.com/bucket")


def test_connection_error_during_upload_is_retried(moto_env, unique_name, tmp_path: Path, no_retry_wait) -> None:
    bucket = unique_name("artifacts")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"s3_bucket": bucket})
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    log = CallLog()
    hook = fail_times(2, endpoint_error)
    log.hook("s3", "before-send.s3.PutObject", hook)
    result = publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                            reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    assert hook.state["left"] == 0 and [s.action for s in result.steps] == ["publish"]
    assert log.calls["PutObject"] == 1  # one API call, retried twice below it


@pytest.mark.slow
def test_upload_that_keeps_failing_converges_on_rerun(moto_env, unique_name, tmp_path: Path, no_retry_wait) -> None:
    bucket = unique_name("artifacts")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"s3_bucket": bucket})
    build.build({"app.py": "v1"}, [{"a.py": "a"}, {"b.py": "b"}])
    log = CallLog()
    log.hook("s3", "before-send.s3.PutObject", fail_times(99, endpoint_error))
    with pytest.raises(AwsError) as info:
        publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                       reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    assert "\n" not in str(info.value) and "run the command again" in str(info.value)
    assert layer_count(build.layer(1)) == 0
    log = CallLog()
    result = publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                            reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    assert [s.action for s in result.steps] == ["publish", "publish"]
    assert layer_count(build.layer(1)) == 1 and layer_count(build.layer(2)) == 1
    # and once more: nothing at all
    log = CallLog()
    result = publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                            reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    assert log.mutations() == {} and result.published == []


def test_lost_publish_response_does_not_duplicate_the_layer(moto_env, unique_name, tmp_path: Path) -> None:
    """PublishLayerVersion succeeded but the connection dropped before the answer: no blind retry."""
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    log = CallLog()
    state = {"left": 1}

    def drop_answer(**_):
        if state["left"]:
            state["left"] -= 1
            raise ConnectionClosedError(endpoint_url="https://lambda.us-east-1.amazonaws.com")

    log.hook("lambda", "after-call.lambda.PublishLayerVersion", drop_answer)
    result = publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                            reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    assert state["left"] == 0 and log.calls["PublishLayerVersion"] == 1
    assert layer_count(build.layer(1)) == 1
    assert build.manifest().layers[0].published[REGION] == result.steps[0].arn


def test_lost_publish_response_before_it_reached_lambda_is_retried(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    log = CallLog()
    hook = fail_times(1, lambda: EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com"))
    log.hook("lambda", "before-send.lambda.PublishLayerVersion", hook)
    publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                   reporter=Reporter(io.StringIO()), sleep=lambda _: None)
    assert log.calls["PublishLayerVersion"] == 2 and layer_count(build.layer(1)) == 1


# ---------------------------------------------------------------- one-line messages, nothing secret


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (client_error("AccessDeniedException", "User: arn:aws:iam::1:user/ci is not authorized to perform: "
                      "lambda:PublishLayerVersion", 403, "PublishLayerVersion"), "grant the IAM permission"),
        (client_error("ResourceConflictException", "in progress", 409, "UpdateFunctionCode"), "run the command again"),
        (client_error("CodeStorageExceededException", "Code storage limit exceeded.", 400, "PublishLayerVersion"),
         "delete old layer or function versions"),
        (client_error("RequestEntityTooLargeException", "Request must be smaller than 69905067 bytes", 413,
                      "UpdateFunctionCode"), "set s3_bucket"),
        (client_error("InvalidParameterValueException", "Cannot reference more than 5 layers.", 400,
                      "UpdateFunctionConfiguration"), "at most 5 layers"),
        (client_error("ExpiredTokenException", "The security token included in the request is expired", 403,
                      "GetFunction"), "credentials have expired"),
        (NoCredentialsError(), "no AWS credentials found"),
        (EndpointConnectionError(endpoint_url="https://user:hunter2@localhost:5000/"), "AWS_ENDPOINT_URL"),
    ],
)
def test_errors_become_one_line_advice(exc: Exception, expected: str) -> None:
    message = str(aws.translate(exc, "do the thing"))
    assert "\n" not in message and message.startswith("cannot do the thing: ") and expected in message
    assert "hunter2" not in message and "testing" not in message


def test_no_credentials_end_to_end_message(monkeypatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", REGION)
    build = FakeBuild(tmp_path)
    build.build({"app.py": "v1"}, [{"a.py": "a"}])
    with pytest.raises(AwsError, match="no AWS credentials found"):
        publish_layers(build.settings().layers, build.manifest(), reporter=Reporter(io.StringIO()))


def test_no_region_is_a_clear_error(monkeypatch, tmp_path: Path, aws_env) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(AwsError, match="no AWS region"):
        aws.Clients().regions(())
    assert aws.Clients().regions(("eu-west-1", "eu-west-1", "us-east-1")) == ("eu-west-1", "us-east-1")


@pytest.mark.slow
def test_multipart_upload_with_progress_survives_a_dropped_part(moto_env, unique_name, tmp_path: Path, monkeypatch,
                                                                no_retry_wait) -> None:
    import os as _os

    from lambda_tasks.deploy import layer_publish as publish

    monkeypatch.setattr(publish, "MULTIPART_CHUNK", 5 * 1024 * 1024)  # S3's smallest part
    bucket = unique_name("artifacts")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"s3_bucket": bucket})
    manifest = build.build({"app.py": "v1"}, [{"blob.bin": _os.urandom(11 * 1024 * 1024)}])
    size = manifest.layers[0].zip_bytes
    log = CallLog()
    hook = fail_times(1, lambda: ConnectionClosedError(endpoint_url="https://s3.amazonaws.com"))
    log.hook("s3", "before-send.s3.UploadPart", hook)
    out = io.StringIO()
    publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                   reporter=Reporter(out), sleep=lambda _: None)
    assert hook.state["left"] == 0
    assert log.calls["CreateMultipartUpload"] == 1 and log.calls["UploadPart"] == 3
    assert log.calls["CompleteMultipartUpload"] == 1 and "PutObject" not in log.calls
    assert f"uploading {build.layer(1)}.zip: {size}/{size} bytes" in out.getvalue()
    full = boto3.client("lambda", region_name=REGION).get_layer_version(LayerName=build.layer(1), VersionNumber=1)
    assert full["Content"]["CodeSha256"] == aws.code_sha256(manifest.layers[0].sha256)


def test_unknown_profile_is_a_clear_error(aws_env, monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(AwsError, match="AWS_PROFILE does not exist"):
        aws.Clients().lambda_(REGION)
