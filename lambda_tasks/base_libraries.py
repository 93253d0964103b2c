"""The shared libraries a Lambda Python runtime provides: one table per runtime family (its base image's OS).

A library in the table resolves a ``DT_NEEDED`` entry without the artifacts shipping it. The tables are kept
small and sure rather than complete: a library missing here fails the build (``audit_allow`` accepts it on
purpose), while a library wrongly listed would let a function fail at import on Lambda.

Sources:

- AWS's documentation of the runtimes and their base images (docs.aws.amazon.com/lambda/latest/dg/
  lambda-runtimes.html; python-image.html): python3.10 and python3.11 run on Amazon Linux 2 (glibc 2.26),
  python3.12 and later on Amazon Linux 2023 (glibc 2.34) built from the AL2023 minimal container image;
  ``LD_LIBRARY_PATH`` is ``/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:
  /var/task/lib:/opt/lib`` (lambda/latest/dg/configuration-envvars.html).
- auditwheel's manylinux policy (pypa/auditwheel, src/auditwheel/policy/manylinux-policy.json,
  ``lib_whitelist``): the libraries the manylinux standard (PEP 600) lets a wheel assume, the same list for
  manylinux_2_17 .. manylinux_2_34 (libmvec from manylinux_2_24 on). Lambda's images have no X11 or OpenGL:
  :data:`LAMBDA_LACKS` is taken out (AWS knowledge center, "lambda-linux-binary-package": the images do not
  carry every native package; libX11.so.6 and libGL.so.1 fail to load on Lambda, serverless-libreoffice#26).
- The packages of the base images as ``rpm -qa`` lists them (public.ecr.aws/lambda/python:3.12, quoted in
  amazonlinux/amazon-linux-2023#585: glib2, krb5-libs, bzip2-libs, gmp, json-c, keyutils-libs, file-libs,
  libacl, libattr, audit-libs, openssl-libs 3 through krb5-libs and curl-minimal), and ``/lib64`` of the
  Amazon Linux 2 Python runtime (awslabs/aws-media-replay-engine#13: libssl.so.10, libcrypto.so.10 from
  openssl 1.0.2k; no libssl.so.3).
- ``/var/lang/lib``: the runtime's own ``libpython3.X.so.1.0``.
"""

from __future__ import annotations

#: runtime -> its family: the OS of the base image.
FAMILIES: dict[str, str] = {
    "python3.10": "al2",
    "python3.11": "al2",
    "python3.12": "al2023",
    "python3.13": "al2023",
    "python3.14": "al2023",
}
FAMILY_NAMES = {"al2": "Amazon Linux 2", "al2023": "Amazon Linux 2023"}

#: auditwheel's manylinux policy ``lib_whitelist`` (manylinux_2_24 .. manylinux_2_34; libmvec.so.1 since 2_24).
MANYLINUX_ASSUMED: frozenset[str] = frozenset({
    "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libc.so.6", "libnsl.so.1",
    "libutil.so.1", "libpthread.so.0", "libresolv.so.2", "libX11.so.6", "libXext.so.6", "libXrender.so.1",
    "libICE.so.6", "libSM.so.6", "libGL.so.1", "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0",
    "libanl.so.1", "libatomic.so.1", "libz.so.1", "libexpat.so.1", "libmvec.so.1",
})
#: What manylinux lets a wheel assume that Lambda's images do not have: X11 and OpenGL.
LAMBDA_LACKS: frozenset[str] = frozenset({
    "libGL.so.1", "libX11.so.6", "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6",
})
#: glibc's other libraries and its dynamic loader (named in DT_NEEDED by libraries that use _dl_* or TLS).
_GLIBC = frozenset({
    "libthread_db.so.1", "libBrokenLocale.so.1", "libmemusage.so", "libpcprofile.so", "libSegFault.so",
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
})
#: Libraries of the base images' own packages, beyond the manylinux list (see the sources above). libffi, libbz2
#: and liblzma: the runtime's own ctypes, bz2 and lzma modules load on Lambda, linked against the OS's
#: (libffi 3.0 on AL2, 3.4 on AL2023); the rest as the packages listed for each image.
_AL2 = frozenset({
    "libcrypt.so.1", "libssl.so.10", "libcrypto.so.10", "libffi.so.6", "libbz2.so.1", "liblzma.so.5",
})
_AL2023 = frozenset({
    "libcrypt.so.2", "libssl.so.3", "libcrypto.so.3", "libffi.so.8", "libbz2.so.1", "liblzma.so.5",
    "libgio-2.0.so.0", "libgmodule-2.0.so.0", "libgmp.so.10", "libjson-c.so.5", "libkeyutils.so.1",
    "libgssapi_krb5.so.2", "libkrb5.so.3", "libk5crypto.so.3", "libkrb5support.so.0", "libcom_err.so.2",
    "libacl.so.1", "libattr.so.1", "libaudit.so.1", "libmagic.so.1",
})
#: In the manylinux list but not confirmed in Lambda's images: not assumed (libatomic is gcc's, not installed in
#: the minimal images; AL2023's glibc no longer carries libnsl.so.1, Fedora moved it to its own package).
UNCONFIRMED: dict[str, frozenset[str]] = {
    "al2": frozenset({"libatomic.so.1"}),
    "al2023": frozenset({"libatomic.so.1", "libnsl.so.1"}),
}
BASE_LIBRARIES: dict[str, frozenset[str]] = {
    "al2": (MANYLINUX_ASSUMED - LAMBDA_LACKS - UNCONFIRMED["al2"]) | _GLIBC | _AL2,
    "al2023": (MANYLINUX_ASSUMED - LAMBDA_LACKS - UNCONFIRMED["al2023"]) | _GLIBC | _AL2023,
}


def family(runtime: str) -> str:
    """The runtime's family: ``al2`` or ``al2023``."""
    return FAMILIES[runtime]


def base_libraries(runtime: str, python_version: tuple[int, int]) -> frozenset[str]:
    """The library names the runtime resolves by itself: its family's table and its ``libpython``."""
    major, minor = python_version
    return BASE_LIBRARIES[FAMILIES[runtime]] | {f"libpython{major}.{minor}.so.1.0"}
