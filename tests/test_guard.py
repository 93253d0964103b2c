"""Secret-looking files never reach the zips by accident: the app's and vendor/'s, by name and by content."""

from __future__ import annotations

import zipfile

import pytest
from conftest import offline_pyproject
from factory import build, make_project, make_wheel

from lambda_tasks.assemble.app_code import app_entries, app_files
from lambda_tasks.checks.guard import check_app_files, check_files
from lambda_tasks.config import load_settings
from lambda_tasks.entries import APP_UNIT, FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import LambdaTasksError, SecretFileError
from lambda_tasks.report import Reporter

BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
PEM_KEY = f"-----BEGIN PRIVATE KEY-----\n{BODY}-----END PRIVATE KEY-----\n".encode()
CERT = f"-----BEGIN CERTIFICATE-----\n{BODY}-----END CERTIFICATE-----\n".encode()
#: Made up, but shaped like a real one (not AWS's documented ...EXAMPLE id, which passes).
KEY_ID = "AKIA" + "Q7ZT3W5X6Y2N4P3M"
SECRET = "u8Kd2fQz/Lm3Np9Rs4Tv6Wx1Yb7Ce5Gh0Jk2Mn8P"


def entry(arcname: str, data: bytes = b"x", unit: str = APP_UNIT) -> Entry:
    return Entry(arcname, unit, len(data), FILE_MODE, BytesSource(data))


def vendored(rel: str, data: bytes = b"x") -> Entry:
    return entry(f"python/{rel}", data, unit="vendor/" + rel.split("/", 1)[0])


def refusal(entries, include=()) -> str:
    with pytest.raises(SecretFileError) as caught:
        check_files(entries, include)
    assert isinstance(caught.value, LambdaTasksError)
    message = str(caught.value)
    first, *rest = message.splitlines()
    assert len("error: " + first) < 160 and first.startswith("refusing to ship ")
    assert all(line.startswith("  ") for line in rest) and "include = [" in rest[-1]
    assert "Secrets Manager" in rest[-1]
    return message


@pytest.mark.parametrize("arcname, data, reason", [
    ("chalicelib/.env", b"SECRET=1\n", "an environment file"),
    ("chalicelib/config/.env.production", b"SECRET=1\n", "an environment file"),
    ("chalicelib/certs/server.pem", PEM_KEY, "holds a PEM private key"),
    ("chalicelib/tls.key", PEM_KEY.replace(b" PRIVATE", b" RSA PRIVATE"), "holds a PEM private key (RSA)"),
    ("chalicelib/bundle.crt", CERT + PEM_KEY + CERT, "holds a PEM private key"),  # not only on the first line
    ("chalicelib/id_rsa", b"anything", "SSH private key"),
    ("chalicelib/id_ed25519", b"anything", "SSH private key"),
    ("chalicelib/deploy_key_without_suffix", KEY, "holds an OpenSSH private key"),
    ("chalicelib/signing.asc", b"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
                               + BODY.encode() + b"=Ab1c\n-----END PGP PRIVATE KEY BLOCK-----\n", "PGP private key"),
    ("chalicelib/sa.json", b'{"private_key": "' + PEM_KEY.replace(b"\n", b"\\n") + b'"}', "PEM private key"),
    ("chalicelib/client.p12", b"\x30\x82\x01\x00binary", "PKCS#12"),
    ("chalicelib/key.der", bytes([0x30, 0x20, 0x02, 0x01, 0x00]) + b"\0" * 29, "DER private key"),
    ("chalicelib/.aws/credentials", b"[default]\n", ".aws/"),
    ("chalicelib/vendored/.git/config", b"[core]\n", ".git/"),
    ("chalicelib/.netrc", b"machine x login y password z\n", ".netrc"),
    ("chalicelib/.pypirc", b"[pypi]\n", ".pypirc"),
    ("chalicelib/.git-credentials", b"https://u:p@example.com\n", "git-credentials"),
    ("chalicelib/.npmrc", b"//registry.npmjs.org/:_authToken=npm_abcdef123456\n", "auth token"),
    ("chalicelib/settings.py", f'KEY = "{KEY_ID}"\n'.encode(), "AWS access key id (AKIA…, 20 chars)"),
    ("chalicelib/creds.ini", f"aws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n".encode(),
     "and what looks like its 40-character secret access key"),
    ("chalicelib/only_secret.cfg", f"aws_secret_access_key={SECRET}\n".encode(), "AWS secret access key"),
])
def test_secret_looking_files_are_refused(arcname, data, reason):
    message = refusal([entry("app.py"), entry(arcname, data)])
    detail = next(line for line in message.splitlines() if line.startswith(f"  {arcname}: "))
    assert reason in detail
    assert message.splitlines()[0] == f"refusing to ship 1 secret-looking file: {arcname}"
    assert f'include = ["{arcname}"]' in message


@pytest.mark.parametrize("arcname, data", [
    ("chalicelib/.env.example", b"SECRET=\n"),
    ("chalicelib/id_rsa.pub", b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB user@host\n"),
    ("chalicelib/certs/ca.pem", CERT + CERT),
    ("chalicelib/certs/public.key", b"-----BEGIN PUBLIC KEY-----\n" + BODY.encode() + b"-----END PUBLIC KEY-----\n"),
    ("chalicelib/cert.der", bytes([0x30, 0x20, 0x30, 0x1E]) + b"\0" * 30),  # a SEQUENCE in a SEQUENCE: a cert
    ("chalicelib/environment.py", b"import os\n"),
    ("chalicelib/keys.py", b"KEYS = ['a']\n"),
    ("chalicelib/docs.md", b"How to make a key: -----BEGIN RSA PRIVATE KEY----- is what it starts with\n"),
    ("chalicelib/howto.md", b"-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----\n"),
    ("chalicelib/gitignore.txt", b".git/\n"),
    ("chalicelib/aws_docs.md", b"aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                               b"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    ("chalicelib/.npmrc", b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"),
    ("chalicelib/lib.so", b"\x7fELF" + KEY_ID.encode()),  # binary: not scanned
])
def test_ordinary_files_pass(arcname, data):
    check_files([entry(arcname, data)], include=())


def test_vendor_files_and_own_wheels_are_checked_and_the_index_wheels_are_not():
    message = refusal([
        vendored(".env", b"A=1\n"), vendored("pkg/id_rsa", b"k"), vendored("pkg/server.pem", CERT + PEM_KEY),
        vendored("pkg/ca.pem", CERT), vendored("pkg/id_rsa.pub", b"ssh-rsa AAAA\n"),
        entry("python/thirdparty/tests/key.pem", PEM_KEY, unit="thirdparty"),  # a wheel's: not the user's
        entry("python/vendkey/tests/.env", b"A=1\n", unit="vendkey"),  # a wheel dropped into vendor/
    ])
    assert message.splitlines()[0] == \
        "refusing to ship 3 secret-looking files: python/.env, python/pkg/id_rsa, python/pkg/server.pem"
    assert "  python/pkg/server.pem (vendored): holds a PEM private key" in message
    assert "thirdparty" not in message and "vendkey" not in message and "ca.pem" not in message
    with pytest.raises(SecretFileError, match=r"python/vendkey/tests/\.env") as caught:
        check_files([entry("python/vendkey/tests/.env", b"A=1\n", unit="vendkey")], own={"vendkey"})
    assert "(in the project's own wheel vendkey): an environment file" in str(caught.value)


def test_include_lets_a_listed_file_through_and_only_that_one():
    entries = [entry("chalicelib/certs/ca.pem", PEM_KEY), entry("chalicelib/.env", b"A=1\n")]
    check_files(entries, include=["chalicelib/certs/*.pem", "chalicelib/.env"])
    message = refusal(entries, include=["chalicelib/certs/*.pem"])
    assert "chalicelib/.env: an environment file" in message and "ca.pem" not in message


@pytest.mark.parametrize("pattern", ["python/pkg/server.pem", "pkg/server.pem", "pkg/*.pem"])
def test_include_on_a_vendor_file_with_or_without_python(pattern):
    check_files([vendored("pkg/server.pem", PEM_KEY)], include=[pattern])


def test_the_message_never_carries_the_secret():
    data = f"KEY={KEY_ID}\nSECRET={SECRET}\n".encode()
    message = refusal([entry("chalicelib/a.cfg", data), entry("chalicelib/b.pem", PEM_KEY)])
    assert KEY_ID not in message and KEY_ID[4:] not in message and SECRET not in message
    assert "MIIE" not in message and BODY[:20] not in message


def test_many_and_long_names_keep_the_first_line_short():
    many = [entry(f"chalicelib/some/deeply/nested/dir{i}/.env", b"A=1\n") for i in range(40)]
    message = refusal(many)
    assert message.splitlines()[0].endswith("more") and "… and 20 more" in message
    long = "chalicelib/" + "x" * 300 + "/.env"
    assert refusal([entry(long, b"A=1\n")]).splitlines()[0].endswith("x/.env")


def test_a_key_past_the_first_window_and_a_big_file():
    from lambda_tasks.checks import secret_scan

    padding = b"# filler\n" * (3 * secret_scan.WINDOW // 9)
    refusal([entry("chalicelib/bundle.pem", CERT * 10 + padding + PEM_KEY)])
    refusal([entry("chalicelib/big.txt", padding + f"{KEY_ID}\n".encode())])  # over 1 MB: scanned too
    straddling = b"a" * (secret_scan.WINDOW - 20) + PEM_KEY  # the block crosses a window boundary
    refusal([entry("chalicelib/bundle.crt", straddling)])


def test_the_old_name_still_works():
    assert check_app_files is check_files


def test_on_a_real_project(tmp_path):
    root = make_project(tmp_path / "proj")
    (root / "chalicelib" / "secrets").mkdir()
    (root / "chalicelib" / "secrets" / "signing").write_bytes(KEY)
    with pytest.raises(SecretFileError, match="chalicelib/secrets/signing"):
        check_files(app_entries(app_files(root.resolve())), include=())


# ------------------------------------------------------------------------------------------ real builds


def _project(tmp_path, wheelhouse, extra: str = ""):
    make_wheel(wheelhouse, "thirdparty", "1.0", files={"thirdparty/__init__.py": "", "thirdparty/tests/key.pem": PEM_KEY,
                                                        "thirdparty/tests/.env": "A=1\n"})
    root = make_project(tmp_path / "proj", "thirdparty\n", pyproject=offline_pyproject(wheelhouse, extra))
    make_wheel(root / "vendor", "vendkey", "1.0", files={"vendkey/__init__.py": "", "vendkey/tests/key.pem": PEM_KEY})
    (root / "vendor" / "pkg").mkdir()
    (root / "vendor" / "pkg" / "__init__.py").write_text("")
    (root / "vendor" / "pkg" / "ca.pem").write_bytes(CERT)
    (root / "chalicelib" / "certs").mkdir()
    (root / "chalicelib" / "certs" / "ca.pem").write_bytes(CERT + CERT)
    return root


def _names(root, manifest) -> set[str]:
    names: set[str] = set()
    for path in [manifest.app.path, *(layer.path for layer in manifest.layers)]:
        with zipfile.ZipFile(root / path) as archive:
            names.update(archive.namelist())
    return names


@pytest.mark.slow
def test_a_build_ships_certificates_and_third_party_test_keys(tmp_path, wheelhouse):
    root = _project(tmp_path, wheelhouse)
    with pytest.raises(SecretFileError, match=r"python/vendkey/tests/key\.pem"):  # vendor/'s wheels are the user's
        build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
    settings = load_settings(root, {}, {"runtime": "python3.12", "include": ["vendkey/tests/key.pem"]})
    manifest = build(settings, reporter=Reporter(quiet=True))
    names = _names(root, manifest)
    assert {"chalicelib/certs/ca.pem", "python/pkg/ca.pem", "python/thirdparty/tests/key.pem",
            "python/vendkey/tests/key.pem"} <= names


@pytest.mark.slow
def test_a_build_refuses_vendor_secrets_unless_included(tmp_path, wheelhouse):
    root = _project(tmp_path, wheelhouse)
    (root / "vendor" / ".env").write_text("A=1\n")
    (root / "vendor" / "pkg" / "server.pem").write_bytes(CERT + PEM_KEY)
    settings = load_settings(root, {}, {"runtime": "python3.12", "include": ["vendkey/tests/key.pem"]})
    with pytest.raises(SecretFileError) as caught:
        build(settings, reporter=Reporter(quiet=True))
    first, *rest = str(caught.value).splitlines()
    assert first == "refusing to ship 2 secret-looking files: python/.env, python/pkg/server.pem"
    assert "  python/pkg/server.pem (vendored): holds a PEM private key" in rest
    (root / "vendor" / ".env").unlink()
    settings = load_settings(root, {}, {"runtime": "python3.12", "include": ["pkg/server.pem",
                                                                            "vendkey/tests/key.pem"]})
    assert "python/pkg/server.pem" in _names(root, build(settings, reporter=Reporter(quiet=True)))


@pytest.mark.slow
def test_a_lock_path_dependency_is_the_projects_own(tmp_path, wheelhouse):
    from factory_content import local_package

    # the [tool.uv.sources] line uv itself needs for the locked directory (a lock without it is stale)
    root = make_project(tmp_path / "proj", pyproject='[project]\nname = "app"\nversion = "0.1.0"\n'
                        'dependencies = ["mylib"]\n\n[tool.uv.sources]\nmylib = { path = "libs/mylib" }\n\n'
                        + offline_pyproject(wheelhouse))
    (root / "requirements.txt").unlink()
    local_package(root / "libs" / "mylib", "mylib", {"conf/.env": "A=1\n"})
    (root / "uv.lock").write_text(
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n\n'
        '[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { virtual = "." }\n'
        'dependencies = [{ name = "mylib" }]\n\n[package.metadata]\n'
        'requires-dist = [{ name = "mylib", directory = "libs/mylib" }]\n\n'
        '[[package]]\nname = "mylib"\nversion = "1.0"\nsource = { directory = "libs/mylib" }\n')
    with pytest.raises(SecretFileError, match=r"python/mylib/conf/\.env \(in the project's own wheel mylib\)"):
        build(load_settings(root, {}, {"runtime": "python3.12"}), reporter=Reporter(quiet=True))
