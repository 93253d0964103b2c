"""pip's real failure output, captured from every pip release line lambda-tasks supports (23.1, 24.3.1, 25.2, 25.3,
26.3: tests/data/pip_messages/capture.py), read by the classifier: a conflict is named as a conflict with both
sides, a package with nothing for the target with what asked for it, on every release.

pip 25.3+ lists every package of a conflict as having "no matching distributions available for your
environment" (helperdep has a pure wheel in conflict_pins): these fixtures hold that wording too."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_tasks.resolve.failures import failures_error, no_fit_failure
from lambda_tasks.resolve.impossible import Ask, classify, conflict_message, read_causes
from lambda_tasks.resolve.pip import _NO_MATCH
from lambda_tasks.targets import Target

DATA = Path(__file__).parent / "data" / "pip_messages"
VERSIONS = sorted(path.name for path in DATA.iterdir() if path.is_dir())
TARGET = Target("python3.12", "x86_64")
#: each case: the conflict's package and its sides, or the unavailable requirement and its chain, or pip's
#: "No matching distribution found for" requirement (handled before, with the line that asked for it)
CONFLICTS = {
    "conflict_pins": ("helperdep", ["helperdep==1.0 (requirements.txt)", "helperdep<1 (from needsold 1.0)"]),
    "conflict_ranges": ("shared", ["shared<2 (from lowuser 1.0)", "shared>=2 (from highuser 1.0)"]),
    # pip prints "corelib!=1.29.5, <1.30.0 and >=1.29.0" (boto3==1.26.0 with botocore==1.30.0 on PyPI)
    "conflict_clauses": ("corelib", ["corelib==1.30.0 (requirements.txt)",
                                     "corelib!=1.29.5,<1.30.0,>=1.29.0 (from clientlib 1.0)"]),
    "mix": ("helperdep", ["helperdep==1.0 (requirements.txt)", "helperdep<1 (from needsold 1.0)"]),
}
UNAVAILABLE = {"transitive_unavailable": "pgdriver>=2.7", "transitive_two_parents": "pgdriver>=2.7"}
NO_MATCH = {"direct_unavailable": "winonly==1.0", "direct_and_dependency": "pgdriver",
            "transitive_single": "pgdriver>=2.7"}


def output(version: str, case: str) -> str:
    return (DATA / version / f"{case}.txt").read_text()


def test_every_release_line_and_case_is_captured():
    assert VERSIONS == ["23.1", "24.3.1", "25.2", "25.3", "26.3"]
    for version in VERSIONS:
        assert {path.stem for path in (DATA / version).glob("*.txt")} == {*CONFLICTS, *UNAVAILABLE, *NO_MATCH,
                                                                          "diagnose_index"}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(CONFLICTS))
def test_a_conflict_is_named_as_one_with_both_sides(version, case):
    impossible = classify(output(version, case), "requirements.txt")
    assert impossible is not None and impossible.unavailable == ()
    name, sides = CONFLICTS[case]
    message = conflict_message(impossible.conflicts, "requirements.txt")
    first, *rest = message.splitlines()
    assert first == f"the requirements in requirements.txt conflict: {sides[0]} and {sides[1]}"
    assert rest[0] == f"  {name}: {'; '.join(sides)}"
    assert "loosen one of the pins" in message and "no wheel" not in message


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(UNAVAILABLE))
def test_an_unavailable_dependency_is_named_with_the_chain_that_asked_for_it(version, case):
    impossible = classify(output(version, case), "requirements.txt")
    assert impossible is not None and impossible.conflicts == ()
    (failure,) = impossible.unavailable
    assert failure.requirement == UNAVAILABLE[case] and failure.via == "sqlish, requirements.txt"
    first, *rest = str(failures_error(impossible.unavailable, TARGET)).splitlines()
    assert first == (f"{UNAVAILABLE[case]} (from sqlish, requirements.txt) cannot be installed for "
                     "python3.12/x86_64: no wheel and no usable source distribution")
    assert rest[0] == f"  pip tried 2 version(s) of sqlish: each depends on {UNAVAILABLE[case]}"
    assert "conflict" not in "\n".join(rest) and "loosen" not in "\n".join(rest)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", sorted(NO_MATCH))
def test_no_matching_distribution_is_no_resolution_impossible(version, case):
    text = output(version, case)
    assert classify(text, "requirements.txt") is None
    match = _NO_MATCH.search(text)
    assert match and match.group(1) == NO_MATCH[case]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_wheels_an_index_has_for_other_platforms_are_named(version):
    """``pip download -vv pywin32==311`` on PyPI: an index's links end in "(from https://pypi.org/simple/...)"."""
    failure = no_fit_failure("pywin32==311", output(version, "diagnose_index"), TARGET, "none")
    assert failure.summary == "no distribution fits" and failure.advice == "no-fit"
    assert failure.details[0] == ("its wheels are only for cp312-win32, cp312-win_amd64, cp312-win_arm64; there is "
                                  "no source distribution")


# shapes no capture above holds: pip's wording, other requesters


def causes(*lines: str) -> str:
    return "The conflict is caused by:\n" + "".join(f"    {line}\n" for line in lines) + "\nTo fix this ...\n"


def test_a_parent_s_versions_are_alternatives_not_sides_of_a_conflict():
    text = causes('sqlalchemy[postgresql] 2.0.59 depends on psycopg2>=2.7; extra == "postgresql"',
                  'sqlalchemy[postgresql] 1.3.0 depends on psycopg2<2; extra == "postgresql"')
    impossible = classify(text, "requirements.txt")
    assert impossible is not None and impossible.conflicts == ()
    (failure,) = impossible.unavailable
    assert failure.named == "psycopg2>=2.7 (from sqlalchemy[postgresql], requirements.txt)"
    assert failure.details == ("pip tried 2 version(s) of sqlalchemy[postgresql]: they depend on psycopg2>=2.7 "
                               "or psycopg2<2",)


def test_the_project_s_pin_that_meets_the_dependency_s_range_is_unavailable_not_a_conflict():
    text = causes("The user requested psycopg2==2.9.1", "sqlalchemy 2.0.59 depends on psycopg2>=2.7")
    (failure,) = classify(text, "requirements.txt").unavailable  # type: ignore[union-attr]
    assert failure.named == "psycopg2==2.9.1 (requirements.txt)" and not failure.asked


@pytest.mark.parametrize(("lines", "conflict"), [
    (["The user requested purelib==1.0", "The user requested purelib==2.0"], True),  # two lines of the project
    (["The user requested lib>=1", "The user requested (constraint) lib<1"], True),
    (["a 1.0 depends on lib~=1.4", "b 2.0 depends on lib>=1.5,<1.6"], False),  # 1.5.x fits both: none exists
    (["a 1.0 depends on lib!=1.5", "b 2.0 depends on lib==1.5"], True),
    (["a 1.0 depends on lib==1.*", "b 2.0 depends on lib>=1.9"], False),
    (["a 1.0 depends on lib>2", "b 2.0 depends on lib<=2"], True),
    (["a 1.0 depends on lib @ file:///x/lib-1.whl", "b 2.0 depends on lib @ file:///y/lib-1.whl"], True),
    (['a 1.0 depends on lib>=1, <3 and !=2; extra == "x" and python_version >= "3"', "b 1 depends on lib==2"], True),
    (["a 1.0 depends on lib>=1, <3 and !=2", "b 1 depends on lib==2.5"], False),
    (["a 1.0 depends on lib>>1", "b 1 depends on lib==2.5"], True),  # unreadable: pip's word, a conflict
])
def test_ranges_that_cannot_meet_are_a_conflict(lines, conflict):
    impossible = classify(causes(*lines), "requirements.txt")
    assert impossible is not None and bool(impossible.conflicts) is conflict
    assert bool(impossible.unavailable) is not conflict


def test_a_conflict_and_an_unavailable_package_are_both_named():
    text = causes("The user requested helperdep==1.0", "needsold 1.0 depends on helperdep<1",
                  "sqlish 2.0 depends on pgdriver>=2.7")
    impossible = classify(text, "requirements.txt")
    assert impossible is not None
    message = conflict_message(impossible.conflicts, "requirements.txt", impossible.unavailable)
    assert message.splitlines()[0].startswith("the requirements in requirements.txt conflict: helperdep==1.0")
    assert "  also: pgdriver>=2.7 (from sqlish, requirements.txt): no wheel and no usable source" in message


def test_long_sides_keep_the_first_line_short():
    long = "x" * 120
    text = causes("The user requested lib==1.0", f"{long} 1.0 depends on lib<1")
    first = conflict_message(classify(text, "r.txt").conflicts, "r.txt").splitlines()[0]  # type: ignore[union-attr]
    assert first == "the requirements in r.txt conflict: lib==1.0 and lib<1"  # where they come from: below
    urls = causes(f"The user requested lib @ https://example.com/{long}/lib-1.whl", "a 1 depends on lib @ file:///lib")
    first = conflict_message(classify(urls, "r.txt").conflicts, "r.txt").splitlines()[0]  # type: ignore[union-attr]
    assert first == "the requirements in r.txt conflict on lib"


def test_read_causes_ignores_other_lines():
    assert read_causes("ERROR: ResolutionImpossible") == []
    assert read_causes(causes("The user requested lib==1")) == [Ask("lib", "lib==1")]


def test_the_project_s_lines_are_named_where_known():
    lines = {"helperdep==1.0": "requirements.txt line 4", "helperdep": "requirements.txt line 4",
             "needsold": "requirements.txt line 3"}
    impossible = classify(output("26.3", "conflict_pins"), "requirements.txt", lines)
    assert impossible is not None
    assert conflict_message(impossible.conflicts, "requirements.txt", lines=lines).splitlines()[1] == (
        "  helperdep: helperdep==1.0 (requirements.txt line 4); helperdep<1 (from needsold 1.0, requirements.txt "
        "line 3)")
    impossible = classify(output("23.1", "transitive_unavailable"), "requirements.txt", {"sqlish": "r.txt line 2"})
    assert impossible is not None and impossible.unavailable[0].via == "sqlish, r.txt line 2"
