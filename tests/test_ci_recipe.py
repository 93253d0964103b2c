"""examples/ci/github-actions.yml: a valid workflow (GitHub's schema, as check-jsonschema vendors it) that does what
the README's CI section says."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

RECIPE = Path(__file__).resolve().parent.parent / "examples" / "ci" / "github-actions.yml"


def steps() -> list[dict]:
    workflow = yaml.safe_load(RECIPE.read_text())
    (job,) = workflow["jobs"].values()
    return job["steps"]


def test_the_recipe_caches_builds_plans_on_pull_requests_and_deploys_main():
    workflow = yaml.safe_load(RECIPE.read_text())
    assert workflow["permissions"]["id-token"] == "write"  # OIDC, no stored keys
    by_run = {step.get("run", "").split("#")[0].strip(): step for step in steps()}
    cache = next(step for step in steps() if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "~/.cache/lambda-tasks"
    assert all(name in cache["with"]["key"] for name in ("uv.lock", "poetry.lock", "requirements*.txt", "pylock"))
    assert "invoke build --report" in by_run
    assert by_run["invoke deploy --plan"]["if"].startswith("github.event_name == 'pull_request'")
    assert "refs/heads/main" in by_run["invoke deploy"]["if"]
    uploads = [step for step in steps() if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert all("layers/manifest.json" in step["with"]["path"] for step in uploads) and len(uploads) == 2
    credentials = next(step for step in steps() if "configure-aws-credentials" in step.get("uses", ""))
    assert "role-to-assume" in credentials["with"] and "aws-access-key-id" not in credentials["with"]


@pytest.mark.slow
def test_the_recipe_is_a_valid_github_workflow():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows", str(RECIPE)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
