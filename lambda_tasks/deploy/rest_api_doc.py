"""The REST API's OpenAPI document, as Chalice generates it (chalice/deploy/swagger.py), pure.

:func:`swagger` is Chalice's Swagger 2.0 document: one path per route, a Lambda proxy integration per method,
path parameters, a mock OPTIONS method for CORS preflight, the binary media types, ``api_key`` and each
authorizer as security definitions. ``uri`` says where an integration points: an invocation URI in a region
(deploy), a CloudFormation ``Fn::Sub`` or a Terraform reference (package).

:func:`openapi3` is the same API as OpenAPI 3.0, the form ``import_rest_api``/``put_rest_api`` are sent (API
Gateway takes both; moto, which the tests run against, takes only 3.0). :func:`digest` names a document.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any

from ..app_model import Authorizer, Route, WebApp

API_HANDLER = "api_handler"
_EMPTY = {"$ref": "#/definitions/Empty"}


def invocation_uri(function_arn: str, region: str) -> str:
    """API Gateway's URI for invoking a Lambda function."""
    partition = function_arn.split(":")[1]
    return f"arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def swagger(app: WebApp, uri: Callable[[str], Any]) -> dict[str, Any]:
    """Chalice's Swagger 2.0 document for ``app``; ``uri(short_name)`` is a function's integration URI."""
    api: dict[str, Any] = {
        "swagger": "2.0", "info": {"version": "1.0", "title": app.title}, "schemes": ["https"], "paths": {},
        "definitions": {"Empty": {"type": "object", "title": "Empty Schema"}},
        "x-amazon-apigateway-binary-media-types": list(app.binary_types),
    }
    for path in dict.fromkeys(route.path for route in app.routes):
        methods: dict[str, Any] = {}
        cors, with_cors = None, []
        for route in (r for r in app.routes if r.path == path):
            methods[route.method.lower()] = _method(route, uri)
            _security_definitions(api, route, app.authorizer(route.authorizer) if route.authorizer else None, uri)
            if route.cors is not None:
                cors = route.cors
                with_cors.append(route.method)
        if cors is not None:
            methods["options"] = _preflight(cors.headers(), with_cors)
        api["paths"][path] = methods
    return api


def _method(route: Route, uri: Callable[[str], Any]) -> dict[str, Any]:
    method: dict[str, Any] = {
        "consumes": list(route.content_types), "produces": ["application/json"],
        "responses": {"200": {"description": "200 response", "schema": dict(_EMPTY)}},
        "x-amazon-apigateway-integration": {
            "responses": {"default": {"statusCode": "200"}}, "uri": uri(API_HANDLER),
            "passthroughBehavior": "when_no_match", "httpMethod": "POST", "contentHandling": "CONVERT_TO_TEXT",
            "type": "aws_proxy"},
    }
    if route.doc:
        lines = route.doc.splitlines()
        method["summary"] = lines[0]
        if len(lines) > 1:
            method["description"] = "\n".join(lines[1:]).strip("\n")
    if route.api_key_required:
        method.setdefault("security", []).append({"api_key": []})
    if route.authorizer:
        method.setdefault("security", []).append({route.authorizer: list(route.scopes)})
    if route.parameters:
        method["parameters"] = [{"name": name, "in": "path", "required": True, "type": "string"}
                                for name in route.parameters]
    return method


def _security_definitions(api: dict[str, Any], route: Route, authorizer: Authorizer | None,
                          uri: Callable[[str], Any]) -> None:
    definitions = api.setdefault("securityDefinitions", {}) if route.api_key_required or authorizer else {}
    if authorizer is not None:
        definitions[authorizer.name] = authorizer_definition(authorizer, uri)
    if route.api_key_required:
        definitions["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}


def authorizer_definition(authorizer: Authorizer, uri: Callable[[str], Any]) -> dict[str, Any]:
    """An authorizer's security definition (SwaggerGenerator._generate_security_from_auth_obj)."""
    if authorizer.kind == "iam":
        return {"in": "header", "type": "apiKey", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4"}
    found: dict[str, Any] = {"in": "header", "type": "apiKey", "name": authorizer.header}
    if authorizer.kind == "cognito":
        found["x-amazon-apigateway-authtype"] = "cognito_user_pools"
        found["x-amazon-apigateway-authorizer"] = {"type": "cognito_user_pools",
                                                   "providerARNs": list(authorizer.provider_arns)}
        return found
    found["x-amazon-apigateway-authtype"] = "custom"
    config: dict[str, Any] = {"type": "token",
                              "authorizerUri": uri(authorizer.name) if authorizer.kind == "chalice" else authorizer.uri}
    if authorizer.kind == "custom":
        config["authorizerResultTtlInSeconds"] = 300 if authorizer.ttl_seconds is None else authorizer.ttl_seconds
    if authorizer.credentials is not None:
        config["authorizerCredentials"] = authorizer.credentials
    if authorizer.kind == "chalice" and authorizer.ttl_seconds is not None:
        config["authorizerResultTtlInSeconds"] = authorizer.ttl_seconds
    found["x-amazon-apigateway-authorizer"] = config
    return found


def _preflight(headers: dict[str, str], methods: list[str]) -> dict[str, Any]:
    """The mock OPTIONS method answering CORS preflight (SwaggerGenerator._add_preflight_request)."""
    params = {"Access-Control-Allow-Methods": ",".join([*methods, "OPTIONS"]), **headers}
    return {
        "consumes": ["application/json"], "produces": ["application/json"],
        "responses": {"200": {"description": "200 response", "schema": dict(_EMPTY),
                              "headers": {name: {"type": "string"} for name in params}}},
        "x-amazon-apigateway-integration": {
            "responses": {"default": {"statusCode": "200", "responseParameters": {
                f"method.response.header.{name}": f"'{value}'" for name, value in params.items()}}},
            "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "passthroughBehavior": "when_no_match", "type": "mock", "contentHandling": "CONVERT_TO_TEXT"},
    }


def openapi3(document: dict[str, Any], description: str) -> dict[str, Any]:
    """A Swagger 2.0 document of :func:`swagger` as OpenAPI 3.0 (same paths, integrations, security)."""
    doc = copy.deepcopy(document)
    out: dict[str, Any] = {"openapi": "3.0.1", "info": {**doc["info"], "description": description}, "paths": {}}
    for path, methods in doc["paths"].items():
        out["paths"][path] = converted = {}
        for verb, method in methods.items():
            produces = method.pop("produces", ["application/json"])
            method.pop("consumes", None)
            for response in method.get("responses", {}).values():
                schema = response.pop("schema", None)
                if schema is not None:
                    response["content"] = {kind: {"schema": _ref3(schema)} for kind in produces}
                for header in response.get("headers", {}).values():
                    header["schema"] = {"type": header.pop("type", "string")}
            for parameter in method.get("parameters", []):
                parameter["schema"] = {"type": parameter.pop("type", "string")}
            converted[verb] = method
    components: dict[str, Any] = {"schemas": doc.get("definitions", {})}
    if "securityDefinitions" in doc:
        components["securitySchemes"] = doc["securityDefinitions"]
    out["components"] = components
    out.update({k: v for k, v in doc.items() if k.startswith("x-")})
    return out


def _ref3(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return {"$ref": ref.replace("#/definitions/", "#/components/schemas/")} if ref else schema


def digest(document: dict[str, Any]) -> str:
    """A short name for a document: the same document, the same digest."""
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:20]


def cfn_uri(logical_id: str) -> dict[str, str]:
    """The integration URI of the function ``logical_id`` in a CloudFormation template (CFNSwaggerGenerator)."""
    return {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                       f"${{{logical_id}.Arn}}/invocations"}
