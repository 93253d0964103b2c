"""The shared-library resolver and the runtime families' tables (lambda_tasks/shared_libraries.py,
base_libraries.py): pure cases on dynamic facts, then real ELF files compiled by the host's `cc`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from elf_helpers import linked, needs_cc

from lambda_tasks.base_libraries import (
    BASE_LIBRARIES,
    FAMILIES,
    LAMBDA_LACKS,
    MANYLINUX_ASSUMED,
    base_libraries,
)
from lambda_tasks.shared_libraries import (
    Dynamic,
    Unresolved,
    accepted,
    expand,
    other_abi_files,
    read_dynamic,
    resolve,
    way_out,
)
from lambda_tasks.targets import RUNTIMES, Target

BASE = base_libraries("python3.12", (3, 12))


def lib(*needed: str, soname: str | None = None, rpath: tuple[str, ...] = (),
        runpath: tuple[str, ...] = ()) -> Dynamic:
    return Dynamic(soname, needed, rpath, runpath)


# ------------------------------------------------------------------------------------------------ the tables


def test_every_runtime_has_a_family_and_the_family_follows_the_os():
    assert set(FAMILIES) == set(RUNTIMES)
    assert {FAMILIES[r] for r in ("python3.10", "python3.11")} == {"al2"}
    assert {FAMILIES[r] for r in ("python3.12", "python3.13", "python3.14")} == {"al2023"}


@pytest.mark.parametrize("family", ["al2", "al2023"])
def test_well_known_libraries_are_in_each_table_and_what_lambda_lacks_is_not(family):
    table = BASE_LIBRARIES[family]
    for present in ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libstdc++.so.6",
                    "libgcc_s.so.1", "libz.so.1", "libexpat.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"):
        assert present in table, present
    for absent in ("libpq.so.5", "libGL.so.1", "libX11.so.6", "libXext.so.6", "libSM.so.6", "libICE.so.6",
                   "libxcb.so.1", "libmysqlclient.so.21", "libgfortran.so.5", "libopenblas.so.0"):
        assert absent not in table, absent


def test_each_family_has_its_own_openssl_and_libcrypt():
    assert {"libssl.so.10", "libcrypto.so.10", "libcrypt.so.1"} <= BASE_LIBRARIES["al2"]
    assert not {"libssl.so.3", "libcrypto.so.3"} & BASE_LIBRARIES["al2"]
    assert {"libssl.so.3", "libcrypto.so.3", "libcrypt.so.2"} <= BASE_LIBRARIES["al2023"]
    assert not {"libssl.so.10", "libcrypto.so.10"} & BASE_LIBRARIES["al2023"]


def test_libpython_is_the_runtimes_own():
    assert "libpython3.12.so.1.0" in BASE and "libpython3.11.so.1.0" not in BASE
    assert "libpython3.11.so.1.0" in base_libraries("python3.11", (3, 11))


def auditwheel_policy() -> list[dict]:
    """auditwheel's manylinux policy, from the wheel PyPI serves (its own copy of the JSON)."""
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--dest", scratch, "auditwheel==6.8.2"], check=True, capture_output=True, timeout=120)
        wheel = next(Path(scratch).glob("auditwheel-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            return json.loads(archive.read("auditwheel/policy/manylinux-policy.json"))


@pytest.mark.pypi
@pytest.mark.slow
def test_the_manylinux_list_is_auditwheels():
    policies = {policy["name"]: set(policy["lib_whitelist"]) for policy in auditwheel_policy()}
    # what a wheel for the runtimes' glibc (2.26: AL2, 2.34: AL2023) may assume, from manylinux2014 on
    for name in ("manylinux_2_17", "manylinux_2_24", "manylinux_2_26", "manylinux_2_28", "manylinux_2_34"):
        assert policies[name] <= MANYLINUX_ASSUMED, (name, policies[name] - MANYLINUX_ASSUMED)
    assert policies["manylinux_2_34"] == MANYLINUX_ASSUMED
    assert policies["manylinux_2_17"] >= LAMBDA_LACKS
    for family, table in BASE_LIBRARIES.items():
        assert not LAMBDA_LACKS & table, family


# ---------------------------------------------------------------------------------------- the resolver, pure


def test_expand_fills_origin_and_lib_and_normalises():
    assert expand("$ORIGIN/../numpy.libs", "/opt/python/numpy/_core") == "/opt/python/numpy/numpy.libs"
    assert expand("${ORIGIN}", "/opt/python/x") == "/opt/python/x"
    assert expand("/usr/$LIB", "/x") == "/usr/lib64"
    assert expand("libs", "/x") == "/var/task/libs"  # relative: to the working directory
    assert expand("$PLATFORM/x", "/x") is None


def test_rpath_with_origin_resolves_a_bundled_library():
    objects = {"/opt/python/pkg/_ext.so": lib("libdep-1a2b.so", "libc.so.6", rpath=("$ORIGIN/../pkg.libs",)),
               "/opt/python/pkg.libs/libdep-1a2b.so": lib("libm.so.6", soname="libdep-1a2b.so")}
    assert resolve(objects, set(objects), BASE) == []
    del objects["/opt/python/pkg.libs/libdep-1a2b.so"]
    assert resolve(objects, set(objects), BASE) == [
        Unresolved("/opt/python/pkg/_ext.so", "libdep-1a2b.so", "/opt/python/pkg/_ext.so")]


def test_rpath_is_inherited_down_the_chain_but_runpath_is_not():
    """auditwheel's grafted libraries need each other without a path of their own: the extension's DT_RPATH
    finds them (glibc searches the loaders' RPATH); a DT_RUNPATH applies to the object's own needs only."""
    def objects(key: str) -> dict[str, Dynamic]:
        return {"/opt/python/pkg/_ext.so": lib("liba.so", **{key: ("$ORIGIN/../pkg.libs",)}),
                "/opt/python/pkg.libs/liba.so": lib("libb.so", soname="liba.so"),
                "/opt/python/pkg.libs/libb.so": lib(soname="libb.so")}

    with_rpath = objects("rpath")
    assert resolve(with_rpath, set(with_rpath), BASE) == []
    with_runpath = objects("runpath")
    assert resolve(with_runpath, set(with_runpath), BASE) == [
        Unresolved("/opt/python/pkg.libs/liba.so", "libb.so", "/opt/python/pkg/_ext.so")]


def test_a_library_loaded_already_by_soname_counts():
    objects = {"/opt/python/pkg/_ext.so": lib("liba.so", "libb.so", runpath=("$ORIGIN",)),
               "/opt/python/pkg/liba.so": lib("libb.so", soname="liba.so"),
               "/opt/python/pkg/libb.so": lib(soname="libb.so")}
    assert resolve(objects, set(objects), BASE) == []  # libb is loaded (by _ext's RUNPATH) before liba needs it


@pytest.mark.parametrize("where", ["/opt/lib", "/var/task/lib", "/var/task"])
def test_lambdas_library_path_finds_what_a_layer_or_the_function_ships(where):
    objects = {"/opt/python/pkg/_ext.so": lib("libpq.so.5")}
    files = {*objects, f"{where}/libpq.so.5"}
    assert resolve(objects, files, BASE) == []
    assert resolve(objects, {*objects, "/opt/python/lib/libpq.so.5"}, BASE) == [
        Unresolved("/opt/python/pkg/_ext.so", "libpq.so.5", "/opt/python/pkg/_ext.so")]


def test_the_base_image_resolves_and_an_absolute_path_outside_the_artifacts_does_not():
    objects = {"/opt/python/pkg/_ext.so": lib("libstdc++.so.6", "libz.so.1", "libGL.so.1",
                                              runpath=("/root/.pyenv/versions/3.11.7/lib",))}
    assert [p.library for p in resolve(objects, set(objects), BASE)] == ["libGL.so.1"]


def test_a_library_nothing_loads_is_its_own_root():
    objects = {"/opt/python/pkg/plugins/libplugin.so": lib("libX11.so.6")}
    assert resolve(objects, set(objects), BASE) == [
        Unresolved("/opt/python/pkg/plugins/libplugin.so", "libX11.so.6", "/opt/python/pkg/plugins/libplugin.so")]


def test_other_abi_files_are_those_beside_one_the_target_loads():
    target = Target("python3.11", "x86_64")
    paths = ["python/bson/_cbson.cpython-39-x86_64-linux-gnu.so", "python/bson/_cbson.cpython-311-x86_64-linux-gnu.so",
             "python/bson/_cbson.cpython-310-x86_64-linux-gnu.so", "python/m/_a.abi3.so",
             "python/m/_a.cpython-312-x86_64-linux-gnu.so", "python/m/_b.so", "python/m/_b.pypy39-pp73-x86_64-linux-gnu.so",
             "python/lonely/_c.cpython-312-x86_64-linux-gnu.so"]
    assert other_abi_files(paths, target) == {
        "python/bson/_cbson.cpython-39-x86_64-linux-gnu.so", "python/bson/_cbson.cpython-310-x86_64-linux-gnu.so",
        "python/m/_a.cpython-312-x86_64-linux-gnu.so", "python/m/_b.pypy39-pp73-x86_64-linux-gnu.so"}


def test_audit_allow_accepts_a_file_or_one_library_of_it():
    arcname = "python/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so"
    assert accepted(arcname, "libpq.so.5", ["psycopg2/_psycopg*.so:libpq.so.5"], "python/")
    assert accepted(arcname, "libpq.so.5", ["psycopg2/*"], "python/")
    assert not accepted(arcname, "libssl.so.1.1", ["psycopg2/*:libpq.so.5"], "python/")
    assert not accepted(arcname, None, ["psycopg2/*:libpq.so.5"], "python/")  # not every problem of the file


def test_ways_out_name_the_known_variants():
    assert "psycopg2-binary" in way_out("vendor/psycopg2", "libpq.so.5")
    assert "psycopg2-binary" in way_out("psycopg2", "libpq.so.5")
    assert "opencv-python-headless" in way_out("opencv-python", "libGL.so.1")
    assert "PyMySQL" in way_out("mysqlclient", "libmysqlclient.so.21")
    assert "vendor/lib/" in way_out("somepkg", "libfoo.so.1")


# -------------------------------------------------------------------------------- real ELF files (cc)


@needs_cc
def test_read_dynamic_reads_needed_soname_and_runpath_or_rpath():
    runpath = read_dynamic(io.BytesIO(linked(("libdep.so.1",), ("-Wl,-rpath,$ORIGIN/../x.libs",
                                                                 "-Wl,--enable-new-dtags"), "libme.so.2")))
    assert runpath is not None and runpath.soname == "libme.so.2" and runpath.needed[0] == "libdep.so.1"
    assert runpath.runpath == ("$ORIGIN/../x.libs",) and runpath.rpath == ()
    rpath = read_dynamic(io.BytesIO(linked(("libdep.so.1",), ("-Wl,-rpath,$ORIGIN", "-Wl,--disable-new-dtags"))))
    assert rpath is not None and rpath.rpath == ("$ORIGIN",) and rpath.runpath == () and rpath.soname is None


@needs_cc
def test_crafted_runpath_with_origin_resolves_through_the_real_bytes():
    ext = read_dynamic(io.BytesIO(linked(("libdep.so.1",), ("-Wl,-rpath,$ORIGIN/../pkg.libs",
                                                             "-Wl,--enable-new-dtags"))))
    dep = read_dynamic(io.BytesIO(linked((), (), "libdep.so.1")))
    assert ext is not None and dep is not None
    objects = {"/opt/python/pkg/_ext.so": ext, "/opt/python/pkg.libs/libdep.so.1": dep}
    assert resolve(objects, set(objects), BASE) == []
    objects = {"/opt/python/pkg/_ext.so": ext, "/opt/python/elsewhere/libdep.so.1": dep}
    assert [p.library for p in resolve(objects, set(objects), BASE)] == ["libdep.so.1"]
