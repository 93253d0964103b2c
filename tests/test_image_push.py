"""publish-image against Debian's docker-registry (without and with htpasswd auth), checked by skopeo; ECR's API and
the deploy against moto."""

from __future__ import annotations

import json

import pytest
from aws_helpers import create_role
from image_helpers import PASSWORD, USER, skopeo
from test_image_build import image_project, settings_for

from lambda_tasks import commands
from lambda_tasks.assemble import build
from lambda_tasks.aws.clients import Clients
from lambda_tasks.deploy.image_functions import deploy_image
from lambda_tasks.errors import DeployError, RegistryError
from lambda_tasks.oci_registry import parse_reference
from lambda_tasks.push import image_push as push
from lambda_tasks.report import Reporter
from lambda_tasks.verify import verify

pytestmark = pytest.mark.tool("skopeo")  # conftest.need_tool: skips, or fails under CI=true
QUIET = Reporter(quiet=True)


@pytest.mark.slow
def test_push_skips_what_is_there_mounts_the_base_and_skopeo_copies_it_back(tmp_path, wheelhouse, registry,
                                                                            base_image, unique_name, monkeypatch):
    monkeypatch.setattr(push, "CHUNK", 4096)  # the dependency layers go up in PATCH chunks
    root = image_project(tmp_path / "proj", wheelhouse, base_image)
    repository = f"{registry}/{unique_name()}"
    settings = settings_for(root, image_repository=repository)
    planned = commands.publish_image(settings, plan=True, reporter=QUIET)
    image = build(settings, reporter=QUIET).image
    assert planned.uploaded and planned.manifest and image.pushed == {}
    first = commands.publish_image(settings, reporter=QUIET)
    assert first.mounted == [layer.digest for layer in image.base.layers]  # same registry: mounted, not sent
    assert sorted(first.uploaded) == sorted([layer.digest for layer in image.layers] + [image.config.digest])
    assert first.uploaded_bytes == sum(layer.size for layer in image.layers) + image.config.size
    # skopeo, an independent client, reads it by tag and by digest, and copies it out and back in
    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{repository}:{image.tag}").stdout)
    assert info["Digest"] == image.digest
    out = tmp_path / "copied"
    done = skopeo("copy", "--src-tls-verify=false", f"docker://{repository}@{image.digest}", f"oci:{out}:x")
    assert done.returncode == 0, done.stderr
    back = skopeo("copy", "--dest-tls-verify=false", f"oci:{out}:x", f"docker://{repository}-back:x")
    assert back.returncode == 0, back.stderr
    # a second push uploads nothing
    second = commands.publish_image(settings, reporter=QUIET)
    assert not second.changed and second.uploaded_bytes == 0
    # one changed dependency: one layer (and the config and manifest) pushed
    make_wheel_v2 = __import__("factory").make_wheel
    make_wheel_v2(wheelhouse, "gamma", version="2.0")
    (root / "requirements.txt").write_text("alpha\nbeta\ngamma==2.0\n")
    third = commands.publish_image(settings, reporter=QUIET)
    new = build(settings, reporter=QUIET).image
    holder = next(layer for layer in new.layers if "gamma" in layer.units)
    assert sorted(third.uploaded) == sorted([holder.digest, new.config.digest])
    assert json.loads((root / "layers" / "manifest.json").read_text())["image"]["pushed"] == {repository: new.digest}


@pytest.mark.slow
def test_htpasswd_registry_asks_for_credentials_and_takes_them(tmp_path, wheelhouse, auth_registry, base_image,
                                                              unique_name, monkeypatch):
    root = image_project(tmp_path / "proj", wheelhouse, base_image, requirements="alpha\n")
    repository = f"{auth_registry}/{unique_name()}"
    settings = settings_for(root, image_repository=repository)
    monkeypatch.delenv("LAMBDA_TASKS_REGISTRY_USERNAME", raising=False)
    with pytest.raises(RegistryError, match="asks for a user name and password"):
        commands.publish_image(settings, reporter=QUIET)
    monkeypatch.setenv("LAMBDA_TASKS_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("LAMBDA_TASKS_REGISTRY_PASSWORD", "wrong")
    with pytest.raises(RegistryError, match="answered 401") as caught:
        commands.publish_image(settings, reporter=QUIET)
    assert "wrong" not in str(caught.value)
    monkeypatch.setenv("LAMBDA_TASKS_REGISTRY_PASSWORD", PASSWORD)
    result = commands.publish_image(settings, reporter=QUIET)
    assert not result.mounted and result.uploaded  # the base is on another registry: its blobs are sent
    inspected = skopeo("inspect", "--tls-verify=false", "--creds", f"{USER}:{PASSWORD}",
                       f"docker://{repository}@{result.digest}")
    assert inspected.returncode == 0, inspected.stderr


def test_references_and_plain_http_only_for_this_machine():
    ref = parse_reference("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app", repository_only=True)
    assert (ref.host, ref.repository, ref.local) == ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "team/app", False)
    assert push.ecr_region(ref) == "eu-west-1"
    assert parse_reference("localhost:5000/x:1").local and parse_reference("127.0.0.1:5000/x").local
    assert parse_reference("python:3.12").name == "registry-1.docker.io/library/python"
    from lambda_tasks.oci_registry import Client

    assert Client("example.com:5000").base == "https://example.com:5000"
    assert Client("127.0.0.1:5000").base == "http://127.0.0.1:5000"
    with pytest.raises(RegistryError, match="repository only"):
        parse_reference("127.0.0.1:5000/app:latest", "image_repository", repository_only=True)
    with pytest.raises(RegistryError, match="not a valid image reference"):
        parse_reference("127.0.0.1:5000/App", "image_repository")


def test_ecr_repository_created_when_missing_and_login_through_boto3(moto_env, unique_name):
    clients = Clients()
    ref = parse_reference(f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{unique_name()}", repository_only=True)
    assert push.ensure_repository(ref, clients, plan=True, reporter=QUIET) is True
    assert push.ensure_repository(ref, clients, plan=False, reporter=QUIET) is True
    assert push.ensure_repository(ref, clients, plan=False, reporter=QUIET) is False
    user, password = push.ecr_credentials(ref, clients)
    assert user == "AWS" and password


@pytest.mark.slow
def test_deploy_an_image_function_then_nothing_then_refuse_a_zip_function(tmp_path, wheelhouse, registry, base_image,
                                                                        moto_env, unique_name):
    root = image_project(tmp_path / "proj", wheelhouse, base_image)
    name = unique_name()
    role = create_role(unique_name("role"))
    settings = settings_for(root, image_repository=f"{registry}/{name}", function_name=name, role=role,
                            regions=["us-east-1"])
    result = commands.deploy(settings, reporter=QUIET)
    image = build(settings, reporter=QUIET).image
    client = Clients().lambda_("us-east-1")
    function = client.get_function(FunctionName=name)
    assert function["Configuration"]["PackageType"] == "Image"
    assert function["Code"]["ImageUri"] == f"{registry}/{name}@{image.digest}"
    assert [step.action for step in result.functions] == ["create"]
    again = deploy_image(settings.function, settings.deploy, settings.layers, settings.image, build(settings, reporter=QUIET), reporter=QUIET)
    assert not again.changed
    zipped = unique_name("zip")
    client.create_function(FunctionName=zipped, Role=role, Runtime="python3.12", Handler="app.handler",
                           Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    other = settings_for(root, image_repository=f"{registry}/{name}", function_name=zipped, role=role,
                         regions=["us-east-1"])
    with pytest.raises(DeployError, match="cannot change a function's package type"):
        deploy_image(other.function, other.deploy, other.layers, other.image, build(other, reporter=QUIET), reporter=QUIET)


def test_deploy_refuses_a_registry_lambda_cannot_pull_from(tmp_path, wheelhouse, base_image, aws_env):
    root = image_project(tmp_path / "proj", wheelhouse, base_image, requirements="")
    settings = settings_for(root, image_repository="ghcr.io/someone/app", function_name="f", regions=["us-east-1"])
    with pytest.raises(DeployError, match="not an Amazon ECR private repository"):
        deploy_image(settings.function, settings.deploy, settings.layers, settings.image, build(settings, reporter=QUIET), reporter=QUIET)


@pytest.mark.slow
def test_verify_imports_the_handler_from_the_image_layers(tmp_path, wheelhouse, base_image):
    root = image_project(tmp_path / "proj", wheelhouse, base_image)
    settings = settings_for(root)
    build(settings, reporter=QUIET)
    result = verify(settings.layers, settings.function, None, QUIET)
    assert result.handlers == ["app.handler"]
    (root / "app.py").write_text("import missing_module\n\ndef handler(event, context):\n    return 1\n")
    build(settings, reporter=QUIET)
    with pytest.raises(Exception, match="missing_module"):
        verify(settings.layers, settings.function, None, QUIET)


@pytest.mark.slow
def test_an_image_function_without_a_role_gets_the_managed_role(tmp_path, wheelhouse, registry, base_image,
                                                                  iam_env, unique_name):
    root = image_project(tmp_path / "proj", wheelhouse, base_image)
    name = unique_name()
    settings = settings_for(root, image_repository=f"{registry}/{name}", function_name=name, app_name=name,
                            regions=["us-east-1"])
    commands.deploy(settings, reporter=QUIET)
    function = Clients().lambda_("us-east-1").get_function(FunctionName=name)["Configuration"]
    assert function["Role"].endswith(f":role/{name}-dev")
    assert not deploy_image(settings.function, settings.deploy, settings.layers, settings.image, build(settings, reporter=QUIET), reporter=QUIET).changed
