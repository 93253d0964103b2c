"""What the deploy record keeps across deploys: a region this deploy did not cover keeps what the last deploy made
there (and nothing there is taken away); a part that failed keeps its last entries, for the next run."""

from __future__ import annotations

import io
from pathlib import Path

from lambda_tasks.app_model import ApiSettings
from lambda_tasks.aws.clients import Clients
from lambda_tasks.config import FunctionSpec
from lambda_tasks.deploy import deploy_record
from lambda_tasks.deploy.app_wiring import AppResult, AppWiring, _record, deploy_app
from lambda_tasks.deploy.deployer import DeployResult
from lambda_tasks.deploy.steps import FunctionStep
from lambda_tasks.report import Reporter

ARN = "arn:aws:lambda:{}:123456789012:function:app-dev"


def old_record(path: Path) -> deploy_record.DeployRecord:
    record = deploy_record.DeployRecord("app", "dev", "app-dev")
    for region in ("us-east-1", "eu-west-1"):
        kept = record.region(region)
        kept.functions["app"] = ARN.format(region)
        kept.rest_api = {"id": f"api-{region}", "url": "https://x"}
        kept.events.append({"kind": "rule", "name": f"rule-{region}"})
    deploy_record.save(record, path)
    return record


def result_in(region: str) -> DeployResult:
    result = DeployResult()
    result.functions.append(FunctionStep(region, FunctionSpec("app-dev", short_name="app"), {}, "none",
                                         arn=ARN.format(region)))
    return result


def test_a_deploy_to_one_region_leaves_the_others_recorded_and_untouched(tmp_path):
    path = tmp_path / "deployed" / "dev.json"
    old_record(path)
    wiring = AppWiring(None, ApiSettings(), "app", "dev", path)
    out = io.StringIO()
    app = deploy_app(wiring, result_in("us-east-1"), clients=Clients(), reporter=Reporter(stream=out), plan=True)
    # us-east-1: the app has no routes and no rule now, so the last deploy's API and rule would go; eu-west-1: kept
    assert app.removed == ["would remove EventBridge rule rule-us-east-1 [us-east-1]",
                           "would remove the REST API api-us-east-1 (the app has no routes) [us-east-1]"]


def test_a_failed_part_keeps_its_last_entries(tmp_path):
    path = tmp_path / "deployed" / "dev.json"
    old = old_record(path)
    wiring = AppWiring(None, ApiSettings(), "app", "dev", path)
    record = _record(wiring, result_in("us-east-1"), AppResult(failures=["rule: failed"]), old,
                     {"us-east-1": {"app": ARN.format("us-east-1")}})
    assert record.regions["eu-west-1"] == old.regions["eu-west-1"]
    assert record.regions["us-east-1"].events == [{"kind": "rule", "name": "rule-us-east-1"}]
    assert record.regions["us-east-1"].rest_api == {"id": "api-us-east-1", "url": "https://x"}
