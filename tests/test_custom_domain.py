"""config.json's api_gateway_custom_domain, deployed with the real `invoke deploy` against moto's server: the domain
name with its certificate and TLS policy, the base path mapped to the API's stage, the name DNS must point at
printed; a second deploy changes nothing; `invoke delete` removes the mapping and the domain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from call_proxy import is_write, recording_proxy
from factory import make_project
from fake_chalice import make_chalice

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BIN = Path(sys.executable).parent
APP = "from chalice import Chalice\n\napp = Chalice(app_name='site')\n\n\n@app.route('/')\ndef index():\n    return {}\n"


def invoke(root: Path, *args: str, endpoint: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {})}
    done = subprocess.run([str(BIN / "invoke"), *args], cwd=root, capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def test_the_custom_domain_maps_to_the_api(iam_env, tmp_path, wheelhouse, unique_name):
    make_chalice(wheelhouse)
    name, domain = unique_name("site"), f"{unique_name('api')}.example.com"
    pyproject = ('[tool.lambda-tasks]\nruntime = "python3.12"\n'
                 f'pip_args = ["--no-index", "--find-links", "{wheelhouse.as_posix()}"]\n')
    root = make_project(tmp_path / "site", "", app=APP, pyproject=pyproject)
    (root / "tasks.py").write_text("from lambda_tasks.tasks import ns  # noqa: F401\n")
    (root / ".chalice").mkdir()
    (root / ".chalice" / "config.json").write_text(json.dumps({"version": "2.0", "app_name": name, "stages": {"dev": {
        "api_gateway_endpoint_type": "REGIONAL", "api_gateway_custom_domain": {
            "domain_name": domain, "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            "url_prefix": "v1", "tags": {"team": "web"}}}}}))
    done = invoke(root, "deploy", "--json")
    api_id = json.loads(done.stdout)["rest_api"]["us-east-1"]["id"]
    client = boto3.client("apigateway")
    found = client.get_domain_name(domainName=domain)
    assert found["regionalCertificateArn"].endswith("certificate/abc") and found["securityPolicy"] == "TLS_1_2"
    assert client.get_base_path_mappings(domainName=domain)["items"] == [
        {"basePath": "v1", "restApiId": api_id, "stage": "api"}]
    assert f"custom domain {domain} [us-east-1]: create the domain name, map /v1 to the API; point its DNS at " \
           f"{found['regionalDomainName']}" in done.stderr

    with recording_proxy(os.environ["AWS_ENDPOINT_URL"]) as (proxy, calls):
        again = invoke(root, "deploy", endpoint=proxy)
    assert calls and [c for c in calls if is_write(c)] == []  # a second deploy writes nothing
    assert f"custom domain {domain} [us-east-1]: up to date" in again.stdout

    invoke(root, "delete")
    with pytest.raises(client.exceptions.NotFoundException):
        client.get_domain_name(domainName=domain)
