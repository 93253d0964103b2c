"""A chalice wheel for offline tests: the two runtime files (a small Chalice that routes API Gateway proxy events,
as the real one does), a command-line part that must never ship, and the real release's kind of dependencies."""

from __future__ import annotations

from pathlib import Path

from factory import make_wheel

RUNTIME_INIT = '''from chalice.app import Chalice, Rate, Response  # noqa: F401
'''

RUNTIME_APP = '''"""Just enough of Chalice's runtime for the tests: routes answer API Gateway proxy events."""
import json


class _S3Event:
    # as chalice.app.S3Event: the first record's bucket and key

    def __init__(self, event):
        s3 = event["Records"][0]["s3"]
        self.bucket, self.key = s3["bucket"]["name"], s3["object"]["key"]


class _SQSRecord:
    def __init__(self, record):
        self.body = record["body"]


class _SQSEvent:
    # as chalice.app.SQSEvent: iterating gives the records, each with its body

    def __init__(self, event):
        self._records = event["Records"]

    def __iter__(self):
        return (_SQSRecord(record) for record in self._records)


class Rate:
    HOURS = "hours"

    def __init__(self, value, unit):
        self.value, self.unit = value, unit


class Response:
    def __init__(self, body, status_code=200, headers=None):
        self.body, self.status_code, self.headers = body, status_code, headers or {}


class Chalice:
    def __init__(self, app_name):
        self.app_name = app_name
        self.routes = {}

    def route(self, path, methods=("GET",), **kwargs):
        def register(function):
            for method in methods:
                self.routes[(path, method)] = function
            return function
        return register

    def lambda_function(self, name=None):
        return lambda function: function

    def schedule(self, expression, name=None):
        def register(function):
            return lambda event, context: function(event)
        return register

    def on_s3_event(self, bucket, events=None, prefix=None, suffix=None, name=None):
        def register(function):
            return lambda event, context: function(_S3Event(event))
        return register

    def on_sqs_message(self, queue=None, batch_size=1, name=None, queue_arn=None, **kwargs):
        def register(function):
            return lambda event, context: function(_SQSEvent(event))
        return register

    def on_ws_connect(self, name=None):
        return self.schedule(name)

    on_ws_message = on_ws_disconnect = on_ws_connect

    def __call__(self, event, context):
        function = self.routes.get((event["resource"], event["httpMethod"]))
        if function is None:
            return {"statusCode": 403, "headers": {}, "body": json.dumps({"message": "Missing Authentication Token"})}
        answer = function(**(event.get("pathParameters") or {}))
        if isinstance(answer, Response):
            return {"statusCode": answer.status_code, "headers": answer.headers, "body": json.dumps(answer.body)}
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(answer)}
'''


def make_chalice(directory: Path, version: str = "1.34.0", requires: tuple[str, ...] = ("click", "sharedlib")) -> Path:
    """chalice-<version>-py3-none-any.whl, and wheels of what it requires, in ``directory``."""
    for name in requires:
        if not any(directory.glob(f"{name}-*.whl")):
            make_wheel(directory, name)
    return make_wheel(directory, "chalice", version=version, requires=list(requires), files={
        "chalice/__init__.py": RUNTIME_INIT + f"__version__ = {version!r}\n",
        "chalice/app.py": RUNTIME_APP,
        "chalice/cli/__init__.py": "import click\n",
        "chalice/deploy/deployer.py": "# the command-line tool\n",
    })

