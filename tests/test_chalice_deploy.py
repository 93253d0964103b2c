"""The issue's acceptance check: the bundled Chalice example, deployed with the real `invoke deploy --stage prod`
against moto's server, gets Chalice's function names and config.json's configuration, and a role made for it;
a second deploy changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from factory import make_wheel
from fake_chalice import make_chalice

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "chalice-app"


@pytest.fixture
def example(tmp_path: Path, wheelhouse: Path) -> Path:
    make_chalice(wheelhouse)
    make_wheel(wheelhouse, "six")
    make_wheel(wheelhouse, "python-dateutil", version="2.9.0.post0", requires=["six"],
               files={"dateutil/__init__.py": "", "dateutil/parser.py": "def isoparse(text):\n    raise ValueError\n"})
    root = tmp_path / "chalice-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", "layers"))
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(f'pip_args = ["--no-index", "--find-links", "{wheelhouse.as_posix()}"]\n')
    return root


def invoke(root: Path, *args: str, app_name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INVOKE_LAMBDA_TASKS_APP_NAME": app_name}  # unique on the shared moto server
    return subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True, env=env,
                          timeout=300)


def test_deploy_stage_prod_names_and_configures_the_functions_as_chalice_does(iam_env, example, unique_name):
    app_name, bucket, queue = unique_name("shop"), unique_name("uploads"), unique_name("jobs")
    app_py = example / "app.py"  # the bucket and the queue the app's handlers read: this test's own
    app_py.write_text(app_py.read_text().replace("chalice-app-uploads", bucket).replace("chalice-app-jobs", queue))
    boto3.client("s3").create_bucket(Bucket=bucket)
    boto3.client("sqs").create_queue(QueueName=queue)
    done = invoke(example, "deploy", "--stage", "prod", app_name=app_name)
    assert done.returncode == 0, done.stderr + done.stdout
    out = done.stdout
    assert f"role {app_name}-prod: created" in out
    assert "REST API URL [us-east-1]: https://" in out and "not deployed here" not in out
    assert "note: " not in out  # every config.json key of the example is used, api_gateway_stage too

    lam = boto3.client("lambda")
    api = lam.get_function(FunctionName=f"{app_name}-prod")
    config = api["Configuration"]
    assert config["Handler"] == "app.app" and config["MemorySize"] == 512 and config["Timeout"] == 30
    assert config["Environment"]["Variables"] == {"GREETING": "Good day", "STAGE": "prod"}
    assert config["Role"].endswith(f":role/{app_name}-prod")
    assert api["Tags"] == {"team": "examples"}
    crunch = lam.get_function(FunctionName=f"{app_name}-prod-crunch")["Configuration"]
    assert crunch["Handler"] == "app.crunch" and crunch["MemorySize"] == 1024 and crunch["Timeout"] == 120
    hourly = lam.get_function(FunctionName=f"{app_name}-prod-every_hour")["Configuration"]
    assert hourly["Handler"] == "app.every_hour" and hourly["MemorySize"] == 512
    assert len(config["Layers"]) == 1

    again = invoke(example, "deploy", "--stage", "prod", app_name=app_name)
    assert again.returncode == 0, again.stderr
    assert "Nothing changed since the last deploy" in again.stdout
    assert f"role {app_name}-prod: exists, reused" in again.stdout or "role" not in again.stdout
