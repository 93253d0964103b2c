"""The build cache runners share through S3 (``cache_bucket``), against moto's server: a second runner gets the
layers without resolving, a corrupt entry is rebuilt, a broken cache warns (or fails with cache_required)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import pytest
from conftest import AWS_REGION, offline_pyproject
from factory import layers_key as layers_fingerprint
from factory import make_project, make_wheel

from lambda_tasks import commands
from lambda_tasks.config import load_settings
from lambda_tasks.errors import CacheError
from lambda_tasks.layer_cache import Bom, parse_record, record_bytes, record_key, zip_key
from lambda_tasks.manifest import LayerRecord
from lambda_tasks.report import Reporter


@pytest.fixture
def bucket(moto_env, unique_name) -> str:
    name = unique_name("cache")
    boto3.client("s3", region_name=AWS_REGION).create_bucket(Bucket=name)
    return name


def runner(base: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch, bucket: str, **extra: str) -> Path:
    """A runner's own checkout (its own path) of the same project, and its own lambda-tasks cache directory."""
    monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(base / "cache"))
    lines = "".join(f'{key} = "{value}"\n' for key, value in {"cache_bucket": bucket, **extra}.items())
    project = make_project(base / "checkout" / "proj", "alpha==1.0\nbeta\n",
                           pyproject=offline_pyproject(wheelhouse, f'runtime = "python3.12"\n{lines}'))
    (project / "vendor").mkdir(exist_ok=True)
    (project / "vendor" / "vendored.py").write_text("V = 1\n")
    return project


def build(project: Path, **flags: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    reporter = Reporter(out)
    import sys

    real = sys.stderr
    sys.stderr = err
    try:
        commands.build(load_settings(project, {}, flags), reporter=reporter)
    finally:
        sys.stderr = real
    return out.getvalue(), err.getvalue()


@pytest.fixture
def no_resolver(monkeypatch: pytest.MonkeyPatch):
    """pip and uv poisoned: running either (or asking resolve()) fails the test."""
    def poisoned(*args: object, **kwargs: object) -> None:
        raise AssertionError("a resolver ran")

    def poison() -> None:
        import lambda_tasks.resolve as resolve_pkg
        from lambda_tasks.resolve import process

        monkeypatch.setattr(process, "run", poisoned)
        monkeypatch.setattr(resolve_pkg, "resolve", poisoned)
        monkeypatch.setenv("PATH", "/nonexistent")  # no uv, no pip on PATH either

    return poison


def layer_bytes(project: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted((project / "layers").glob("*.zip"))}


@pytest.mark.slow
def test_a_second_runner_gets_byte_identical_layers_without_resolving(tmp_path, wheelhouse, monkeypatch, bucket,
                                                                        no_resolver):
    make_wheel(wheelhouse, "alpha", "1.0", requires=["beta"])
    make_wheel(wheelhouse, "beta", "2.0")
    first = runner(tmp_path / "one", wheelhouse, monkeypatch, bucket)
    out, err = build(first)
    assert "resolve: 2 wheels" in out and f"layers: stored in the shared cache (s3://{bucket}/lambda-tasks/cache/)" \
        in out, out + err
    built = layer_bytes(first)
    bom = (first / "layers" / "pylock.toml").read_bytes()
    reference = json.loads((first / "layers" / "manifest.json").read_text())["bill_of_materials"]
    assert reference["distributions"] == 2 and b'name = "alpha"' in bom

    second = runner(tmp_path / "two", wheelhouse, monkeypatch, bucket)
    settings = [load_settings(p, {}, {}) for p in (first, second)]
    monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path / "one" / "cache"))
    one = layers_fingerprint(settings[0])
    monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path / "two" / "cache"))
    assert layers_fingerprint(settings[1]) == one  # other paths, other cache directories: the same key
    no_resolver()
    out, err = build(second)
    assert f"layers: from the shared cache (s3://{bucket}/lambda-tasks/cache/) in " in out, out + err
    assert "no resolver run" in out and err == ""
    assert layer_bytes(second) == built
    # the bill of materials came with the layers: the same bytes and manifest reference as the local build's
    assert (second / "layers" / "pylock.toml").read_bytes() == bom
    assert json.loads((second / "layers" / "manifest.json").read_text())["bill_of_materials"] == reference
    # and the second runner's manifest is a real one: a rebuild is a no-op
    out, _ = build(second)
    assert "up to date" in out


@pytest.mark.slow
def test_a_corrupt_entry_is_detected_and_rebuilt(tmp_path, wheelhouse, monkeypatch, bucket):
    make_wheel(wheelhouse, "alpha", "1.0")
    make_wheel(wheelhouse, "beta", "2.0")
    first = runner(tmp_path / "one", wheelhouse, monkeypatch, bucket)
    build(first)
    built = layer_bytes(first)
    s3 = boto3.client("s3", region_name=AWS_REGION)
    manifest = commands.run_build(load_settings(first, {}, {}), reporter=Reporter(io.StringIO()))
    key = zip_key("lambda-tasks/cache/", manifest.layers[0].sha256)
    head = s3.head_object(Bucket=bucket, Key=key)
    damaged = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    damaged[len(damaged) // 2] ^= 0xFF  # same size, same metadata: only the bytes say it
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(damaged), Metadata=head["Metadata"])

    second = runner(tmp_path / "two", wheelhouse, monkeypatch, bucket)
    out, err = build(second)
    assert err.count("\n") == 1 and f"warning: the shared cache's s3://{bucket}/{key} is corrupt" in err, err
    assert "building the layers here" in err and "resolve: 2 wheels" in out
    assert layer_bytes(second) == built
    assert not list((second / "layers").glob(".*.tmp"))
    # the rebuild put the right bytes back: a third runner gets them
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == built[Path(manifest.layers[0].path).name]
    third = runner(tmp_path / "three", wheelhouse, monkeypatch, bucket)
    out, err = build(third)
    assert "from the shared cache" in out and err == ""


@pytest.mark.slow
def test_a_missing_bucket_warns_in_one_line_and_builds(tmp_path, wheelhouse, monkeypatch, moto_env, unique_name):
    make_wheel(wheelhouse, "alpha", "1.0")
    make_wheel(wheelhouse, "beta", "2.0")
    missing = unique_name("gone")
    project = runner(tmp_path / "one", wheelhouse, monkeypatch, missing)
    out, err = build(project)
    lines = err.splitlines()
    assert len(lines) == 2, err  # one when reading, one when storing
    assert lines[0].startswith("warning: cannot read the shared cache: bucket ") and "does not exist" in lines[0]
    assert "resolve: 2 wheels" in out and layer_bytes(project)


def test_cache_required_fails_instead_of_resolving(tmp_path, wheelhouse, monkeypatch, bucket, no_resolver):
    make_wheel(wheelhouse, "alpha", "1.0")
    make_wheel(wheelhouse, "beta", "2.0")
    project = runner(tmp_path / "one", wheelhouse, monkeypatch, bucket, cache_required="true")
    no_resolver()
    with pytest.raises(CacheError, match=r"^the layers are not in the shared cache \(s3://.*\) and cache_required "
                                         r"is set\n  build them once"):
        build(project)


@pytest.mark.slow
def test_access_denied_is_one_line(tmp_path, wheelhouse, monkeypatch, bucket):
    """moto never refuses: the refusal is injected on every S3 call."""
    from aws_helpers import client_error

    from lambda_tasks.aws import clients as aws

    real = aws.Clients.client

    def refusing(self, service, region, *args, **kwargs):
        client = real(self, service, region, *args, **kwargs)
        if service == "s3":
            def deny(**_):
                raise client_error("AccessDenied", "Access Denied", 403, "GetObject")

            client.meta.events.register_first("before-send.s3", deny)
        return client

    monkeypatch.setattr(aws.Clients, "client", refusing)
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    make_wheel(wheelhouse, "alpha", "1.0")
    make_wheel(wheelhouse, "beta", "2.0")
    project = runner(tmp_path / "one", wheelhouse, monkeypatch, bucket)
    out, err = build(project)
    first = err.splitlines()[0]
    assert first.startswith("warning: cannot read the shared cache s3://") and "AccessDenied" in first, err
    assert "resolve: 2 wheels" in out
    monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path / "fresh"))
    (project / "layers" / "manifest.json").unlink()
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + "cache_required = true\n")
    with pytest.raises(CacheError, match=r"^cannot read the shared cache s3://.*AccessDenied.*\n  cache_required"):
        build(project)


def test_a_record_from_the_bucket_cannot_name_paths_or_other_targets(tmp_path):
    root = make_project(tmp_path / "p")
    settings = load_settings(root, {}, {"runtime": "python3.12", "layer_name": "p-deps"})
    record = LayerRecord("layers/p-deps-1.zip", "a" * 64, 10, 20, name="p-deps-1", distributions=["x"])
    data = record_bytes("f" * 64, settings, [record], {"x": 20}, "lambda-tasks test", Bom("lock-version = 1\n", 1))
    layers, units, bom = parse_record(data, "f" * 64, settings)
    assert (layers[0].path, layers[0].sha256, units) == ("layers/p-deps-1.zip", "a" * 64, {"x": 20})
    assert bom == Bom("lock-version = 1\n", 1)
    with pytest.raises(ValueError, match="bill of materials does not match its sha256"):
        parse_record(data.replace(b"lock-version = 1", b"lock-version = 2"), "f" * 64, settings)
    assert parse_record(record_bytes("f" * 64, settings, [record], {"x": 20}, "t"), "f" * 64, settings)[2] is None
    evil = data.replace(b'"p-deps-1"', b'"../../etc/x"')
    with pytest.raises(ValueError, match="named"):
        parse_record(evil, "f" * 64, settings)
    with pytest.raises(ValueError, match="another fingerprint"):
        parse_record(data, "e" * 64, settings)
    with pytest.raises(ValueError, match="another target"):
        parse_record(data, "f" * 64, load_settings(root, {}, {"runtime": "python3.13", "layer_name": "p-deps"}))
    with pytest.raises(ValueError, match="not JSON"):
        parse_record(b"{", "f" * 64, settings)
    assert record_key("pre/", "f" * 64) == f"pre/records/{'f' * 64}.json"


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("command", [["package", "--format", "sam"], ["build"]])
def test_every_command_that_builds_uses_the_shared_cache(tmp_path, wheelhouse, monkeypatch, bucket, command):
    """`invoke package` (and publish-image, deploy of an image) once built without the shared cache, ignoring
    cache_required: a name shadowed in commands.py. Through the real command line, against moto's server."""
    import os
    import subprocess
    import sys

    make_wheel(wheelhouse, "alpha", "1.0")
    make_wheel(wheelhouse, "beta", "2.0")
    project = runner(tmp_path / "one", wheelhouse, monkeypatch, bucket, cache_required="true")
    result = subprocess.run([Path(sys.executable).parent / "lambda-tasks", *command], cwd=project,
                            capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 1, result.stdout + result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: the layers are not in the shared cache (s3://"), result.stderr
    assert "Traceback" not in result.stderr and not (project / "layers" / "manifest.json").exists()
