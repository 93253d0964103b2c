"""The deploy matrix, functions x regions, deployed side by side: the scheduler, the pure matrix and its table,
and against moto's server a matrix where one region refuses (injected: moto never refuses)."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_helpers import FakeBuild, client_error, create_role, zip_sections

from lambda_tasks.aws import clients as aws
from lambda_tasks.config import FunctionSpec
from lambda_tasks.deploy.functions import deploy_functions
from lambda_tasks.deploy.matrix import Failure, deploy_matrix, failure_message, plan_table
from lambda_tasks.deploy.parallel import Scheduler
from lambda_tasks.deploy.steps import FunctionStep
from lambda_tasks.errors import DeployError
from lambda_tasks.report import Reporter

REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]

# ---------------------------------------------------------------- the scheduler


def test_the_scheduler_runs_at_most_n_jobs_at_once_and_jobs_may_add_jobs() -> None:
    lock, state = threading.Lock(), {"now": 0, "most": 0, "ran": 0}
    scheduler = Scheduler(3)

    def job() -> None:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
            state["ran"] += 1

    def parent() -> None:
        for _ in range(4):
            scheduler.submit(job)

    for _ in range(3):
        scheduler.submit(parent)
    started = time.monotonic()
    scheduler.run()
    assert state["ran"] == 12 and state["most"] == 3
    assert time.monotonic() - started < 12 * 0.05  # side by side


def test_one_worker_runs_in_the_calling_thread_in_order() -> None:
    seen: list[tuple[int, str]] = []
    scheduler = Scheduler(1)
    for n in range(3):
        scheduler.submit(lambda n=n: seen.append((n, threading.current_thread().name)))
    scheduler.run()
    assert seen == [(n, threading.current_thread().name) for n in range(3)]


def test_what_escapes_a_job_stops_the_rest_and_is_raised() -> None:
    ran: list[int] = []
    scheduler = Scheduler(2)

    def boom() -> None:
        raise KeyboardInterrupt

    scheduler.submit(boom)
    for n in range(50):
        scheduler.submit(lambda n=n: (time.sleep(0.01), ran.append(n)))
    with pytest.raises(KeyboardInterrupt):
        scheduler.run()
    assert len(ran) < 50


# ---------------------------------------------------------------- pure


def test_the_matrix_takes_each_functions_own_regions() -> None:
    api, edge = FunctionSpec("api"), FunctionSpec("edge", regions=("us-east-1",))
    extra = FunctionSpec("eu", regions=("eu-central-1",))
    pairs = deploy_matrix([api, edge, extra], ["us-east-1", "eu-west-1"])
    assert [(region, spec.name) for region, spec in pairs] == [
        ("us-east-1", "api"), ("us-east-1", "edge"), ("eu-west-1", "api"), ("eu-central-1", "eu")]


def test_plan_table_and_failure_message() -> None:
    api, edge = FunctionSpec("api"), FunctionSpec("edge", regions=("us-east-1",))
    pairs = deploy_matrix([api, edge], ["us-east-1", "eu-west-1"])
    steps = [FunctionStep("us-east-1", api, {}, "create"), FunctionStep("us-east-1", edge, {}, "none"),
             FunctionStep("eu-west-1", api, {}, "update", code=True, config=["MemorySize"])]
    assert plan_table(pairs, steps, []) == [
        "function  us-east-1   eu-west-1",
        "api       create      update code+config",
        "edge      up to date  -"]
    failures = [Failure("eu-west-1", "api", "cannot read function api: AccessDeniedException: no")]
    assert plan_table(pairs, steps[:2], failures)[1] == "api       create      FAILED"
    message = failure_message(failures, 3).splitlines()
    assert message[0] == "deploy failed for 1 of 3 functions x regions: api [eu-west-1]"
    assert message[1] == "  function api [eu-west-1]: failed: cannot read function api: AccessDeniedException: no"
    many = [Failure("eu-west-1", f"function-{n:02d}", "x") for n in range(30)]
    assert len(failure_message(many, 90).splitlines()[0]) < 160


# ---------------------------------------------------------------- moto's server


def denying(region: str, calls: dict[str, int]) -> aws.Clients:
    """Clients for which every Lambda call in ``region`` is refused, as AWS refuses an SCP-denied region."""
    def attach(service: str, client_region: str, client: Any) -> None:
        def count(**_: Any) -> None:
            calls[client_region] = calls.get(client_region, 0) + 1

        client.meta.events.register("before-call.lambda", count)
        if service == "lambda" and client_region == region:
            def deny(**_: Any) -> None:
                raise client_error("AccessDeniedException", "User is not authorized to perform this action", 403,
                                   "Lambda")

            client.meta.events.register_first("before-send.lambda", deny)

    return aws.Clients(on_client=attach)


@pytest.mark.slow
def test_a_region_that_refuses_fails_its_functions_and_the_others_are_deployed(moto_env, unique_name,
                                                                             tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "def handler(e, c): pass\n"}, [{"a.py": "a"}])
    names = [unique_name("f"), unique_name("g")]
    settings = build.settings(functions=[{"name": name} for name in names], role=role, regions=REGIONS,
                              max_parallel=4)
    out, calls = io.StringIO(), {}
    with pytest.raises(DeployError) as info:
        deploy_functions(*zip_sections(settings), build.manifest(), clients=denying("eu-west-1", calls), reporter=Reporter(out),
                         sleep=lambda _: None)
    lines = str(info.value).splitlines()
    assert lines[0] == f"deploy failed for 2 of 6 functions x regions: {names[0]} [eu-west-1], {names[1]} [eu-west-1]"
    assert all("its layers were not published: cannot" in line and "AccessDeniedException" in line
               for line in lines[1:3]), lines
    printed = out.getvalue().splitlines()
    for region in ("us-east-1", "us-west-2"):
        for name in names:
            assert f"function {name} [{region}]: created" in printed
            assert boto3.client("lambda", region_name=region).get_function(FunctionName=name)
    assert sum(line.endswith(": failed: " + lines[1].split(": failed: ")[1]) for line in printed) >= 1
    assert "functions x regions: 4 of 6 deployed (2 function(s) in 3 region(s), 4 at once) in " in out.getvalue()
    # the manifest recorded the layer in the regions that took it
    published = build.manifest().layers[0].published
    assert sorted(published) == ["us-east-1", "us-west-2"]


@pytest.mark.slow
def test_plan_shows_the_matrix_and_per_function_regions(moto_env, unique_name, tmp_path: Path) -> None:
    role = create_role(unique_name("role"))
    build = FakeBuild(tmp_path, unique_name("deps"))
    build.build({"app.py": "def handler(e, c): pass\n"}, [{"a.py": "a"}])
    api, edge = unique_name("api"), unique_name("edge")
    flags = {"functions": [{"name": api}, {"name": edge, "regions": ["us-east-1"]}], "role": role,
             "regions": ["us-east-1", "eu-west-1"]}
    out = io.StringIO()
    result = deploy_functions(*zip_sections(build.settings(**flags)), build.manifest(), reporter=Reporter(out), plan=True,
                              sleep=lambda _: None)
    assert result.matrix == [("us-east-1", api), ("us-east-1", edge), ("eu-west-1", api)]
    text = out.getvalue()
    table = text[text.index("plan: functions x regions"):].splitlines()[1:4]
    assert [row.split() for row in table] == [["function", "us-east-1", "eu-west-1"], [api, "create", "create"],
                                              [edge, "create", "-"]]
    deploy_functions(*zip_sections(build.settings(**flags)), build.manifest(), reporter=Reporter(io.StringIO()),
                     sleep=lambda _: None)
    with pytest.raises(Exception, match=r"Function not found|ResourceNotFound"):
        boto3.client("lambda", region_name="eu-west-1").get_function(FunctionName=edge)
    assert boto3.client("lambda", region_name="us-east-1").get_function(FunctionName=edge)
