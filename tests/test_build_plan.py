"""The build plan (assemble/plan.py): which parts are fresh for given fingerprints, last manifest, files on disk,
``force`` and a shared cache. Pure: no project, no files."""

import pytest

from lambda_tasks.assemble.plan import plan_build
from lambda_tasks.manifest import Artifact, BillOfMaterials, Manifest

INPUTS = {"app": "a1", "layers": "l1"}


def _manifest(inputs, bom=None):
    return Manifest(runtime="python3.12", architecture="x86_64", app=Artifact("dist/app.zip", "0" * 64, 1, 1),
                    layers=[], inputs=dict(inputs), bill_of_materials=bom)


def _present(*parts):
    asked = []

    def present(which):
        asked.append(which)
        return which in parts

    present.asked = asked
    return present


def test_no_last_build_makes_everything_and_asks_no_file():
    present = _present("app", "layers")
    plan = plan_build(INPUTS, None, present)
    assert (plan.app_fresh, plan.layers_fresh, plan.image_fresh, plan.up_to_date) == (False, False, False, False)
    assert present.asked == []
    assert plan.kept_bill_of_materials is None


def test_same_fingerprints_and_files_present_is_up_to_date():
    bom = BillOfMaterials("layers/pylock.toml", "f" * 64, 3)
    plan = plan_build(INPUTS, _manifest(INPUTS, bom), _present("app", "layers"), shared_cache=True)
    assert plan.up_to_date and plan.app_fresh and plan.layers_fresh
    assert not plan.ask_cache  # fresh layers are never looked up
    assert plan.kept_bill_of_materials == bom


@pytest.mark.parametrize(("changed", "app", "layers"), [("app", False, True), ("layers", True, False)])
def test_a_changed_fingerprint_makes_only_its_part(changed, app, layers):
    inputs = {**INPUTS, changed: "new"}
    present = _present("app", "layers")
    plan = plan_build(inputs, _manifest(INPUTS), present, shared_cache=True)
    assert (plan.app_fresh, plan.layers_fresh, plan.up_to_date) == (app, layers, False)
    assert plan.ask_cache == (not layers)
    assert changed not in present.asked  # the files are not looked at for a part that is stale anyway
    assert plan.inputs == inputs


def test_a_missing_or_changed_file_makes_its_part_again():
    plan = plan_build(INPUTS, _manifest(INPUTS), _present("app"))
    assert (plan.app_fresh, plan.layers_fresh, plan.up_to_date) == (True, False, False)
    assert plan.kept_bill_of_materials is None  # the layers are made again: their BOM too


def test_force_makes_everything_and_skips_the_shared_cache():
    present = _present("app", "layers")
    plan = plan_build(INPUTS, _manifest(INPUTS), present, force=True, shared_cache=True)
    assert (plan.app_fresh, plan.layers_fresh, plan.up_to_date, plan.ask_cache) == (False, False, False, False)
    assert plan.force and present.asked == []


def test_the_shared_cache_is_asked_only_for_stale_zip_layers():
    stale = {**INPUTS, "layers": "l2"}
    assert plan_build(stale, _manifest(INPUTS), _present(), shared_cache=True).ask_cache
    assert plan_build(stale, None, _present(), shared_cache=True).ask_cache
    assert not plan_build(stale, _manifest(INPUTS), _present()).ask_cache  # no cache configured
    image = {**stale, "image": "i1"}
    assert not plan_build(image, _manifest(INPUTS), _present(), image_mode=True, shared_cache=True).ask_cache


def test_an_image_is_up_to_date_only_with_the_same_image_inputs():
    inputs = {**INPUTS, "image": "i1"}
    same = plan_build(inputs, _manifest(inputs), _present("app", "layers"), image_mode=True)
    assert same.up_to_date and same.image_fresh
    other_base = plan_build({**inputs, "image": "i2"}, _manifest(inputs), _present("app", "layers"), image_mode=True)
    assert other_base.app_fresh and other_base.layers_fresh and not other_base.image_fresh
    assert not other_base.up_to_date
    was_zip = plan_build(inputs, _manifest(INPUTS), _present("app", "layers"), image_mode=True)
    assert not was_zip.up_to_date


def test_the_plan_is_frozen():
    plan = plan_build(INPUTS, None, _present())
    with pytest.raises(AttributeError):
        plan.force = True  # type: ignore[misc]
