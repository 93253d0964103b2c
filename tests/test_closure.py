"""The dependency closure check: what the target needs, computed from metadata, against what was resolved."""

import zipfile

import pytest
from factory import make_wheel

from lambda_tasks.checks.closure import (
    DistMetadata,
    Need,
    check_closure,
    closure_message,
    parse_metadata,
    raise_for_closure,
    read_metadata,
)
from lambda_tasks.errors import ResolveError, WheelError
from lambda_tasks.targets import Target

PY310 = Target("python3.10", "x86_64").marker_environment()
PY312 = Target("python3.12", "x86_64").marker_environment()
ARM = Target("python3.12", "arm64").marker_environment()


def dist(name, version="1.0", *requires):
    return DistMetadata(name, version, tuple(requires))


ANYIO = dist("anyio", "4.6.2", "idna>=2.8", "sniffio>=1.1", 'exceptiongroup>=1.0.2; python_version < "3.11"',
             'typing_extensions>=4.1; python_version < "3.11"', 'trio>=0.26.1; extra == "trio"')
IDNA, SNIFFIO = dist("idna", "3.10"), dist("sniffio", "1.3.1")


def test_anyio_for_python310_misses_its_backports():
    result = check_closure(["anyio==4.6.2"], PY310, [ANYIO, IDNA, SNIFFIO])
    assert [item.name for item in result.missing] == ["exceptiongroup", "typing-extensions"]
    assert result.missing[0].needs == (Need("anyio 4.6.2", 'exceptiongroup>=1.0.2; python_version < "3.11"'),)
    assert not result.extra and not result.conflicting and not result.ok
    message = closure_message(result, "python3.10/x86_64")
    first, *detail = message.splitlines()
    assert first == ("dependency check failed: 2 distributions missing for python3.10/x86_64: "
                     "exceptiongroup, typing-extensions")
    assert detail == [
        "  missing exceptiongroup: needed by anyio 4.6.2 via 'exceptiongroup>=1.0.2; python_version < \"3.11\"'",
        "  missing typing-extensions: needed by anyio 4.6.2 via 'typing_extensions>=4.1; python_version < \"3.11\"'",
    ]
    with pytest.raises(ResolveError, match=r"^dependency check failed: 2 distributions missing"):
        raise_for_closure(result, "python3.10/x86_64")


def test_anyio_for_python312_is_complete():
    result = check_closure(["anyio==4.6.2"], PY312, [ANYIO, IDNA, SNIFFIO])
    assert result.ok and closure_message(result, "python3.12/x86_64") is None
    assert set(result.needed) == {"anyio", "idna", "sniffio"}
    assert result.needed["idna"] == (Need("anyio 4.6.2", "idna>=2.8"),)
    raise_for_closure(result, "python3.12/x86_64")


def test_backports_present_for_python310_pass():
    resolved = [ANYIO, IDNA, SNIFFIO, dist("exceptiongroup", "1.2.2"), dist("typing-extensions", "4.12.2")]
    assert check_closure(["anyio==4.6.2"], PY310, resolved).ok
    extra = check_closure(["anyio==4.6.2"], PY312, resolved).extra  # what a 3.10 host would put in a 3.12 build
    assert [item.name for item in extra] == ["exceptiongroup", "typing-extensions"]
    assert extra[0].skipped == Need("anyio 4.6.2", 'exceptiongroup>=1.0.2; python_version < "3.11"')


def test_names_are_compared_canonically():
    resolved = [dist("Typing.Extensions", "4.0"), dist("zope_interface", "6.0", "SetupTools")]
    result = check_closure(["typing_extensions>=4", "Zope.Interface"], PY312, [*resolved, dist("setuptools", "70")])
    assert result.ok and set(result.needed) == {"typing-extensions", "zope-interface", "setuptools"}


def test_extras_of_a_top_level_requirement():
    requests = dist("requests", "2.32.3", "urllib3<3", 'PySocks!=1.5.7,>=1.5.6; extra == "socks"')
    assert [m.name for m in check_closure(["requests[SOCKS]"], PY312, [requests, dist("urllib3", "2.2")]).missing] \
        == ["pysocks"]
    assert check_closure(["requests[socks]"], PY312, [requests, dist("urllib3", "2.2"), dist("pysocks", "1.7.1")]).ok
    result = check_closure(["requests"], PY312, [requests, dist("urllib3", "2.2"), dist("pysocks", "1.7.1")])
    assert [item.name for item in result.extra] == ["pysocks"]


def test_extras_propagate_through_dependencies():
    app = dist("app", "1.0", "lib[fast]>=1")
    lib = dist("lib", "1.5", 'speedups; extra == "fast"', 'docs; extra == "docs"', "base")
    result = check_closure(["app"], PY312, [app, lib, dist("base")])
    assert [item.name for item in result.missing] == ["speedups"]
    assert result.missing[0].needs == (Need("lib[fast] 1.5", 'speedups; extra == "fast"'),)


def test_extra_with_a_marker_that_does_not_hold():
    lib = dist("lib", "1.0", 'tomli; extra == "toml" and python_version < "3.11"')
    assert check_closure(["lib[toml]"], PY312, [lib]).ok
    assert [item.name for item in check_closure(["lib[toml]"], PY310, [lib]).missing] == ["tomli"]


def test_a_distribution_needed_two_ways_is_reported_with_both():
    resolved = [dist("a", "1", "shared>=1"), dist("b", "1", 'shared<3; python_version >= "3.12"')]
    result = check_closure(["a", "b"], PY312, resolved)
    assert len(result.missing) == 1
    assert result.missing[0].needs == (Need("a 1", "shared>=1"), Need("b 1", 'shared<3; python_version >= "3.12"'))
    assert len(closure_message(result, "t").splitlines()) == 3


def test_cycles_end():
    resolved = [dist("a", "1", "b"), dist("b", "1", "c"), dist("c", "1", "a[x]")]
    assert check_closure(["a"], PY312, resolved).ok


def test_self_extras():
    pkg = dist("pkg", "2.0", 'pkg[x]; extra == "all"', 'pkg[y]; extra == "all"', 'dep-x; extra == "x"',
               'dep-y>=2; extra == "y"')
    result = check_closure(["pkg[all]"], PY312, [pkg, dist("dep-x"), dist("dep-y", "1.0")])
    assert not result.missing and not result.extra
    assert [(item.name, item.need) for item in result.conflicting] == [
        ("dep-y", Need("pkg[y] 2.0", 'dep-y>=2; extra == "y"'))]
    assert Need("pkg[all] 2.0", 'pkg[x]; extra == "all"') in result.needed["pkg"]


def test_url_requirements_are_needed_by_name():
    line = "My_Pkg @ https://example.com/my_pkg-1.0-py3-none-any.whl"
    assert check_closure([line], PY312, [dist("my-pkg", "1.0", "dep==2")]).missing[0].name == "dep"
    assert check_closure([line], PY312, [dist("my-pkg", "1.0"), dist("other")]).extra[0].name == "other"
    assert check_closure([line], PY312, [dist("my-pkg", "0.1")]).ok  # a URL has no version to check


def test_ignored_distributions_are_not_needed_and_not_followed():
    boto3 = dist("boto3", "1.35.0", "botocore<1.36,>=1.35", "jmespath<2,>=0.7.1", "s3transfer<0.11")
    botocore = dist("botocore", "1.35.0", "jmespath", "python-dateutil<3", 'urllib3<1.27; python_version < "3.10"',
                    'urllib3!=2.2.0,<3,>=1.25.4; python_version >= "3.10"')
    ignore = {"boto3", "Botocore", "s3transfer", "jmespath"}
    alone = [dist("requests", "2", "urllib3"), dist("urllib3", "2.2")]
    result = check_closure(["boto3==1.35.0", "requests"], PY312, alone, ignore=ignore)
    assert result.ok  # boto3's dependencies are not looked for
    present = [boto3, botocore, dist("python-dateutil", "2.9", "six"), dist("six", "1.16"), dist("urllib3", "2.2"),
               dist("requests", "2", "urllib3")]
    result = check_closure(["boto3==1.35.0", "requests"], PY312, present, ignore=ignore)
    assert result.ok and "six" not in result.needed  # kept for botocore: not extra
    assert result.ignored == frozenset({"boto3", "botocore", "s3transfer", "jmespath"})


def test_conflicting_versions_one_line_per_python():
    lines = ['numpy==1.26.4; python_version == "3.11"', 'numpy==2.1.3; python_version == "3.12"']
    result = check_closure(lines, PY312, [dist("numpy", "1.26.4")])
    assert [(item.name, item.version, item.need.requirement) for item in result.conflicting] == [
        ("numpy", "1.26.4", 'numpy==2.1.3; python_version == "3.12"')]
    first = closure_message(result, "python3.12/arm64").splitlines()[0]
    assert first == "dependency check failed: 1 distribution conflicting for python3.12/arm64: numpy"
    assert check_closure(lines, PY312, [dist("numpy", "2.1.3")]).ok


def test_prereleases_satisfy_a_range_pip_chose_them_for():
    assert check_closure(["lib>=1"], PY312, [dist("lib", "2.0rc1")]).ok
    assert check_closure(["lib>=1"], PY312, [dist("lib", "not-a-version")]).conflicting


def test_platform_machine_markers():
    app = dist("app", "1", 'x86only; platform_machine == "x86_64"', 'armonly; platform_machine == "aarch64"')
    result = check_closure(["app"], ARM, [app, dist("x86only")])  # what an x86_64 host resolves
    assert [item.name for item in result.missing] == ["armonly"]
    assert [(item.name, item.skipped) for item in result.extra] == [
        ("x86only", Need("app 1", 'x86only; platform_machine == "x86_64"'))]
    message = closure_message(result, "python3.12/arm64")
    assert message.splitlines()[0] == "dependency check failed for python3.12/arm64: 1 missing, 1 extra (armonly, x86only)"
    assert "extra x86only 1.0: nothing needs it on the target (app 1 asks for it by" in message
    with pytest.raises(ResolveError):
        raise_for_closure(result, "python3.12/arm64", allow_extra=True)
    raise_for_closure(check_closure(["app"], ARM, [app, dist("x86only"), dist("armonly")]), "t", allow_extra=True)


def test_a_top_level_line_skipped_by_its_marker():
    result = check_closure(['legacy; python_version < "3.11"', "app"], PY312, [dist("legacy", "3"), dist("app")],
                           source="requirements.txt")
    assert result.extra[0].skipped == Need("requirements.txt", 'legacy; python_version < "3.11"')


def test_the_first_line_stays_short():
    names = [f"distribution-with-a-long-name-{number}" for number in range(12)]
    result = check_closure(names, PY312, [])
    first = closure_message(result, "python3.12/x86_64").splitlines()[0]
    assert len(first) < 160 and first.endswith(" more") and "12 distributions missing" in first
    mixed = check_closure([*names, "a==2"], PY312, [dist("a", "1"), dist("b")])
    first = closure_message(mixed, "python3.12/x86_64").splitlines()[0]
    assert len(first) < 160 and "12 missing, 1 conflicting, 1 extra" in first


def test_bad_input():
    with pytest.raises(ResolveError, match="invalid requirement"):
        check_closure(["not a requirement!"], PY312, [])
    with pytest.raises(ValueError, match="resolved twice"):
        check_closure([], PY312, [dist("a", "1"), dist("A", "2")])


def test_read_metadata(tmp_path):
    wheel = make_wheel(tmp_path, "my-lib", "1.2", requires=['exceptiongroup>=1; python_version < "3.11"', "idna"])
    meta = read_metadata(wheel)
    assert (meta.name, meta.version, meta.key) == ("my-lib", "1.2", "my-lib")
    assert meta.requires == ('exceptiongroup>=1; python_version < "3.11"', "idna")
    assert [m.name for m in check_closure(["my_lib"], PY310, [meta]).missing] == ["exceptiongroup", "idna"]
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(WheelError, match=r"bad-1\.0"):
        read_metadata(bad)
    with zipfile.ZipFile(empty := tmp_path / "empty-1.0-py3-none-any.whl", "w") as archive:
        archive.writestr("empty/__init__.py", "")
    with pytest.raises(WheelError, match=r"no \.dist-info/METADATA"):
        read_metadata(empty)


def test_parse_metadata_extras_and_folded_lines():
    meta = parse_metadata(b"Metadata-Version: 2.1\nName: pkg\nVersion: 1\nProvides-Extra: all\n"
                          b"Requires-Dist: dep ;\n extra == 'all'\n\nbody\nRequires-Dist: not-a-header\n")
    assert meta.provides_extra == ("all",) and meta.requires == ("dep ; extra == 'all'",)
    with pytest.raises(ValueError):
        parse_metadata("Metadata-Version: 2.1\nName: pkg\n")
