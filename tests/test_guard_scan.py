"""The secret scanner alone (checks/secret_scan.py, checks/secret_patterns.py): names, encodings, sizes, archives,
token formats and their placeholders, bounds."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma

import pytest
from factory_content import PRIVATE_KEY, TOKENS, tar_bytes, zip_bytes

from lambda_tasks.checks import secret_scan
from lambda_tasks.checks.guard import check_files
from lambda_tasks.checks.secret_patterns import is_env_file
from lambda_tasks.entries import APP_UNIT, FILE_MODE, BytesSource, Entry
from lambda_tasks.errors import SecretFileError


def reason(name: str, data: bytes) -> str | None:
    budget = secret_scan.Budget()
    return secret_scan.name_reason(name) or secret_scan.stream_reason(name, len(data), lambda: io.BytesIO(data),
                                                                      budget)


@pytest.mark.parametrize("name", [".env", ".ENV", ".Env", ".env.local", ".env.production", ".ENV.PROD", ".envrc",
                                  "prod.env", "Staging.ENV", "x.env"])
def test_env_file_names_in_any_case(name):
    assert is_env_file(name)
    assert reason(f"chalicelib/{name}", b"A=1\n") == "an environment file"


@pytest.mark.parametrize("name", [".env.example", ".ENV.SAMPLE", "example.env", "sample.env", ".env.template",
                                  "env.py", "environment.py", ".envoy", "dotenv.py", ".env.local.example"])
def test_templates_and_look_alikes_are_not_env_files(name):
    assert not is_env_file(name)


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_every_token_format_is_found(kind):
    found = reason("chalicelib/settings.py", f'VALUE = "{TOKENS[kind]}"\n'.encode())
    assert found is not None and found.startswith("holds ")
    assert TOKENS[kind][-12:] not in found


@pytest.mark.parametrize("text", [
    "ghp_" + "x" * 36, "ghp_" + "X" * 36, "ghp_EXAMPLEaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sk_live_" + "0" * 24,
    "sk_live_your_key_here_aaaaaaaaaaaaaaaa", "xoxb-your-token", "AIza" + "-" * 35, "npm_" + "a" * 36,
    "glpat-xxxxxxxxxxxxxxxxxxxx", "AKIAIOSFODNN7EXAMPLE", "https://hooks.slack.com/services/T000/B000/XXXX",
    "github_pat_<your token here>", "pypi-AgEIcHlwaS5vcmc", "php_version = 8", "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
])
def test_placeholders_and_test_keys_pass(text):
    assert reason("chalicelib/docs.md", f"Set it to {text} in your shell.\n".encode()) is None


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
                                      "utf-8-sig", "latin-1"])
def test_any_encoding(encoding):
    data = f"# caf\xe9\ntoken = {TOKENS['github']}\n".encode(encoding)
    assert "GitHub token" in (reason("chalicelib/conf.txt", data) or "")
    assert "private key" in (reason("chalicelib/key.txt", PRIVATE_KEY.encode(encoding)) or "")


def test_after_a_nul_byte_and_in_a_binary_looking_file():
    assert reason("chalicelib/blob.dat", b"\0" * 10_000 + TOKENS["stripe"].encode()) is not None
    assert reason("chalicelib/lib.so", TOKENS["stripe"].encode() * 2) is None  # compiled code is not read
    assert reason("python/pkg/libx.so.1", b"\x7fELF\2\1\1" + TOKENS["github"].encode()) is None  # by its bytes


def test_any_size_and_window_edges():
    window = secret_scan.WINDOW
    for offset in (0, window - 10, window - secret_scan.OVERLAP + 5, 3 * window - 7, 5 * window):
        data = b"a" * offset + TOKENS["npm"].encode() + b"\n"
        assert reason("chalicelib/big.txt", data) == "holds an npm token (npm_…)", offset
    key = PRIVATE_KEY.encode()
    assert reason("chalicelib/b.txt", b"b" * (2 * window - len(key) // 2) + key) is not None  # across a boundary


@pytest.mark.parametrize("wrap", ["zip", "tar", "tgz", "tbz", "txz", "gz", "bz2", "xz", "zip-in-tgz"])
def test_archives(wrap):
    inner = {"deep/conf.txt": f"t = {TOKENS['gitlab']}\n"}
    data = {
        "zip": lambda: zip_bytes(inner), "tar": lambda: tar_bytes(inner, "w"), "tgz": lambda: tar_bytes(inner),
        "tbz": lambda: tar_bytes(inner, "w:bz2"), "txz": lambda: tar_bytes(inner, "w:xz"),
        "gz": lambda: gzip.compress(inner["deep/conf.txt"].encode()),
        "bz2": lambda: bz2.compress(inner["deep/conf.txt"].encode()),
        "xz": lambda: lzma.compress(inner["deep/conf.txt"].encode()),
        "zip-in-tgz": lambda: tar_bytes({"a/b.zip": zip_bytes(inner)}),
    }[wrap]()
    found = reason("python/data/archive.bin", data)
    assert found is not None and "GitLab token" in found and found.startswith("inside it, ")


def test_names_inside_archives_count_and_archives_are_told_by_their_bytes():
    assert reason("python/data/x.whl", zip_bytes({"pkg/.ENV": "A=1"})) == "inside it, pkg/.ENV: an environment file"
    assert reason("python/data/x.png", zip_bytes({".env": "A=1"})) is None  # media are not read
    assert reason("python/data/a.zip", zip_bytes({".ssh/config": "Host x"})) is not None


def test_a_damaged_archive_and_a_bomb_are_said_not_to_be_read_whole():
    budget = secret_scan.Budget()
    broken = b"PK\x03\x04" + b"\0" * 100
    assert secret_scan.stream_reason("d.zip", len(broken), lambda: io.BytesIO(broken), budget) is None
    assert budget.skipped and "not read to the end" in budget.skipped[0]
    bomb = zip_bytes({f"f{i}.txt": "x" * 100 for i in range(50)})
    small = secret_scan.Budget(left=1000)
    assert secret_scan.stream_reason("bomb.zip", len(bomb), lambda: io.BytesIO(bomb), small) is None
    assert small.skipped and "bomb" in small.skipped[0]


def test_nesting_is_bounded():
    data = zip_bytes({".env": "A=1"})
    for index in range(secret_scan.MAX_DEPTH + 1):
        data = zip_bytes({f"level{index}.zip": data})
    budget = secret_scan.Budget()
    assert secret_scan.stream_reason("n.zip", len(data), lambda: io.BytesIO(data), budget) is None
    assert "nested" in budget.skipped[0]


def test_check_files_warns_of_what_it_could_not_read():
    warned: list[str] = []
    broken = b"\x1f\x8b" + b"garbage" * 10
    check_files([Entry("python/d.gz", "vendor/d.gz", len(broken), FILE_MODE, BytesSource(broken))], warn=warned.append)
    assert warned and warned[0].startswith("secrets: python/d.gz: ")


def test_a_wheel_from_the_index_is_not_read_but_an_own_one_is():
    data = f"K = '{TOKENS['aws']}'\n".encode()
    third = Entry("python/lib/k.py", "lib", len(data), FILE_MODE, BytesSource(data))
    check_files([third])
    with pytest.raises(SecretFileError, match="own wheel lib"):
        check_files([third], own={"lib"})
    check_files([third], own={"lib"}, include=["lib/k.py"])


def test_app_entries_are_read_whatever_their_name():
    data = f"{TOKENS['slack']}".encode("utf-16")
    with pytest.raises(SecretFileError, match="chalicelib/README"):
        check_files([Entry("chalicelib/README", APP_UNIT, len(data), FILE_MODE, BytesSource(data))])


def test_a_big_clean_file_is_read_once_and_a_changed_one_again(tmp_path, monkeypatch):
    from lambda_tasks.checks import guard, secret_verdicts
    from lambda_tasks.entries import FileSource

    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b,c\n" * (secret_verdicts.MIN_BYTES // 6 + 1))

    def entries() -> list[Entry]:
        return [Entry("python/data.csv", "vendor/data.csv", path.stat().st_size, FILE_MODE, FileSource(path))]

    check_files(entries())
    reads: list[str] = []
    real = guard.content_reason
    monkeypatch.setattr(guard, "content_reason", lambda entry, budget=None: reads.append(entry.arcname) or
                        real(entry, budget))
    check_files(entries())
    assert reads == []  # remembered clean
    path.write_bytes(path.read_bytes() + TOKENS["npm"].encode())
    with pytest.raises(SecretFileError, match="npm token"):
        check_files(entries())
    assert reads == ["python/data.csv"]
