"""Reading a Chalice project without running it: app.py's functions and .chalice/config.json for a stage.

Cases follow Chalice's own behaviour and tests (chalice/app.py, config.py, deploy/appgraph.py;
tests/unit/test_config.py, tests/unit/deploy/test_appgraph.py), and real apps copied from the chalice repository
into tests/data/chalice_apps/ (README.md there names each one's origin).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lambda_tasks.config import FunctionSpec
from lambda_tasks.errors import ProjectError, SettingsError
from lambda_tasks.sources.chalice_app import ChaliceApp, read_app
from lambda_tasks.sources.chalice_config import (
    CONFIG_KEYS,
    function_notes,
    function_specs,
    read_config,
    readme_table,
    stage_values,
)

DATA = Path(__file__).parent / "data" / "chalice_apps"


def app_from(tmp_path: Path, source: str, files: dict[str, str] | None = None) -> ChaliceApp | None:
    (tmp_path / "app.py").write_text(textwrap.dedent(source))
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return read_app(tmp_path / "app.py")


def functions(app: ChaliceApp | None) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    assert app is not None
    return {f.short_name: (f.kind, f.handler, f.not_deployed) for f in app.functions}


def specs(app: ChaliceApp | None, config: dict[str, Any] | None, stage: str = "dev") -> dict[str, FunctionSpec]:
    assert app is not None
    return {s.short_name or "": s for s in function_specs(app, config, stage)}


# -- app.py ------------------------------------------------------------------------------------------------------

EVERY_DECORATOR = """
    import os
    from chalice import Chalice, Rate, Cron

    app = Chalice(app_name="every")

    @app.route("/")
    def index(): ...

    @app.route("/items", methods=["POST", "PUT"], cors=True)
    def items(): ...

    @app.authorizer(ttl_seconds=300, header="X-Token")
    def auth(request): ...

    @app.lambda_function()
    def plain(event, context): ...

    @app.lambda_function(name="crunch")
    def crunch_numbers(event, context): ...

    @app.schedule("rate(5 minutes)")
    def every5(event): ...

    @app.schedule(Rate(1, unit=Rate.HOURS), name="hourly")
    def each_hour(event): ...

    @app.schedule(Cron(0, 10, "*", "*", "?", "*"))
    def at_ten(event): ...

    @app.on_s3_event(bucket="my-bucket", events=["s3:ObjectRemoved:*"], prefix="in/", suffix=".csv")
    def s3(event): ...

    @app.on_sns_message(topic="my-topic")
    def sns(event): ...

    @app.on_sqs_message(queue=os.environ["QUEUE"], batch_size=10)
    def sqs(event): ...

    @app.on_sqs_message(queue_arn="arn:aws:sqs:us-east-1:123456789012:q")
    def sqs_arn(event): ...

    @app.on_cw_event({"source": ["aws.ec2"]})
    def cwe(event): ...

    @app.on_kinesis_record(stream="my-stream")
    def kinesis(event): ...

    @app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:stream", batch_size=5, starting_position="TRIM_HORIZON")
    def ddb(event): ...

    @app.on_ws_connect()
    def connect(event): ...

    @app.on_ws_message(name="ignored-by-chalice")
    def message(event): ...

    @app.on_ws_disconnect()
    def disconnect(event): ...

    @app.middleware("all")
    def logged(event, get_response): ...
"""


def test_every_decorator_gives_chalices_names_handlers_and_what_is_not_deployed(tmp_path):
    app = app_from(tmp_path, EVERY_DECORATOR)
    assert app is not None and app.app_name == "every" and app.variable == "app" and app.notes == ()
    assert functions(app) == {
        "api_handler": ("rest_api", "app.app", ("API Gateway REST API for 2 routes (GET /, POST,PUT /items)",)),
        "auth": ("authorizer", "app.auth", ("API Gateway authorizer auth on the REST API (header X-Token, ttl 300 s)",)),
        "plain": ("lambda_function", "app.plain", ()),
        "crunch": ("lambda_function", "app.crunch_numbers", ()),
        "every5": ("schedule", "app.every5", ("EventBridge rule rate(5 minutes)",)),
        "hourly": ("schedule", "app.each_hour", ("EventBridge rule rate(1 hour)",)),
        "at_ten": ("schedule", "app.at_ten", ("EventBridge rule cron(0 10 * * ? *)",)),
        "s3": ("s3", "app.s3", ("S3 notification on bucket my-bucket (s3:ObjectRemoved:*, prefix in/, suffix .csv)",)),
        "sns": ("sns", "app.sns", ("SNS subscription to topic my-topic",)),
        "sqs": ("sqs", "app.sqs", ("SQS event source queue <expression> (batch size 10)",)),
        "sqs_arn": ("sqs", "app.sqs_arn", ("SQS event source queue arn:aws:sqs:us-east-1:123456789012:q (batch size 1)",)),
        "cwe": ("cloudwatch_event", "app.cwe", ('EventBridge rule for events {"source": ["aws.ec2"]}',)),
        "kinesis": ("kinesis", "app.kinesis",
                    ("Kinesis event source stream my-stream (batch size 100, starting position LATEST)",)),
        "ddb": ("dynamodb", "app.ddb",
                ("DynamoDB stream event source arn:aws:dynamodb:stream (batch size 5, starting position TRIM_HORIZON)",)),
        "websocket_connect": ("websocket", "app.connect", ("API Gateway websocket API route $connect",)),
        "websocket_message": ("websocket", "app.message", ("API Gateway websocket API route $default",)),
        "websocket_disconnect": ("websocket", "app.disconnect", ("API Gateway websocket API route $disconnect",)),
    }
    assert app.functions[0].python_name is None
    assert app.not_deployed == ()  # deploy makes the websocket API (deploy/websocket_api.py)


def test_deployed_names_follow_chalice(tmp_path):
    app = app_from(tmp_path, EVERY_DECORATOR)
    named = specs(app, None, "prod")
    assert named["api_handler"].name == "every-prod"  # appgraph: the REST API's function is <app>-<stage>
    assert named["crunch"].name == "every-prod-crunch"
    assert named["websocket_connect"].name == "every-prod-websocket_connect"
    assert named["crunch"].handler == "app.crunch_numbers"
    assert named["websocket_connect"].not_deployed == ()  # deploy makes the websocket API
    assert all(s.memory is None and s.environment is None and s.role is None for s in named.values())


@pytest.mark.parametrize("imports, create", [
    ("from chalice import Chalice", "Chalice"),
    ("from chalice import Chalice as C", "C"),
    ("import chalice", "chalice.Chalice"),
    ("import chalice as ch", "ch.Chalice"),
    ("from chalice.app import Chalice", "Chalice"),
    ("import chalice.app", "chalice.app.Chalice"),
    ("from chalice import *", "Chalice"),
])
def test_every_way_of_importing_chalice(tmp_path, imports, create):
    app = app_from(tmp_path, f"""
        {imports}
        app = {create}("aliased")

        @app.lambda_function()
        def work(event, context): ...
    """)
    assert app is not None and app.app_name == "aliased"
    assert functions(app) == {"work": ("lambda_function", "app.work", ())}


@pytest.mark.parametrize("create, expected", [
    ('Chalice("positional")', "positional"),
    ('Chalice(app_name="keyword")', "keyword"),
    ('Chalice(NAME)', "constant"),
    ('Chalice(app_name=os.environ["APP_NAME"])', None),
    ('Chalice(app_name=f"x-{NAME}")', None),
])
def test_app_name_positional_keyword_constant_or_expression(tmp_path, create, expected):
    app = app_from(tmp_path, f"""
        import os
        from chalice import Chalice
        NAME = "constant"
        app = {create}
    """)
    assert app is not None and app.app_name == expected


def test_an_app_not_named_app_uses_its_variable_and_says_chalice_would_not_find_it(tmp_path):
    app = app_from(tmp_path, """
        from chalice import Chalice
        application = Chalice(app_name="other")

        @application.route("/")
        def index(): ...

        @application.lambda_function(name="job")
        def run(event, context): ...
    """)
    assert app is not None and app.variable == "application"
    assert functions(app)["api_handler"][1] == "app.application"
    assert functions(app)["job"][1] == "app.run"
    assert "not 'app'" in app.notes[0]


def test_decorator_forms_and_what_chalice_ignores(tmp_path):
    app = app_from(tmp_path, """
        from chalice import Chalice
        app = Chalice("forms")
        NAME = "from-constant"

        @app.lambda_function
        def bare(event, context): ...

        @app.lambda_function(name=None)
        def explicit_none(event, context): ...

        @app.lambda_function(NAME)
        def positional(event, context): ...

        @app.not_a_decorator()
        def other(event, context): ...

        @some_other.lambda_function()
        def not_chalice(event, context): ...

        if True:
            @app.lambda_function()
            async def nested(event, context): ...
    """)
    assert list(functions(app)) == ["explicit_none", "from-constant", "nested"]
    assert app is not None and len(app.notes) == 2
    assert "app.py line 6: @app.lambda_function without parentheses registers nothing" in app.notes[0]
    assert "@app.not_a_decorator is not a Chalice decorator" in app.notes[1]


def test_not_chalice_or_missing_is_none_and_no_app_object_is_a_note(tmp_path):
    assert app_from(tmp_path, "def handler(event, context): ...") is None
    assert read_app(tmp_path / "missing.py") is None
    app = app_from(tmp_path, "from chalice import Response\nfrom chalicelib.core import app\n")
    assert app is not None and app.functions == () and "creates no Chalice(...)" in app.notes[0]


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    with pytest.raises(ProjectError, match=r"^app.py has a syntax error at line 3: ") as caught:
        app_from(tmp_path, "from chalice import Chalice\napp = Chalice('x')\ndef broken(:\n")
    assert "def broken(:" in str(caught.value)


def test_a_name_that_is_not_a_literal_is_an_error(tmp_path):
    with pytest.raises(ProjectError, match=r"line 4: the name= of @app\.lambda_function is not a literal string"):
        app_from(tmp_path, """
            from chalice import Chalice
            app = Chalice("x")
            @app.lambda_function(name=compute())
            def f(event, context): ...
        """)


def test_duplicate_names_are_refused_as_chalice_refuses_them(tmp_path):
    with pytest.raises(ProjectError, match="two Chalice functions are named 'job'"):
        app_from(tmp_path, """
            from chalice import Chalice
            app = Chalice("x")
            @app.lambda_function(name="job")
            def a(event, context): ...
            @app.schedule("rate(1 day)", name="job")
            def b(event): ...
        """)
    with pytest.raises(ProjectError, match=r"two @app\.on_ws_message handlers"):
        app_from(tmp_path, """
            from chalice import Chalice
            app = Chalice("x")
            @app.on_ws_message()
            def a(event): ...
            @app.on_ws_message()
            def b(event): ...
        """)


def test_an_authorizer_without_routes_is_not_deployed(tmp_path):
    app = app_from(tmp_path, """
        from chalice import Chalice
        app = Chalice("x")
        @app.authorizer()
        def auth(request): ...
    """)
    assert app is not None and app.functions == ()
    assert "authorizer 'auth' (app.auth) is not deployed" in app.notes[0]


def test_blueprints_from_chalicelib_as_in_chalices_docs():
    app = read_app(DATA / "blueprint-demo" / "app.py")
    assert functions(app) == {
        "cron": ("schedule", "chalicelib.events.cron", ("EventBridge rule rate(5 minutes)",)),
        "handle_sns_message": ("sns", "chalicelib.events.handle_sns_message", ("SNS subscription to topic MyTopic",)),
        "api_handler": ("rest_api", "app.app", ("API Gateway REST API for 2 routes (GET /, GET /foo)",)),
    }


def test_blueprint_prefixes_reexports_local_blueprints_and_unreadable_ones(tmp_path):
    app = app_from(tmp_path, """
        from chalice import Chalice, Blueprint
        import chalicelib
        from chalicelib import jobs
        from somewhere_installed import theirs

        app = Chalice("bp")
        local = Blueprint(__name__)

        @local.lambda_function()
        def here(event, context): ...

        app.register_blueprint(chalicelib.api, url_prefix="/v1")
        app.register_blueprint(jobs.work, name_prefix="jobs_")
        app.register_blueprint(local, "local_")
        app.register_blueprint(theirs)
    """, {
        "chalicelib/__init__.py": "from .routes import api\n",
        "chalicelib/routes.py": """
            from chalice import Blueprint
            api = Blueprint(__name__)
            @api.route("/items", methods=["GET"])
            def items(): ...
            @api.route("/")
            def root(): ...
        """,
        "chalicelib/jobs/__init__.py": """
            from chalice import Blueprint
            work = Blueprint("chalicelib.jobs")
            @work.schedule("rate(1 day)", name="nightly")
            def run(event): ...
        """,
    })
    assert functions(app) == {
        "api_handler": ("rest_api", "app.app", ("API Gateway REST API for 2 routes (GET /v1/items, GET /v1)",)),
        "jobs_nightly": ("schedule", "chalicelib.jobs.run", ("EventBridge rule rate(1 day)",)),
        "local_here": ("lambda_function", "app.here", ()),
    }
    assert app is not None and app.not_deployed == (
        "the functions of blueprint theirs (app.py line 16): lambda-tasks could not read its module in the project",)


def test_a_syntax_error_in_a_blueprint_module_names_that_file(tmp_path):
    with pytest.raises(ProjectError, match=r"^chalicelib/bp.py has a syntax error at line 1"):
        app_from(tmp_path, """
            from chalice import Chalice
            from chalicelib.bp import bp
            app = Chalice("x")
            app.register_blueprint(bp)
        """, {"chalicelib/bp.py": "def (\n"})


#: function short names (and handlers where they differ from app.<name>) of Chalice's own apps
REAL_APPS = {
    "testapp": ("replaceme", ["api_handler", "dummy_auth", "websocket_connect", "websocket_message",
                              "websocket_disconnect"]),
    "testwebsocketapp": ("testwebsocketapp", ["websocket_message"]),
    "envapp": ("env", ["api_handler"]),
    "media-query": ("media-query", ["api_handler", "handle_object_created", "handle_object_removed", "add_video_file"]),
    "todo-app": ("mytodo", ["api_handler", "jwt_auth"]),
    "s3-event-handler": ("{{app_name}}", ["s3_handler"]),
    "lambda-only": ("{{app_name}}", ["first_function", "second_function"]),
    "cdk-ddb": ("{{app_name}}", ["api_handler"]),
    "blueprint-demo": ("blueprint-demo", ["api_handler", "cron", "handle_sns_message"]),
}


@pytest.mark.parametrize("name", sorted(REAL_APPS))
def test_chalices_own_apps(name):
    app = read_app(DATA / name / "app.py")
    config = read_config(DATA / name)
    app_name, expected = REAL_APPS[name]
    assert app is not None and [f.short_name for f in app.functions] == expected
    named = function_specs(app, config, "dev")
    assert [s.name for s in named] == [f"{app_name}-dev" if s == "api_handler" else f"{app_name}-dev-{s}"
                                       for s in expected]
    if config is not None:
        stage_values(config, "dev")
    assert function_notes(app, config, "dev") == []


def test_chalices_test_app_details():
    app = read_app(DATA / "testapp" / "app.py")
    assert app is not None and app.app_name is None  # Chalice(app_name=os.environ['APP_NAME'])
    rest = app.functions[0].not_deployed[0]
    assert rest.startswith("API Gateway REST API for 29 routes (GET /, GET /a/b/c/d/e/f/g,") and rest.endswith("24 more)")
    media = functions(read_app(DATA / "media-query" / "app.py"))
    assert media["handle_object_removed"][2] == ("S3 notification on bucket <expression> (s3:ObjectRemoved:*)",)
    cdk = specs(read_app(DATA / "cdk-ddb" / "app.py"), read_config(DATA / "cdk-ddb"))
    assert cdk["api_handler"].environment == {"APP_TABLE_NAME": ""}
    env_values, _ = stage_values(read_config(DATA / "envapp") or {}, "dev")
    assert env_values == {"app_name": "env", "environment": {"FOO": "bar"}, "api_gateway_stage": "api"}


# -- .chalice/config.json ----------------------------------------------------------------------------------------

def write_config(tmp_path: Path, data: Any) -> Path:
    (tmp_path / ".chalice").mkdir(exist_ok=True)
    path = tmp_path / ".chalice" / "config.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_read_config_absent_valid_bad_json_and_bad_version(tmp_path):
    assert read_config(tmp_path) is None
    write_config(tmp_path, {"version": "2.0", "app_name": "a", "stages": {"dev": {}}})
    assert read_config(tmp_path) == {"version": "2.0", "app_name": "a", "stages": {"dev": {}}}
    write_config(tmp_path, '{"app_name": "a",\n "stages": }')
    with pytest.raises(SettingsError, match=r"^.chalice/config.json is not valid JSON: Expecting value at line 2"):
        read_config(tmp_path)
    write_config(tmp_path, {"version": "3.0"})
    with pytest.raises(SettingsError, match=r"version '3\.0' is not one Chalice knows"):
        read_config(tmp_path)


@pytest.mark.parametrize("data, key", [
    ([], "the file must be an object"),
    ({"stages": []}, "stages must be an object"),
    ({"stages": {"prod": {"lambda_timeout": "60"}}}, 'stages.prod.lambda_timeout must be a whole number, not "60"'),
    ({"lambda_memory_size": True}, "lambda_memory_size must be a whole number"),
    ({"environment_variables": {"A": 1}}, "environment_variables must be an object of string values"),
    ({"stages": {"dev": {"lambda_functions": {"f": {"tags": ["x"]}}}}}, "stages.dev.lambda_functions.f.tags must be"),
    ({"lambda_functions": {"f": []}}, "lambda_functions.f must be an object"),
    ({"manage_iam_role": "false"}, "manage_iam_role must be true or false"),
    ({"subnet_ids": "subnet-1"}, "subnet_ids must be a list of strings"),
    ({"app_name": 3}, "app_name must be a string"),
])
def test_wrong_types_name_the_key(tmp_path, data, key):
    write_config(tmp_path, data)
    with pytest.raises(SettingsError, match=f"^.chalice/config.json: {key}"):
        read_config(tmp_path)


def test_an_unknown_stage_is_new_as_in_chalice_with_a_note_listing_the_stages():
    values, notes = stage_values({"lambda_timeout": 5, "stages": {"prod": {"lambda_timeout": 9}, "dev": {}}}, "prdo")
    assert values == {"timeout": 5}
    assert notes[0].startswith("stage 'prdo' is not in .chalice/config.json (its stages: dev, prod): a new stage")
    assert stage_values({"lambda_timeout": 5}, "anything") == ({"timeout": 5}, [])


def test_stage_values_map_every_supported_key():
    config = {
        "app_name": "mapped", "environment_variables": {"TOP": "1", "BOTH": "top"}, "tags": {"team": "a"},
        "stages": {"dev": {
            "environment_variables": {"BOTH": "stage"}, "tags": {"cost": "b"}, "lambda_memory_size": 512,
            "lambda_timeout": 30, "manage_iam_role": False, "iam_role_arn": "arn:aws:iam::1:role/r",
            "layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"], "subnet_ids": ["sn-1"], "security_group_ids": ["sg-1"],
            "reserved_concurrency": 3, "xray": True, "lambda_ephemeral_storage": 1024,
        }},
    }
    values, notes = stage_values(config, "dev")
    assert values == {
        "app_name": "mapped", "environment": {"TOP": "1", "BOTH": "stage"}, "tags": {"team": "a", "cost": "b"},
        "memory": 512, "timeout": 30, "manage_iam_role": False, "role": "arn:aws:iam::1:role/r",
        "extra_layers": ("arn:aws:lambda:us-east-1:1:layer:x:1",), "subnet_ids": ("sn-1",),
        "security_group_ids": ("sg-1",), "reserved_concurrency": 3, "xray": True, "ephemeral_storage": 1024,
    }
    assert notes == []


def test_chalices_chain_of_stage_values():
    # tests/unit/test_config.py test_can_chain_chalice_stage_values
    disk = {"api_gateway_stage": "dev", "lambda_timeout": 10, "stages": {
        "dev": {}, "prod": {"iam_role_arn": "foobar", "manage_iam_role": False, "lambda_timeout": 20}}}
    dev, _ = stage_values(disk, "dev")
    prod, _ = stage_values(disk, "prod")
    assert dev == {"timeout": 10, "api_gateway_stage": "dev"}
    assert prod == {"timeout": 20, "manage_iam_role": False, "role": "foobar", "api_gateway_stage": "dev"}


def test_env_vars_and_tags_merge_like_chalice():
    # tests/unit/test_config.py test_env_vars_chain_merge and TestConfigureTags.test_tags_merge
    disk = {
        "environment_variables": {"top_level": "foo", "shared_stage_key": "from-top", "shared_stage": "from-top"},
        "tags": {"onlyglobalkey": "globalvalue", "sharedkey": "globalvalue", "sharedstage": "globalvalue"},
        "stages": {"prod": {
            "environment_variables": {"stage_var": "bar", "shared_stage_key": "from-stage", "shared_stage": "from-stage"},
            "tags": {"sharedkey": "stagevalue", "sharedstage": "stagevalue", "onlystagekey": "stagevalue"},
            "lambda_functions": {"api_handler": {
                "environment_variables": {"function_key": "from-function", "shared_stage": "from-function"},
                "tags": {"sharedkey": "functionvalue", "onlyfunctionkey": "functionvalue"},
            }},
        }},
    }
    app = ChaliceApp("m", "app", (read_app(DATA / "envapp" / "app.py") or ChaliceApp(None, "", ())).functions)
    api = specs(app, disk, "prod")["api_handler"]
    assert api.environment == {"top_level": "foo", "stage_var": "bar", "shared_stage": "from-function",
                               "function_key": "from-function", "shared_stage_key": "from-stage"}
    assert api.tags == {"onlyglobalkey": "globalvalue", "onlystagekey": "stagevalue",
                        "onlyfunctionkey": "functionvalue", "sharedstage": "stagevalue", "sharedkey": "functionvalue"}
    values, _ = stage_values(disk, "prod")
    assert values["environment"] == {"top_level": "foo", "stage_var": "bar", "shared_stage": "from-stage",
                                     "shared_stage_key": "from-stage"}


def two_function_app(tmp_path: Path) -> ChaliceApp:
    app = app_from(tmp_path, """
        from chalice import Chalice
        app = Chalice(app_name="from-app-py")
        @app.route("/")
        def index(): ...
        @app.lambda_function(name="myauth")
        def auth(event, context): ...
        @app.lambda_function()
        def other(event, context): ...
    """)
    assert app is not None
    return app


@pytest.mark.parametrize("stage, function, expected", [
    ("dev", "api_handler", "dev-api-handler"), ("dev", "myauth", "dev-myauth"),
    ("beta", "api_handler", "beta-api-handler"), ("beta", "myauth", "beta-myauth"),
    ("prod", "api_handler", "prod-stage"), ("prod", "myauth", "prod-stage"),
    ("foostage", "api_handler", "global"), ("foostage", "myauth", "global"),
])
def test_environment_per_stage_and_function(tmp_path, stage, function, expected):
    # tests/unit/test_config.py test_can_create_scope_new_stage_and_function ("foostage": a config without stages)
    disk: dict[str, Any] = {"environment_variables": {"from": "global"}, "stages": {
        "dev": {"environment_variables": {"from": "dev-stage"}, "lambda_functions": {
            "api_handler": {"environment_variables": {"from": "dev-api-handler"}},
            "myauth": {"environment_variables": {"from": "dev-myauth"}}}},
        "beta": {"environment_variables": {"from": "beta-stage"}, "lambda_functions": {
            "api_handler": {"environment_variables": {"from": "beta-api-handler"}},
            "myauth": {"environment_variables": {"from": "beta-myauth"}}}},
        "prod": {"environment_variables": {"from": "prod-stage"}},
    }}
    if stage == "foostage":
        disk.pop("stages")
    spec = specs(two_function_app(tmp_path), disk, stage)[function]
    values, _ = stage_values(disk, stage)
    assert (spec.environment or values["environment"]) == {"from": expected}


#: key -> (our FunctionSpec field, four distinct values: top level, top-level entry, stage, stage entry)
PER_FUNCTION = {
    "lambda_memory_size": ("memory", [128, 256, 512, 1024]),
    "lambda_timeout": ("timeout", [10, 15, 20, 30]),
    "lambda_ephemeral_storage": ("ephemeral_storage", [512, 1024, 2048, 4096]),
    "reserved_concurrency": ("reserved_concurrency", [1, 2, 3, 4]),
    "xray": ("xray", [False, True, False, True]),
    "layers": ("layers", [["l:top"], ["l:top-entry"], ["l:stage"], ["l:stage-entry"]]),
}


def shown(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("key", sorted(PER_FUNCTION))
def test_precedence_for_every_per_function_key(tmp_path, key):
    field, (top, top_entry, stage, stage_entry) = PER_FUNCTION[key]
    app = two_function_app(tmp_path)
    # Every level: the stage's entry wins (tests/unit/test_config.py test_can_chain_function_values).
    disk = {key: top, "lambda_functions": {"myauth": {key: top_entry}},
            "stages": {"dev": {key: stage, "lambda_functions": {"myauth": {key: stage_entry}}}, "prod": {}}}
    assert getattr(specs(app, disk, "dev")["myauth"], field) == shown(stage_entry)
    assert getattr(specs(app, disk, "dev")["other"], field) is None  # no entry: the stage-level setting applies
    setting = "extra_layers" if key == "layers" else field
    assert stage_values(disk, "dev")[0][setting] == shown(stage)
    # prod has no values: the top-level entry beats the top level (test_can_set_stage_independent_function_values)
    assert getattr(specs(app, disk, "prod")["myauth"], field) == shown(top_entry)
    assert stage_values(disk, "prod")[0][setting] == shown(top)
    # A stage value beats the top-level entry (test_stage_overrides_function_values): the function takes the stage's.
    del disk["stages"]["dev"]["lambda_functions"]  # type: ignore[attr-defined]
    assert getattr(specs(app, disk, "dev")["myauth"], field) is None


def test_role_vpc_and_their_checks(tmp_path):
    app = two_function_app(tmp_path)
    disk = {"stages": {"dev": {"lambda_functions": {
        "myauth": {"manage_iam_role": False, "iam_role_arn": "arn:aws:iam::1:role/auth",
                   "subnet_ids": ["sn-1"], "security_group_ids": ["sg-1"]},
        "other": {"iam_role_arn": "arn:aws:iam::1:role/unused"}}}}}
    named = specs(app, disk)
    assert (named["myauth"].role, named["myauth"].subnet_ids, named["myauth"].security_group_ids) == (
        "arn:aws:iam::1:role/auth", ("sn-1",), ("sg-1",))
    assert named["other"].role is None  # Chalice uses iam_role_arn only when manage_iam_role is false
    assert any("lambda_functions.other.iam_role_arn is not used" in n for n in function_notes(app, disk, "dev"))
    with pytest.raises(SettingsError, match="manage_iam_role is false but stage 'dev' has no iam_role_arn"):
        stage_values({"stages": {"dev": {"manage_iam_role": False}}}, "dev")
    with pytest.raises(SettingsError, match="stage 'dev' has subnet_ids without security_group_ids"):
        stage_values({"subnet_ids": ["sn-1"]}, "dev")
    with pytest.raises(SettingsError, match="function 'myauth' has security_group_ids without subnet_ids"):
        function_specs(app, {"lambda_functions": {"myauth": {"security_group_ids": ["sg"]}}}, "dev")
    values, notes = stage_values({"iam_role_arn": "arn:x", "manage_iam_role": True}, "dev")
    assert values == {"manage_iam_role": True} and "iam_role_arn is not used because" in notes[0]


def test_top_level_entry_environment_is_ignored_as_by_chalice(tmp_path):
    # Config._chain_merge leaves out the top-level lambda_functions entry.
    app = two_function_app(tmp_path)
    disk = {"environment_variables": {"A": "top"},
            "lambda_functions": {"myauth": {"environment_variables": {"A": "entry"}, "tags": {"t": "x"}}}}
    assert specs(app, disk)["myauth"].environment is None
    notes = function_notes(app, disk, "dev")
    assert [n.split(" is ignored")[0] for n in notes] == [
        ".chalice/config.json: lambda_functions.myauth.environment_variables",
        ".chalice/config.json: lambda_functions.myauth.tags"]


def test_notes_for_unsupported_unknown_and_misplaced_keys(tmp_path):
    disk = {"version": "2.0", "app_name": "n", "profile": "me", "automatic_layer": True, "enviroment_variables": {},
            "stages": {"dev": {
                "api_gateway_stage": "api", "api_gateway_endpoint_type": "REGIONAL", "api_gateway_endpoint_vpce": "v",
                "api_gateway_policy_file": "p.json", "minimum_compression_size": 10, "autogen_policy": False,
                "iam_policy_file": "x.json", "log_retention_in_days": 7, "app_name": "per-stage",
                "api_gateway_custom_domain": {"domain_name": "api.example.com", "certificate_arn": "arn"},
                "websocket_api_custom_domain": {"domain_name": "ws.example.com", "certificate_arn": "arn"},
                "lambda_functions": {"myauth": {"api_gateway_stage": "x", "lambda_timeout": 3},
                                     "myath": {"lambda_timeout": 4}},
            }}}
    _, notes = stage_values(disk, "dev")
    shown = {n.split(":")[1].strip() for n in notes}
    assert shown == {"stages.dev.api_gateway_endpoint_vpce", "stages.dev.api_gateway_policy_file",
                     "stages.dev.autogen_policy", "stages.dev.iam_policy_file",
                     "stages.dev.log_retention_in_days", "stages.dev.app_name",
                     "stages.dev.websocket_api_custom_domain", "profile", "automatic_layer",
                     "enviroment_variables is not a Chalice key"}
    assert any("did you mean 'environment_variables'?" in n for n in notes)
    assert all(len(n) < 160 for n in notes)
    app = two_function_app(tmp_path)
    extra = function_notes(app, disk, "dev")
    assert any("stages.dev.lambda_functions.myath names no function of the app: ignored; did you mean 'myauth'?" in n
               for n in extra)
    assert any("lambda_functions.myauth.api_gateway_stage: Chalice reads api_gateway_stage only at" in n for n in extra)
    named = specs(app, disk)
    assert named["api_handler"].not_deployed[-1:] == ("log group retention of 7 days",)  # the domain: deployed


def test_app_name_comes_from_the_setting_then_config_then_app_py(tmp_path):
    app = two_function_app(tmp_path)
    assert specs(app, None)["myauth"].name == "from-app-py-dev-myauth"
    assert specs(app, {"app_name": "from-config"})["myauth"].name == "from-config-dev-myauth"
    assert function_specs(app, {"app_name": "from-config"}, "dev", app_name="mine")[0].name == "mine-dev"
    nameless = ChaliceApp(None, "app", app.functions)
    with pytest.raises(ProjectError, match="the Chalice app has no app_name"):
        function_specs(nameless, None, "dev")


#: Every key chalice/config.py's Config reads from config.json (its _chain_lookup/_chain_merge calls and
#: config_file_version), plus the structure keys: CONFIG_KEYS must say what we do with each.
CHALICE_READS = {
    "profile", "app_name", "log_retention_in_days", "layers", "api_gateway_custom_domain",
    "websocket_api_custom_domain", "api_gateway_stage", "api_gateway_endpoint_type", "api_gateway_endpoint_vpce",
    "api_gateway_policy_file", "minimum_compression_size", "iam_policy_file", "lambda_memory_size", "lambda_timeout",
    "automatic_layer", "iam_role_arn", "manage_iam_role", "autogen_policy", "xray", "environment_variables", "tags",
    "security_group_ids", "subnet_ids", "reserved_concurrency", "version", "stages", "lambda_functions",
}


def test_config_keys_cover_what_chalice_reads_and_make_the_readme_table():
    assert set(CONFIG_KEYS) - {"lambda_ephemeral_storage"} == CHALICE_READS
    table = readme_table().splitlines()
    assert table[0].startswith("| config.json key |") and len(table) == len(CONFIG_KEYS) + 2
    assert all(f"`{key}`" in readme_table() for key in CONFIG_KEYS)
