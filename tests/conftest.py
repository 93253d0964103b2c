"""Shared fixtures: an isolated pip (no user config, no index unless a test asks) and a fresh cache; fake AWS
credentials; one moto server for the whole session, and resource names unique per test on it."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from factory import make_project, make_wheel

REPO = Path(__file__).resolve().parent.parent
AWS_REGION = "us-east-1"

# ---------------------------------------------------------------- system tools: skip outside CI, fail under CI=true

#: Read once, before isolated_env sets CI=true in every test (for plain output lines).
UNDER_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
#: The system tools some tests run, each with how to install it (Debian's packages; .ci/run installs them).
TOOLS = {
    "docker-registry": ("docker-registry", "registry"),
    "htpasswd": ("htpasswd",),
    "skopeo": ("skopeo",),
    "chromium": ("chromium", "chromium-browser", "google-chrome"),
}
INSTALL = {"docker-registry": "apt-get install docker-registry", "htpasswd": "apt-get install apache2-utils",
           "skopeo": "apt-get install skopeo", "chromium": "apt-get install chromium"}


def need_tool(name: str, found: str | None = None, install: str = "") -> str:
    """The path of system tool ``name`` (or ``found``, when the caller looked it up its own way). Missing: the
    test skips with the reason, except under ``CI=true`` (.ci/run), where a test that cannot run fails: a green
    CI run is one where every test ran."""
    found = found or next((path for alias in TOOLS.get(name, (name,)) if (path := shutil.which(alias))), None)
    if found:
        return found
    how = install or INSTALL.get(name, "")
    reason = f"{name} is not installed" + (f" ({how}; .ci/run installs it)" if how else "")
    if UNDER_CI:
        pytest.fail(f"{reason}; under CI=true a test that needs it fails instead of skipping", pytrace=False)
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tool(name, ...): needs these system tools (need_tool: skip, or fail in CI)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("tool"):
        for name in mark.args:
            need_tool(name)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Each test gets its own wheel cache; pip ignores this machine's config (find-links, extra indexes)."""
    monkeypatch.setenv("LAMBDA_TASKS_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX", "SOURCE_DATE_EPOCH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CI", "true")  # plain output lines


@pytest.fixture
def wheelhouse(tmp_path) -> Path:
    path = tmp_path / "wheelhouse"
    path.mkdir()
    return path


def offline_pyproject(wheelhouse: Path, extra: str = "") -> str:
    """A [tool.lambda-tasks] table that makes pip use only the test's own wheelhouse."""
    return (f'[tool.lambda-tasks]\npip_args = ["--no-index", "--find-links", "{wheelhouse.as_posix()}"]\n' + extra)


def interruptible() -> None:
    """``preexec_fn`` for a child a test interrupts: it starts with Ctrl-C's default disposition, unblocked, as
    a terminal starts it. Children inherit an ignored or blocked SIGINT, and a library run earlier in the same
    test worker may leave either (seen once in CI: two Ctrl-C tests on one worker waited out their timeouts)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def layered_project(tmp: Path) -> Path:
    """A project with every kind of build input: a dependency layer from a find-links wheelhouse (tmp/wheels),
    chalicelib/ and vendor/ (not built yet)."""
    make_wheel(tmp / "wheels", "purelib")
    root = make_project(tmp / "app", "purelib\n", pyproject=offline_pyproject(tmp / "wheels", ""))
    (root / "vendor" / "vendored").mkdir(parents=True)
    (root / "vendor" / "vendored" / "__init__.py").write_text("X = 1\n")
    return root


def lambda_layout(tmp: Path, app_zip: Path, layer_zips: list[Path]) -> tuple[Path, Path]:
    """Unzip as Lambda does: the function to /var/task, the layers to /opt in order."""
    task, opt = tmp / "var" / "task", tmp / "opt"
    task.mkdir(parents=True)
    opt.mkdir(parents=True)
    with zipfile.ZipFile(app_zip) as archive:
        archive.extractall(task)
    for layer in layer_zips:
        with zipfile.ZipFile(layer) as archive:
            archive.extractall(opt)
    return task, opt


def run_handler(task: Path, opt: Path, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in ``python -I`` with Lambda's sys.path order, from the task root."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    prelude = (
        "import sys; sys.path[:0] = ["
        f"{str(task)!r}, {str(opt / 'python' / 'lib' / version / 'site-packages')!r}, {str(opt / 'python')!r}]\n"
    )
    return subprocess.run([sys.executable, "-I", "-S", "-c", prelude + code], cwd=task, capture_output=True, text=True)


# ---------------------------------------------------------------- AWS: fake credentials, one moto server


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fake credentials and a region, no endpoint: nothing from the developer's own AWS setup leaks in."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA",
                 "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_IAM", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": AWS_REGION,
        "AWS_DEFAULT_REGION": AWS_REGION,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 at a free port, shared by the whole session; its URL.

    Never reset: tests keep apart by naming what they create with ``unique_name``."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def moto_env(moto_server: str, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This test's AWS environment: ``aws_env`` plus AWS_ENDPOINT_URL pointing at the shared moto server
    (boto3 in this process and the commands the test starts both find it there)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return {**aws_env, "AWS_ENDPOINT_URL": moto_server}


#: The account of ``iam_env``: moto loads AWS's managed policies into it.
IAM_ACCOUNT = "210987654321"


@pytest.fixture
def iam_env(moto_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """moto knows AWS's managed policies only when asked (when an account's IAM is first used): these tests get
    an account of their own where it does, so deploy can attach AWSLambdaBasicExecutionRole."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", IAM_ACCOUNT)
    return moto_env


_NAME_COUNTER = itertools.count(1)


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[..., str]:
    """``unique_name(label="")``: a new name on every call, from this test's node id and a session-wide counter.

    Lower case letters, digits and hyphens, starting with a letter, at most 40 characters plus ``-label``:
    valid as a Lambda function or layer name, an IAM role and an S3 bucket, with room for suffixes such as
    ``-deps-1`` or ``-eu-west-1``."""
    node = request.node.nodeid
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_")).strip("-") or "t"
    digest = hashlib.sha256(node.encode()).hexdigest()[:6]

    def make(label: str = "") -> str:
        name = f"t-{slug[:22].strip('-')}-{digest}-{next(_NAME_COUNTER)}"
        if label:
            tail = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
            assert tail, f"label {label!r} has no letters or digits"
            name = f"{name}-{tail}"
        assert len(name) <= 63, f"{name!r} is too long for a bucket or function name"
        return name

    return make


# ---------------------------------------------------------------- container images: local registries, a base


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry on 127.0.0.1 without authentication, for the session; its host:port."""
    from image_helpers import running_registry

    need_tool("docker-registry")
    with running_registry(tmp_path_factory.mktemp("registry"), auth=False) as host:
        yield host


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same with htpasswd Basic auth (image_helpers.USER / PASSWORD)."""
    from image_helpers import running_registry

    need_tool("docker-registry")
    need_tool("htpasswd")
    with running_registry(tmp_path_factory.mktemp("auth-registry"), auth=True) as host:
        yield host


@pytest.fixture(scope="session")
def base_image(registry: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small two-architecture base image in ``registry`` (never fetched from outside); its reference."""
    from image_helpers import make_base_layout, push_base

    need_tool("skopeo")
    return push_base(make_base_layout(tmp_path_factory.mktemp("base-layout")), registry)


# ---------------------------------------------------------------- the test pyramid's rule
#: an unmarked test's call may take this long: the quick loop (`-m "not slow"`) stays quick only if it holds
UNMARKED_LIMIT_S = 2.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--unmarked-limit", type=float, default=UNMARKED_LIMIT_S,
                     help="fail an unmarked test (neither slow nor pypi) whose call takes longer, in seconds; 0: off")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A test over the limit without the slow (or pypi) marker fails: mark it, or make it faster."""
    outcome = yield
    report = outcome.get_result()
    limit = item.config.getoption("--unmarked-limit")
    if (call.when == "call" and report.passed and limit and call.duration > limit
            and not any(item.get_closest_marker(name) for name in ("slow", "pypi"))):
        report.outcome = "failed"
        report.longrepr = (f"unmarked test took {call.duration:.1f} s, over {limit:g} s: mark it "
                           "@pytest.mark.slow, or make it faster (conftest.UNMARKED_LIMIT_S)")
