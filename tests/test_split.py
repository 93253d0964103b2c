"""The layer splitter: packing, limits and their messages, stability, pins, the layer table."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_tasks.assemble.split import Budget, Unit, pack
from lambda_tasks.errors import MAX_FIRST_LINE, LimitError
from lambda_tasks.report import layer_table

MB = 1_048_576
CAP = 50 * MB
LIMIT = 250 * MB


def budget(max_layers: int = 5, cap: int = CAP, total: int = LIMIT, s3: bool = False) -> Budget:
    return Budget(max_layers, cap, LIMIT, total, s3)


def u(name: str, zip_mb: float, unzipped_mb: float | None = None) -> Unit:
    zipped = int(zip_mb * MB)
    return Unit(name, zipped, int(unzipped_mb * MB) if unzipped_mb is not None else zipped * 2)


def as_previous(layers: list[list[str]]) -> dict[str, int]:
    return {name: i for i, layer in enumerate(layers, 1) for name in layer}


def changed(before: list[list[str]], after: list[list[str]]) -> set[int]:
    """1-based layer numbers whose contents differ."""
    size = max(len(before), len(after))
    pad = lambda layers: layers + [[]] * (size - len(layers))  # noqa: E731
    return {i for i, (a, b) in enumerate(zip(pad(before), pad(after), strict=False), 1) if a != b}


def check_layers(units: list[Unit], layers: list[list[str]], b: Budget) -> None:
    by_name = {x.name: x for x in units}
    placed = [name for layer in layers for name in layer]
    assert sorted(placed) == sorted(by_name)
    assert len(layers) <= b.max_layers
    for layer in layers:
        assert layer and layer == sorted(layer)
        assert sum(by_name[n].zip_bytes for n in layer) <= b.layer_zip_bytes
        assert sum(by_name[n].unzipped_bytes for n in layer) <= b.layer_unzipped_bytes


# -- packing -----------------------------------------------------------------------------------


def test_nothing_to_pack() -> None:
    assert pack([], budget()) == []


def test_fits_in_one() -> None:
    units = [u("requests", 0.5), u("urllib3", 0.4), u("idna", 0.2)]
    assert pack(units, budget()) == [["idna", "requests", "urllib3"]]


def test_needs_three() -> None:
    units = [u("a", 30), u("b", 30), u("c", 30), u("d", 15), u("e", 15)]
    layers = pack(units, budget())
    check_layers(units, layers, budget())
    assert layers == [["a", "d"], ["b", "e"], ["c"]]


def test_first_fit_decreasing_minimises_layers() -> None:
    units = [u("x1", 10), u("x2", 20), u("x3", 30), u("x4", 40)]
    assert pack(units, budget()) == [["x1", "x4"], ["x2", "x3"]]


def test_exact_cap_fits_and_one_byte_more_does_not() -> None:
    b = budget(max_layers=1)
    assert pack([Unit("a", CAP - 100, 1), Unit("b", 100, 1)], b) == [["a", "b"]]
    with pytest.raises(LimitError, match="need 2 layers"):
        pack([Unit("a", CAP - 100, 1), Unit("b", 101, 1)], b)
    assert pack([Unit("big", CAP, 1)], b) == [["big"]]
    with pytest.raises(LimitError, match="needs s3_bucket"):
        pack([Unit("big", CAP + 1, 1)], b)


def test_exact_unzipped_budget() -> None:
    b = budget(total=100 * MB)
    assert pack([Unit("a", MB, 60 * MB), Unit("b", MB, 40 * MB)], b) == [["a", "b"]]
    with pytest.raises(LimitError, match="unzipped"):
        pack([Unit("a", MB, 60 * MB), Unit("b", MB, 40 * MB + 1)], b)


def test_per_layer_unzipped_cap_splits_layers() -> None:
    b = Budget(5, CAP, 100 * MB, LIMIT)
    layers = pack([Unit("a", MB, 60 * MB), Unit("b", MB, 60 * MB)], b)
    assert layers == [["a"], ["b"]]


def test_deterministic_under_shuffle() -> None:
    units = [u(f"dist{i:02d}", ((i * 7) % 23 + 1) / 5) for i in range(40)]
    expected = pack(units, budget())
    previous = as_previous(expected)
    grown = [Unit(x.name, x.zip_bytes + MB, x.unzipped_bytes) if x.name == "dist05" else x for x in units]
    sticky = pack(grown, budget(), previous)
    rng = random.Random(7)
    for _ in range(10):
        shuffled = units[:]
        rng.shuffle(shuffled)
        assert pack(shuffled, budget()) == expected
        rng.shuffle(grown)
        assert pack(grown, budget(), dict(reversed(list(previous.items())))) == sticky


def test_duplicate_unit_is_a_bug() -> None:
    with pytest.raises(ValueError):
        pack([u("a", 1), u("a", 2)], budget())


# -- over budget ---------------------------------------------------------------------------------


def test_total_unzipped_over_budget() -> None:
    units = [u(f"pkg{i:02d}", 1, 12) for i in range(12)] + [u("boto3", 1, 1), u("botocore", 10, 80)]
    with pytest.raises(LimitError) as info:
        pack(units, budget(total=200 * MB))
    message = str(info.value)
    first = message.splitlines()[0]
    assert first == "layers over the unzipped size limit: the dependencies need 225.0 MiB, 200.0 MiB is left for layers"
    assert all(line.startswith("  ") for line in message.splitlines()[1:])  # the detail, indented
    assert "225.0 MiB (235,929,600 bytes)" in message  # the total
    assert "200.0 MiB (209,715,200 bytes)" in message  # what is left for layers
    assert "262,144,000" in message  # Lambda's limit
    largest = message.split("largest: ")[1].split("\n")[0].split(", ")
    assert len(largest) == 10
    assert largest[0].startswith("botocore 80.0 MiB unzipped")
    assert "boto3" not in "".join(largest)  # only the ten largest
    assert "exclude_runtime_provided = true" in message and "boto3, botocore" in message
    assert "slim = true" in message and "container image" in message and "extras" in message
    assert "s3_bucket" not in message  # S3 does not help the unzipped total


def test_runtime_advice_only_when_such_units_are_present() -> None:
    with pytest.raises(LimitError) as info:
        pack([u("numpy", 30, 120), u("scipy", 40, 160)], budget())
    assert "exclude_runtime_provided" not in str(info.value)
    assert "numpy 120.0 MiB unzipped" in str(info.value)


def test_one_unit_over_inline_cap_needs_s3() -> None:
    with pytest.raises(LimitError) as info:
        pack([u("torch", 60, 200), u("six", 0.1)], budget())
    message = str(info.value)
    assert message.startswith("torch alone is 60.0 MiB zipped, over the 50.0 MiB cap of a zip uploaded inline")
    assert "torch: 60.0 MiB (62,914,560 bytes) zipped" in message
    assert "50.0 MiB (52,428,800 bytes)" in message and "needs s3_bucket" in message
    assert "largest: torch 200.0 MiB unzipped (60.0 MiB zipped), six" in message
    assert f"200.2 MiB ({200 * MB + 2 * int(0.1 * MB):,} bytes) unzipped" in message  # the total


def test_one_unit_over_s3_cap_cannot_fit() -> None:
    b = budget(cap=LIMIT - 1, s3=True)
    with pytest.raises(LimitError) as info:
        pack([Unit("blob", LIMIT, LIMIT)], Budget(5, LIMIT - 1, LIMIT, LIMIT, True))
    assert "cannot fit in any layer" in str(info.value)
    assert "needs s3_bucket" not in str(info.value)
    assert b.s3


def test_one_unit_over_layer_unzipped_cap_cannot_fit() -> None:
    b = Budget(5, CAP, 100 * MB, LIMIT)
    with pytest.raises(LimitError) as info:
        pack([Unit("huge", MB, 100 * MB + 1), u("botocore", 1)], b)
    message = str(info.value)
    assert "huge alone is" in message and "cannot fit in any layer" in message
    assert "100.0 MiB (104,857,600 bytes)" in message
    assert "exclude_runtime_provided = true" in message


def test_needs_more_than_max_layers() -> None:
    units = [u(f"d{i}", 40, 45) for i in range(4)]
    with pytest.raises(LimitError) as info:
        pack(units, budget(max_layers=3))
    message = str(info.value)
    assert "need 4 layers" in message and "only 3 may be used" in message
    assert "150.0 MiB (157,286,400 bytes) zipped" in message  # the limit: 3 x cap
    assert "160.0 MiB (167,772,160 bytes) zipped" in message  # the total
    assert "set s3_bucket" in message and "fewer extra_layers" in message
    assert message.count("d0 45.0 MiB unzipped") == 1


def test_needs_more_layers_with_s3_gives_no_s3_advice() -> None:
    with pytest.raises(LimitError) as info:
        pack([u("a", 40, 40), u("b", 40, 40)], budget(max_layers=1, s3=True))
    assert "s3_bucket" not in str(info.value)


def test_extra_layers_reduce_the_layer_budget() -> None:
    units = [u(f"d{i}", 30, 30) for i in range(5)]
    check_layers(units, pack(units, budget(max_layers=5)), budget(max_layers=5))
    with pytest.raises(LimitError, match="only 4 may be used"):
        pack(units, budget(max_layers=4))


# -- stability -----------------------------------------------------------------------------------


BASE = [u("a", 20), u("b", 20), u("c", 5), u("d", 30), u("e", 10), u("f", 25), u("g", 3)]
FIRST = [["d", "e", "g"], ["a", "b", "c"], ["f"]]  # 43, 45 and 25 MiB: a valid earlier layout


def test_base_layout() -> None:
    assert pack(BASE, budget()) == [["a", "d"], ["b", "c", "f"], ["e", "g"]]


def test_previous_assignment_is_kept_as_is() -> None:
    assert pack(BASE, budget(), as_previous(FIRST)) == FIRST
    first = pack(BASE, budget())
    assert pack(BASE, budget(), as_previous(first)) == first
    odd = {"a": 3, "b": 3, "c": 1, "d": 1, "e": 2, "f": 2, "g": 1}  # not what a fresh pack gives
    assert pack(BASE, budget(), odd) == [["c", "d", "g"], ["e", "f"], ["a", "b"]]


def test_adding_a_small_unit_changes_one_layer() -> None:
    first = FIRST
    second = pack([*BASE, u("new", 2)], budget(), as_previous(first))
    assert changed(first, second) == {1}
    assert "new" in second[0]


def test_adding_a_unit_that_fits_nowhere_opens_a_new_layer() -> None:
    first = FIRST
    second = pack([*BASE, u("new", 45, 20)], budget(), as_previous(first))
    assert second[:3] == first and second[3] == ["new"]


def test_removing_a_unit_changes_only_its_layer() -> None:
    first = FIRST
    second = pack([x for x in BASE if x.name != "a"], budget(), as_previous(first))
    assert changed(first, second) == {2}
    assert second[1] == ["b", "c"]


def test_emptied_middle_layer_is_refilled_from_the_top() -> None:
    first = FIRST
    second = pack([x for x in BASE if x.name not in {"a", "b", "c"}], budget(), as_previous(first))
    assert second == [["d", "e", "g"], ["f"]]


def test_growing_a_unit_moves_it_alone() -> None:
    first = FIRST  # [[d30 e10 g3], [a20 b20 c5], [f25]]
    grown = [Unit("c", 15 * MB, 30 * MB) if x.name == "c" else x for x in BASE]
    second = pack(grown, budget(), as_previous(first))
    assert changed(first, second) == {2, 3}
    assert second == [["d", "e", "g"], ["a", "b"], ["c", "f"]]


def test_growing_a_unit_that_fits_stays() -> None:
    first = FIRST
    grown = [Unit("e", 16 * MB, 30 * MB) if x.name == "e" else x for x in BASE]
    assert pack(grown, budget(), as_previous(first)) == first


def test_stale_names_and_out_of_range_layers_are_ignored() -> None:
    previous = {"gone": 1, "a": 9, "b": 2}
    assert pack([u("a", 1), u("b", 1)], budget(max_layers=3), previous) == [["a"], ["b"]]
    assert pack([u("b", 1)], budget(max_layers=3), previous) == [["b"]]  # no hole at layer 1


def test_falls_back_to_fresh_packing_when_sticky_needs_too_many_layers() -> None:
    units = [u("a", 30), u("b", 30), u("c", 20), u("d", 20)]
    previous = {"a": 1, "c": 1, "b": 2}  # sticky would need a third layer for d
    layers = pack(units, budget(max_layers=2), previous)
    check_layers(units, layers, budget(max_layers=2))
    assert layers == [["a", "c"], ["b", "d"]]


def test_fresh_fallback_is_numbered_like_the_previous_layers() -> None:
    units = [u("a", 30), u("b", 30), u("c", 20), u("d", 20)]
    previous = {"b": 1, "d": 1, "a": 2, "c": 3}
    layers = pack(units, budget(max_layers=2), previous)
    assert layers == [["b", "d"], ["a", "c"]]


# -- pins ----------------------------------------------------------------------------------------


def test_pins_are_honoured_and_keep_their_layer_apart() -> None:
    units = [u("boto3", 1), u("botocore", 10), u("numpy", 15), u("six", 0.1)]
    layers = pack(units, budget(), groups={"botocore": 2, "Boto3": 2})
    assert layers == [["numpy", "six"], ["boto3", "botocore"]]


def test_pins_for_absent_units_are_ignored() -> None:
    assert pack([u("a", 1)], budget(), groups={"nothere": 3}) == [["a"]]


def test_pin_over_the_cap_is_an_error_naming_unit_and_layer() -> None:
    units = [u("numpy", 30), u("scipy", 30), u("six", 1)]
    with pytest.raises(LimitError) as info:
        pack(units, budget(), groups={"numpy": 2, "scipy": 2})
    message = str(info.value)
    assert message.startswith("layer_groups pins scipy to layer 2")
    assert "numpy" in message and "52,428,800" in message


def test_pin_beyond_max_layers_is_an_error() -> None:
    with pytest.raises(LimitError, match=r"pins a to layer 4, but only layers 1\.\.3"):
        pack([u("a", 1)], budget(max_layers=3), groups={"a": 4})


def test_high_pin_fills_the_layers_below_it() -> None:
    units = [u("a", 1), u("b", 2), u("c", 3), u("pinned", 1)]
    layers = pack(units, budget(), groups={"pinned": 4})
    check_layers(units, layers, budget())
    assert layers[3] == ["pinned"] and len(layers) == 4


def test_high_pin_with_too_few_units_below_is_an_error() -> None:
    with pytest.raises(LimitError, match="pins pinned to layer 5, but layer 3 below it would be empty"):
        pack([u("a", 1), u("b", 2), u("pinned", 1)], budget(), groups={"pinned": 5})


def test_pins_override_the_previous_layer() -> None:
    first = FIRST
    second = pack(BASE, budget(), as_previous(first), groups={"g": 3})
    assert "g" in second[2] and second[2] == ["g"]
    check_layers(BASE, second, budget())


# -- the property --------------------------------------------------------------------------------


unit_lists = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 120)), min_size=0, max_size=25,
).map(lambda sizes: [Unit(f"u{i}", z, z + extra) for i, (z, extra) in enumerate(sizes)])


@settings(max_examples=300, deadline=None)
@given(
    units=unit_lists,
    max_layers=st.integers(1, 5),
    cap=st.integers(40, 120),
    layer_unzipped=st.integers(60, 300),
    total=st.integers(100, 2000),
    previous=st.dictionaries(st.sampled_from([f"u{i}" for i in range(30)]), st.integers(1, 6)),
    groups=st.dictionaries(st.sampled_from([f"u{i}" for i in range(30)]), st.integers(1, 5), max_size=3),
)
@pytest.mark.slow
def test_property_every_unit_in_exactly_one_layer_within_caps(
    units: list[Unit], max_layers: int, cap: int, layer_unzipped: int, total: int,
    previous: dict[str, int], groups: dict[str, int],
) -> None:
    b = Budget(max_layers, cap, layer_unzipped, total)
    try:
        layers = pack(units, b, previous, groups)
    except LimitError as error:
        first, *detail = str(error).splitlines()
        assert len(first) <= MAX_FIRST_LINE and all(line.startswith("  ") for line in detail)
        return
    check_layers(units, layers, b)
    assert sum(x.unzipped_bytes for x in units) <= total
    by_layer = {name: i for i, layer in enumerate(layers, 1) for name in layer}
    for name, layer in groups.items():
        if name in by_layer:
            assert by_layer[name] == layer
    assert pack(list(reversed(units)), b, previous, groups) == layers


# -- the layer table -----------------------------------------------------------------------------


def test_layer_table() -> None:
    rows = [
        ("app-deps-1", 40 * MB, 120 * MB, ["pandas", "numpy"]),
        ("app-deps-2", 5 * MB, 12 * MB, [f"package-number-{i}" for i in range(12)]),
    ]
    lines = layer_table(rows, CAP)
    assert lines[0].split() == ["layer", "zipped", "unzipped", "%", "cap", "distributions"]
    assert lines[1].split()[:8] == ["app-deps-1", "40.0", "MiB", "120.0", "MiB", "80%", "numpy,", "pandas"]
    assert "10%" in lines[2] and "package-number-0," in lines[2]
    continuation = [line for line in lines[3:] if line.startswith(" ")]
    assert continuation and all(len(line) <= 110 for line in lines)
    assert sum(line.count("package-number-") for line in lines) == 12
    assert lines[-1].split()[0] == "total" and "14 distributions in 2 layers" in lines[-1]
    assert "45.0 MiB" in lines[-1] and "132.0 MiB" in lines[-1]


def test_layer_table_single_row_has_no_total() -> None:
    lines = layer_table([("x-1", 100, 200, ["a"])], 0)
    assert len(lines) == 2 and "-" in lines[1].split()


small_units = st.lists(st.integers(1, 30), min_size=1, max_size=12).map(
    lambda sizes: [Unit(f"u{i}", z, 2 * z) for i, z in enumerate(sizes)]
)
SMALL = Budget(max_layers=5, layer_zip_bytes=50, layer_unzipped_bytes=120, total_unzipped_bytes=1000)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(units=small_units, new=st.integers(1, 30), index=st.integers(0, 11), growth=st.integers(1, 30))
def test_property_add_remove_grow_touch_few_layers(units: list[Unit], new: int, index: int, growth: int) -> None:
    try:
        first = pack(units, SMALL)
    except LimitError:
        return
    previous = as_previous(first)
    room = len(first) < SMALL.max_layers  # the sticky packing can always open one more layer
    if room:  # with no room left, a fresh packing may be needed (or nothing fits)
        added = pack([*units, Unit("zz-new", new, 2 * new)], SMALL, previous)
        assert len(changed(first, added)) == 1
    gone = units[index % len(units)]
    removed = pack([x for x in units if x != gone], SMALL, previous)
    assert len(changed(first, removed)) <= 2
    assert all(previous[n] == i for i, layer in enumerate(removed, 1) for n in layer) or len(removed) < len(first)
    bigger = Unit(gone.name, min(50, gone.zip_bytes + growth), 2 * min(50, gone.zip_bytes + growth))
    if room:
        grown = pack([bigger if x == gone else x for x in units], SMALL, previous)
        assert len(changed(first, grown)) <= 2
        assert previous[gone.name] in changed(first, grown) or grown == first
