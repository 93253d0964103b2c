"""The deploy lock of a stage (deploy/stage_lock.py): a lease in the cache bucket, against moto's S3 (which
enforces If-None-Match / If-Match as S3 does), and through the real command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from aws_helpers import REGION, create_role
from factory import make_project

from lambda_tasks.deploy.stage_lock import Lease, StageLock, lock_key, stage_lock
from lambda_tasks.errors import DeployError
from lambda_tasks.report import Reporter

BIN = Path(sys.executable).parent


def test_a_lease_is_read_back_and_anything_else_guards_nothing() -> None:
    lease = Lease("me@host pid 1", 100.0, 700.0)
    assert Lease.parse(lease.to_json()) == lease
    assert not lease.expired(699.9) and lease.expired(700.0)
    assert Lease.parse(b"not json") is None and Lease.parse(b'{"holder": "x"}') is None
    assert lock_key("lambda-tasks/cache/", "shop", "prod") == "lambda-tasks/cache/deploy-locks/shop-prod.json"


@pytest.fixture
def bucket(moto_env, unique_name) -> str:
    name = unique_name("locks")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=name)
    return name


def lock(bucket: str, out: io.StringIO, **kwargs) -> StageLock:
    return StageLock(boto3.client("s3", region_name=REGION), bucket, "p/deploy-locks/app-dev.json", Reporter(out),
                     **kwargs)


def test_one_holder_at_a_time_and_the_other_waits_saying_so(bucket) -> None:
    first, second = io.StringIO(), io.StringIO()
    holder = lock(bucket, first)
    holder.acquire()
    other = lock(bucket, second, sleep=lambda s: None)
    with pytest.raises(DeployError, match=r"^another deploy of this stage holds s3://.*\n  wait for it"):
        other.acquire(wait_s=0.5)
    assert second.getvalue().count("deploy: waiting for another deploy of this stage") == 1  # said once
    holder.release()
    other.acquire(wait_s=0.5)
    assert other.read()[1] == other.etag


def test_an_expired_lease_is_taken_over_and_the_old_holder_notices(bucket, capsys) -> None:
    out = io.StringIO()
    now = [1000.0]
    old = lock(bucket, out, clock=lambda: now[0])
    old.acquire()
    now[0] += 601  # the lease (600 s) ran out: the runner was killed
    new = lock(bucket, out, clock=lambda: now[0])
    new.acquire(wait_s=0)
    assert "took over the expired lease of" in capsys.readouterr().err  # warnings go to stderr
    assert not old.renew()  # no longer its lease
    old.release()  # and it does not delete the new holder's lock
    assert new.read()[1] == new.etag and "was taken by" in capsys.readouterr().err


def test_renewing_and_breaking(bucket, capsys) -> None:
    out = io.StringIO()
    holder = lock(bucket, out)
    with stage_lock(holder, renew_every=0.05):
        first = holder.read()[0]
        time.sleep(0.3)  # renewed in the background a few times
        assert first is not None and holder.read()[0].until > first.until
    assert holder.read() == (None, None)  # released
    holder.acquire()
    breaker = lock(bucket, out)
    with stage_lock(breaker, break_lock=True):
        assert "broke the lock of" in capsys.readouterr().err


@pytest.mark.e2e
@pytest.mark.slow
def test_deploys_of_one_stage_take_turns_through_the_command_line(tmp_path, bucket, unique_name) -> None:
    """A live lease of another runner: deploy waits (one line), goes on when it is released; an expired one is
    taken over; --break-lock removes a live one."""
    name, role = unique_name("fn"), create_role(unique_name("role"))
    project = make_project(tmp_path / "p", app="def handler(event, context):\n    return 1\n", pyproject=(
        f'[tool.lambda-tasks]\nruntime = "python3.12"\nfunction_name = "{name}"\nrole = "{role}"\n'
        f'cache_bucket = "{bucket}"\napp_name = "shop"\n'))
    s3 = boto3.client("s3", region_name=REGION)
    key = lock_key("lambda-tasks/cache/", "shop", "dev")

    def other_runner(until: float) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=Lease("ci@elsewhere pid 7", time.time(), until).to_json())

    def deploy(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run([BIN / "lambda-tasks", "deploy", "--no-verify", *flags], cwd=project,
                              capture_output=True, text=True, timeout=180, env=dict(os.environ))

    other_runner(time.time() + 600)
    process = subprocess.Popen([BIN / "lambda-tasks", "deploy", "--no-verify"], cwd=project, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # the other runner finishes once this deploy says it waits
        lines.append(line)
        if line.startswith("deploy: waiting for another deploy of this stage (ci@elsewhere pid 7)"):
            s3.delete_object(Bucket=bucket, Key=key)
    assert process.wait(timeout=180) == 0, "".join(lines) + process.stderr.read()
    assert sum(line.startswith("deploy: waiting") for line in lines) == 1 and "created" in "".join(lines)
    other_runner(time.time() - 1)
    expired = deploy()
    assert expired.returncode == 0 and "took over the expired lease of ci@elsewhere pid 7" in expired.stderr
    other_runner(time.time() + 600)
    broken = deploy("--break-lock")
    assert broken.returncode == 0 and "broke the lock of ci@elsewhere pid 7" in broken.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="lambda-tasks/cache/deploy-locks/")
    assert json.loads(subprocess.run([BIN / "lambda-tasks", "deploy", "--no-verify", "--plan", "--json"],
                                     cwd=project, capture_output=True, text=True, env=dict(os.environ),
                                     timeout=180).stdout)["plan"] is True
