"""publish-layer: pure planning, and the boto3 side against the shared moto server (``moto_env``)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import boto3
import pytest
from aws_helpers import REGION, CallLog, FakeBuild

from lambda_tasks import limits
from lambda_tasks.aws import clients as aws
from lambda_tasks.deploy.layer_publish import bucket_region, publish_layers, s3_key, via_s3
from lambda_tasks.deploy.layer_versions import (
    RemoteVersion,
    candidates,
    hash_from_description,
    layer_description,
    matches,
    version_of,
)
from lambda_tasks.errors import AwsError, LambdaTasksError, LimitError
from lambda_tasks.manifest import LayerRecord
from lambda_tasks.report import Reporter
from lambda_tasks.targets import Target

HEX = "ab" * 32
TARGET = Target("python3.12", "x86_64")


def record(sha: str = HEX, dists: list[str] | None = None) -> LayerRecord:
    return LayerRecord("layers/x-1.zip", sha, 10, 20, name="x-1", distributions=dists or [])


# ---------------------------------------------------------------- pure


def test_code_sha256_is_base64_of_the_raw_digest() -> None:
    data = b"some zip"
    import base64

    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert aws.code_sha256(hashlib.sha256(data).hexdigest()) == expected


def test_description_carries_the_hash_and_fits() -> None:
    text = layer_description(record(dists=[f"package-number-{i}" for i in range(40)]))
    assert len(text) <= limits.LAYER_DESCRIPTION_CHARS
    assert hash_from_description(text) == HEX
    assert layer_description(record()) == f"lambda-tasks sha256:{HEX}"


@pytest.mark.parametrize("text", [None, "", "made by hand", "lambda-tasks sha256:xyz", f"other sha256:{HEX}"])
def test_foreign_descriptions_carry_no_hash(text: str | None) -> None:
    assert hash_from_description(text) is None


def test_candidates_newest_first_and_only_ours() -> None:
    desc = f"lambda-tasks sha256:{HEX}"
    versions = [RemoteVersion("a:1", 1, desc), RemoteVersion("a:2", 2, "other"), RemoteVersion("a:3", 3, desc)]
    assert [v.version for v in candidates(versions, HEX)] == [3, 1]


def test_match_needs_same_content_runtime_and_arch() -> None:
    good = RemoteVersion("a:1", 1, "", ("python3.12",), ("x86_64",), aws.code_sha256(HEX))
    assert matches(good, HEX, TARGET)
    assert not matches(RemoteVersion("a:1", 1, "", ("python3.12",), ("x86_64",), aws.code_sha256("cd" * 32)), HEX, TARGET)
    assert not matches(RemoteVersion("a:1", 1, "", ("python3.11",), ("x86_64",), aws.code_sha256(HEX)), HEX, TARGET)
    assert not matches(RemoteVersion("a:1", 1, "", ("python3.12",), ("arm64",), aws.code_sha256(HEX)), HEX, TARGET)
    assert not matches(RemoteVersion("a:1", 1, "", ("python3.12",), ("x86_64",), ""), HEX, TARGET)  # moto's empty layer


def test_helpers(tmp_path: Path) -> None:
    assert version_of("arn:aws:lambda:us-east-1:1:layer:x:12") == 12
    assert bucket_region(None) == "us-east-1" and bucket_region("EU") == "eu-west-1"
    settings = FakeBuild(tmp_path).settings().layers
    assert s3_key(settings, HEX) == f"lambda-tasks/{HEX}.zip"
    assert not via_s3(settings, limits.INLINE_ZIP_BYTES)
    assert via_s3(settings, limits.INLINE_ZIP_BYTES + 1)
    assert via_s3(FakeBuild(tmp_path).settings(s3_bucket="b-{region}").layers, 1)


# ---------------------------------------------------------------- moto server (names from unique_name)


def run(build: FakeBuild, log: CallLog | None = None, **flags):
    out = io.StringIO()
    settings = build.settings(**flags)
    manifest = build.manifest()
    result = publish_layers(settings.layers, manifest, clients=aws.Clients(on_client=log.attach if log else None),
                            reporter=Reporter(out), sleep=lambda _: None, regions=settings.regions)
    return result, build.manifest(), out.getvalue()


def layer_versions(name: str, region: str = REGION) -> list[dict]:
    return boto3.client("lambda", region_name=region).list_layer_versions(LayerName=name)["LayerVersions"]


def test_publish_records_arns_and_is_idempotent(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}, {"b.py": "b"}])
    result, manifest, out = run(build)
    assert len(result.published) == 2
    for layer in manifest.layers:
        arn = layer.published[REGION]
        (version,) = layer_versions(layer.name)
        assert version["LayerVersionArn"] == arn
        assert version["CompatibleRuntimes"] == ["python3.12"] and version["CompatibleArchitectures"] == ["x86_64"]
        assert hash_from_description(version["Description"]) == layer.sha256
    # again: nothing published, and the output says so
    log = CallLog()
    result, again, out = run(build, log)
    assert result.published == [] and "nothing to publish" in out
    assert log.mutations() == {}
    assert [l.published for l in again.layers] == [l.published for l in manifest.layers]


def test_lost_manifest_record_finds_the_existing_version(moto_env, unique_name, tmp_path: Path) -> None:
    """An interrupted run (published, manifest not written) converges without a duplicate."""
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    _, manifest, _ = run(build)
    arn = manifest.layers[0].published[REGION]
    for layer in manifest.layers:
        layer.published.clear()
    from lambda_tasks import manifest as mm

    mm.save(manifest, build.settings().manifest_path)
    log = CallLog()
    result, again, out = run(build, log)
    assert [s.action for s in result.steps] == ["reuse"] and "reusing" in out
    assert again.layers[0].published[REGION] == arn
    assert "PublishLayerVersion" not in log.calls
    assert len(layer_versions(build.layer(1))) == 1


def test_only_the_changed_layer_is_republished(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}, {"b.py": "b"}])
    _, first, _ = run(build)
    build.build({"app.py": "x"}, [{"a.py": "a"}, {"b.py": "b2"}])
    result, second, _ = run(build)
    assert [s.action for s in result.steps] == ["keep", "publish"]
    assert second.layers[0].published == first.layers[0].published
    assert second.layers[1].published[REGION].endswith(":2")
    # going back to the old content reuses version 1 instead of publishing a third
    build.build({"app.py": "x"}, [{"a.py": "a"}, {"b.py": "b"}])
    result, third, _ = run(build)
    assert [s.action for s in result.steps] == ["keep", "reuse"]
    assert third.layers[1].published[REGION] == first.layers[1].published[REGION]
    assert len(layer_versions(build.layer(2))) == 2


def test_deleted_version_is_republished(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    run(build)
    boto3.client("lambda", region_name=REGION).delete_layer_version(LayerName=build.layer(1), VersionNumber=1)
    result, manifest, _ = run(build)
    assert [s.action for s in result.steps] == ["publish"]
    assert manifest.layers[0].published[REGION].endswith(":2")


def test_foreign_version_with_our_description_but_other_content_is_not_reused(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    manifest = build.build({"app.py": "x"}, [{"a.py": "a"}])
    from aws_helpers import zip_bytes

    boto3.client("lambda", region_name=REGION).publish_layer_version(
        LayerName=build.layer(1), Content={"ZipFile": zip_bytes({"other": "x"})},
        Description=f"lambda-tasks sha256:{manifest.layers[0].sha256}",
        CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"])
    result, manifest, _ = run(build)
    assert [s.action for s in result.steps] == ["publish"]
    assert manifest.layers[0].published[REGION].endswith(":2")


def test_plan_changes_nothing(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    before = build.settings().manifest_path.read_bytes()
    out = io.StringIO()
    log = CallLog()
    result = publish_layers(build.settings().layers, build.manifest(), clients=aws.Clients(on_client=log.attach),
                            reporter=Reporter(out), plan=True)
    assert "would publish" in out.getvalue()
    assert log.mutations() == {} and layer_versions(build.layer(1)) == []
    assert build.settings().manifest_path.read_bytes() == before
    assert [s.action for s in result.steps] == ["publish"]


def test_several_regions(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    _, manifest, _ = run(build, regions=["us-east-1", "eu-west-1"])
    published = manifest.layers[0].published
    assert set(published) == {"us-east-1", "eu-west-1"} and ":eu-west-1:" in published["eu-west-1"]
    assert len(layer_versions(build.layer(1), "eu-west-1")) == 1


def test_zip_changed_after_build_is_refused(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    (tmp_path / f"layers/{build.layer(1)}.zip").write_bytes(b"tampered")
    with pytest.raises(LambdaTasksError, match="changed since the build"):
        run(build)


# ---------------------------------------------------------------- S3


def make_bucket(name: str, region: str = REGION) -> None:
    s3 = boto3.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def test_over_the_inline_limit_without_bucket_is_a_clear_error(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"layer_zip_limit": 100})
    build.build({"app.py": "x"}, [{"a.py": "a" * 5000}])
    with pytest.raises(LimitError, match="set s3_bucket"):
        run(build)


@pytest.mark.slow
def test_large_zip_goes_through_s3_content_addressed_and_upload_is_skipped_next_time(moto_env, unique_name, tmp_path: Path) -> None:
    bucket = unique_name("artifacts")
    make_bucket(bucket)
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"layer_zip_limit": 100, "s3_bucket": bucket})
    manifest = build.build({"app.py": "x"}, [{"a.py": "a" * 5000}])
    sha = manifest.layers[0].sha256
    _result, manifest, out = run(build)
    key = f"lambda-tasks/{sha}.zip"
    head = boto3.client("s3", region_name=REGION).head_object(Bucket=bucket, Key=key)
    assert head["Metadata"]["sha256"] == sha
    assert f"via s3://{bucket}/{key}" in out
    # the version has the right content
    (_version,) = layer_versions(build.layer(1))
    full = boto3.client("lambda", region_name=REGION).get_layer_version(LayerName=build.layer(1), VersionNumber=1)
    assert full["Content"]["CodeSha256"] == aws.code_sha256(sha)
    # layer deleted but object still there: republish skips the upload
    boto3.client("lambda", region_name=REGION).delete_layer_version(LayerName=build.layer(1), VersionNumber=1)
    log = CallLog()
    _result, _, out = run(build, log)
    assert "already uploaded" in out and "PutObject" not in log.calls and log.calls["PublishLayerVersion"] == 1


@pytest.mark.slow
def test_missing_bucket_and_bucket_in_other_region(moto_env, unique_name, tmp_path: Path) -> None:
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"s3_bucket": "no-such-bucket-here"})
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    with pytest.raises(AwsError, match="no-such-bucket-here does not exist; create it in us-east-1"):
        run(build)
    far_away = unique_name("far-away")
    make_bucket(far_away, "eu-west-1")
    with pytest.raises(AwsError, match="is in eu-west-1, but Lambda in us-east-1"):
        run(build, s3_bucket=far_away)
    per_region = unique_name("per-region")
    make_bucket(f"{per_region}-us-east-1")
    result, _manifest, _ = run(build, s3_bucket=per_region + "-{region}")
    assert [s.action for s in result.steps] == ["publish"]


def test_lambda_storing_other_content_is_caught_and_cleaned(moto_env, unique_name, tmp_path: Path, monkeypatch) -> None:
    """moto publishes an empty layer from a missing S3 key; we check CodeSha256 ourselves."""
    bucket = unique_name("artifacts")
    make_bucket(bucket)
    build = FakeBuild(tmp_path, unique_name("deps"), settings_overrides={"s3_bucket": bucket})
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    from lambda_tasks.deploy import layer_publish as publish

    monkeypatch.setattr(publish.Publisher, "upload", lambda *a, **k: False)  # the object never arrives
    with pytest.raises(AwsError, match="not the built zip's"):
        run(build)
    assert layer_versions(build.layer(1)) == []  # the bad version was deleted
    assert build.manifest().layers[0].published == {}


def test_importing_the_tasks_does_not_import_boto3() -> None:
    """No-op builds stay fast: boto3 is imported only by publish and deploy."""
    import subprocess
    import sys

    code = "import sys, lambda_tasks.tasks; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def _publish_behind_our_back(build: FakeBuild, layer: LayerRecord) -> None:
    """What another deploy of the same stage does: publish the same zip, with our description."""
    boto3.client("lambda", region_name=REGION).publish_layer_version(
        LayerName=layer.name, Description=layer_description(layer),
        Content={"ZipFile": (build.root / layer.path).read_bytes()}, CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64"])


def test_a_layer_published_meanwhile_by_another_deploy_is_reused(moto_env, unique_name, tmp_path: Path,
                                                                  monkeypatch) -> None:
    """Issue 28: the content is looked for again right before publishing, so a race costs no version."""
    from lambda_tasks.deploy import layer_publish as publish

    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    planned = publish.Publisher.plan_layer

    def plan_then_race(self, region, record):
        step = planned(self, region, record)
        _publish_behind_our_back(build, record)
        return step

    monkeypatch.setattr(publish.Publisher, "plan_layer", plan_then_race)
    result, manifest, out = run(build)
    (version,) = layer_versions(build.layer(1))
    assert manifest.layers[0].published[REGION] == version["LayerVersionArn"]
    assert result.published == [] and "another deploy published the same content meanwhile as version 1" in out


def test_two_versions_of_one_content_are_named_and_the_newest_used(moto_env, unique_name, tmp_path: Path) -> None:
    """A race past that window costs one extra version, which the next deploy uses and says so."""
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "x"}, [{"a.py": "a"}])
    layer = build.manifest().layers[0]
    _publish_behind_our_back(build, layer)
    _publish_behind_our_back(build, layer)
    result, manifest, out = run(build)
    assert result.published == [] and len(layer_versions(layer.name)) == 2
    assert manifest.layers[0].published[REGION].endswith(":2")
    assert "versions 1 and 2 hold the same content" in out
