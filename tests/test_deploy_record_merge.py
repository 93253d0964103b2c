"""What the deploy record keeps across deploys: a region this deploy did not cover keeps what the last deploy made
there (and nothing there is taken away); a part that failed keeps its last entries, for the next run."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

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


def test_delete_without_a_record_says_where_it_looked(tmp_path):
    from lambda_tasks.deploy.teardown import delete
    from lambda_tasks.errors import DeployError

    path = deploy_record.record_path(tmp_path, "prod")
    with pytest.raises(DeployError, match=r"no deploy record for stage 'prod' at .*deployed/prod.json"):
        delete(path, "prod", clients=Clients(), reporter=Reporter(stream=io.StringIO()), plan=True, keep_layers=False)


def test_delete_plan_lists_in_order_and_keeps_layers_on_request(tmp_path):
    from lambda_tasks.deploy.teardown import delete

    path = tmp_path / "deployed" / "dev.json"
    record = old_record(path)
    record.region("us-east-1").layers.append("arn:aws:lambda:us-east-1:123456789012:layer:deps:3")
    deploy_record.save(record, path)
    result = delete(path, "dev", clients=Clients(), reporter=Reporter(stream=io.StringIO()), plan=True,
                    keep_layers=True)
    assert result.removed == [
        "EventBridge rule rule-eu-west-1 [eu-west-1]", "the REST API api-eu-west-1 [eu-west-1]",
        "function app-dev [eu-west-1]", "EventBridge rule rule-us-east-1 [us-east-1]",
        "the REST API api-us-east-1 [us-east-1]", "function app-dev [us-east-1]", "IAM role app-dev [global]"]
    assert path.exists()  # a plan deletes nothing, the record too
