"""Secret-looking files never reach the app zip by accident."""

from __future__ import annotations

import pytest
from factory import make_project

from lambda_tasks.build.collect import app_entries
from lambda_tasks.checks.guard import check_app_files
from lambda_tasks.entries import APP_UNIT, FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import LambdaTasksError, SecretFileError

KEY = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def entry(arcname: str, data: bytes = b"x") -> Entry:
    return Entry(arcname, APP_UNIT, len(data), FILE_MODE, BytesSource(data))


@pytest.mark.parametrize("arcname, data, reason", [
    ("chalicelib/.env", b"SECRET=1\n", "an environment file"),
    ("chalicelib/config/.env.production", b"SECRET=1\n", "an environment file"),
    ("chalicelib/certs/server.pem", b"anything", "key or certificate"),
    ("chalicelib/tls.key", b"anything", "key or certificate"),
    ("chalicelib/id_rsa", b"anything", "SSH private key"),
    ("chalicelib/deploy_key_without_suffix", KEY, "contains a PEM private key"),
    ("chalicelib/.aws/credentials", b"[default]\n", ".aws/"),
    ("chalicelib/vendored/.git/config", b"[core]\n", ".git/"),
])
def test_secret_looking_files_are_refused(arcname, data, reason):
    with pytest.raises(SecretFileError) as caught:
        check_app_files([entry("app.py"), entry(arcname, data)], include=())
    message = str(caught.value)
    assert isinstance(caught.value, LambdaTasksError) and "\n" not in message
    assert arcname in message and reason in message and "include" in message


@pytest.mark.parametrize("arcname, data", [
    ("chalicelib/.env.example", b"SECRET=\n"),
    ("chalicelib/environment.py", b"import os\n"),
    ("chalicelib/keys.py", b"KEYS = ['a']\n"),
    ("chalicelib/docs.md", b"How to make a key: -----BEGIN RSA PRIVATE KEY----- is what it starts with\n"),
    ("chalicelib/gitignore.txt", b".git/\n"),
])
def test_ordinary_files_pass(arcname, data):
    check_app_files([entry(arcname, data)], include=())


def test_include_lets_a_listed_file_through_and_only_that_one():
    entries = [entry("chalicelib/certs/ca.pem"), entry("chalicelib/.env", b"A=1\n")]
    check_app_files(entries, include=["chalicelib/certs/*.pem", "chalicelib/.env"])
    with pytest.raises(SecretFileError, match=r"chalicelib/\.env \(an environment file\)") as caught:
        check_app_files(entries, include=["chalicelib/certs/*.pem"])
    assert "ca.pem" not in str(caught.value)


def test_on_a_real_project(tmp_path):
    root = make_project(tmp_path / "proj")
    (root / "chalicelib" / "secrets").mkdir()
    (root / "chalicelib" / "secrets" / "signing").write_bytes(KEY)
    entries = app_entries(root)
    with pytest.raises(SecretFileError, match="chalicelib/secrets/signing"):
        check_app_files(entries, include=())
