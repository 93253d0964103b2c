"""What a template holds around the functions, as ``chalice package`` writes it: the REST API (Chalice's OpenAPI
document, a deployment, the stage, the permissions), event sources (rules, mappings, subscriptions; S3
notifications for Terraform only), the websocket API (API Gateway v2) and function URLs. Pure; templates.py adds
them to CloudFormation, SAM and Terraform documents.

CloudFormation cannot change the notifications of a bucket it did not make, so, as ``chalice package`` says,
S3 events are left out of CloudFormation and SAM templates (one note each).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..app_model import ApiSettings, CustomDomain, EventSource, FunctionUrl, WebApp
from ..deploy.rest_api_doc import API_HANDLER, cfn_uri, digest, swagger


class FunctionPlan(Protocol):
    """What this module needs of a template's function (templates.FunctionPlan)."""

    @property
    def key(self) -> str: ...  # its logical id

    @property
    def name(self) -> str: ...

    @property
    def short(self) -> str: ...  # Chalice's name for it

_PRINCIPALS = {"schedule": "events", "cloudwatch_event": "events", "sns": "sns", "s3": "s3"}


def _by_short(functions: Sequence[FunctionPlan]) -> dict[str, FunctionPlan]:
    return {f.short: f for f in functions}


# ------------------------------------------------------------------------------------------ CloudFormation


def cloudformation(web: WebApp | None, api: ApiSettings, functions: Sequence[FunctionPlan],
                   urls: Mapping[str, FunctionUrl], domain: CustomDomain | None = None
                   ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(resources, outputs, notes)."""
    resources: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    notes: list[str] = []
    short = _by_short(functions)
    if web is not None and web.routes and API_HANDLER in short:
        _cfn_api(web, api, short, resources, outputs)
        if domain is not None:
            _cfn_domain(domain, api, resources, outputs)
    for n, source in enumerate(web.events if web is not None else (), 1):
        target = short.get(source.function)
        if target is not None:
            notes += _cfn_event(source, target, n, resources)
    for f in functions:
        if f.name in urls:
            _cfn_url(f, urls[f.name], resources, outputs)
    routes = _socket_routes(web, short)
    if routes:
        _cfn_websocket(web.title if web else "", api, routes, resources, outputs)
    return resources, outputs, notes


def _socket_routes(web: WebApp | None, short: dict[str, FunctionPlan]) -> dict[str, FunctionPlan]:
    """Route key -> the function serving it, for the websocket handlers the app has."""
    return {e.route: short[e.function] for e in (web.events if web is not None else ())
            if e.kind == "websocket" and e.function in short}


def _cfn_websocket(title: str, api: ApiSettings, routes: dict[str, FunctionPlan], resources: dict[str, Any],
                   outputs: dict[str, Any]) -> None:
    resources["WebsocketAPI"] = {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
        "Name": f"{title}-websocket-api", "ProtocolType": "WEBSOCKET",
        "RouteSelectionExpression": "$request.body.action"}}
    route_keys = []
    for key, f in routes.items():
        name = {"$connect": "Connect", "$default": "Message", "$disconnect": "Disconnect"}[key]
        resources[f"Websocket{name}Integration"] = {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
            "ApiId": {"Ref": "WebsocketAPI"}, "ConnectionType": "INTERNET", "IntegrationType": "AWS_PROXY",
            "ContentHandlingStrategy": "CONVERT_TO_TEXT", "IntegrationUri": cfn_uri(f.key)}}
        resources[f"Websocket{name}Route"] = {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
            "ApiId": {"Ref": "WebsocketAPI"}, "RouteKey": key, "RouteResponseSelectionExpression": "$default",
            "Target": {"Fn::Join": ["/", ["integrations", {"Ref": f"Websocket{name}Integration"}]]}}}
        route_keys.append(f"Websocket{name}Route")
        resources[f"{f.key}WebsocketPermission"] = _cfn_permission(f, "apigateway", {
            "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebsocketAPI}/*"})
    resources["WebsocketAPIDeployment"] = {"Type": "AWS::ApiGatewayV2::Deployment", "DependsOn": route_keys,
                                           "Properties": {"ApiId": {"Ref": "WebsocketAPI"}}}
    resources["WebsocketAPIStage"] = {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
        "ApiId": {"Ref": "WebsocketAPI"}, "DeploymentId": {"Ref": "WebsocketAPIDeployment"},
        "StageName": api.stage}}
    outputs["WebsocketConnectEndpointURL"] = {"Value": {
        "Fn::Sub": "wss://${WebsocketAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + api.stage}}


def _cfn_permission(function: FunctionPlan, principal: str, source: Any) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": function.key},
        "Principal": f"{principal}.amazonaws.com", "SourceArn": source}}


def _cfn_api(web: WebApp, api: ApiSettings, short: dict[str, FunctionPlan], resources: dict[str, Any],
             outputs: dict[str, Any]) -> None:
    body = swagger(web, lambda name: cfn_uri(short[name].key))
    properties: dict[str, Any] = {"Name": web.title, "Body": body, "EndpointConfiguration": {
        "Types": [api.endpoint_type]}}
    if api.minimum_compression_size is not None:
        properties["MinimumCompressionSize"] = api.minimum_compression_size
    deployment = f"RestAPIDeployment{digest(body)[:10]}"  # a new document: a new deployment
    resources["RestAPI"] = {"Type": "AWS::ApiGateway::RestApi", "Properties": properties}
    resources[deployment] = {"Type": "AWS::ApiGateway::Deployment",
                             "Properties": {"RestApiId": {"Ref": "RestAPI"}}}
    resources["RestAPIStage"] = {"Type": "AWS::ApiGateway::Stage", "Properties": {
        "RestApiId": {"Ref": "RestAPI"}, "DeploymentId": {"Ref": deployment}, "StageName": api.stage}}
    source = {"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestAPI}/*"}
    for name in [API_HANDLER, *(a.name for a in web.authorizers if a.kind == "chalice")]:
        if name in short:
            resources[f"{short[name].key}InvokePermission"] = _cfn_permission(short[name], "apigateway", source)
    outputs["EndpointURL"] = {"Value": {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
                                                   f"{api.stage}/"}}
    outputs["RestAPIId"] = {"Value": {"Ref": "RestAPI"}}


def _cfn_domain(domain: CustomDomain, api: ApiSettings, resources: dict[str, Any], outputs: dict[str, Any]) -> None:
    edge = api.endpoint_type == "EDGE"
    properties: dict[str, Any] = {"DomainName": domain.domain_name, "SecurityPolicy": domain.tls_version,
                                  "EndpointConfiguration": {"Types": [api.endpoint_type]},
                                  "CertificateArn" if edge else "RegionalCertificateArn": domain.certificate_arn}
    if domain.tags:
        properties["Tags"] = [{"Key": k, "Value": v} for k, v in domain.tags]
    resources["ApiGatewayCustomDomain"] = {"Type": "AWS::ApiGateway::DomainName", "Properties": properties}
    mapping: dict[str, Any] = {"DomainName": {"Ref": "ApiGatewayCustomDomain"}, "RestApiId": {"Ref": "RestAPI"},
                               "Stage": {"Ref": "RestAPIStage"}}
    if domain.url_prefix:
        mapping["BasePath"] = domain.url_prefix
    resources["ApiGatewayBasePathMapping"] = {"Type": "AWS::ApiGateway::BasePathMapping", "Properties": mapping}
    target = "DistributionDomainName" if edge else "RegionalDomainName"
    outputs["AliasDomainName"] = {"Value": {"Fn::GetAtt": ["ApiGatewayCustomDomain", target]}}


def _queue_arn(source: EventSource) -> Any:
    if source.kind == "sqs":
        return source.arn or {"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:"
                                         f"{source.queue}"}
    if source.kind == "kinesis":
        return {"Fn::Sub": f"arn:${{AWS::Partition}}:kinesis:${{AWS::Region}}:${{AWS::AccountId}}:stream/"
                           f"{source.stream}"}
    return source.arn


def _cfn_event(source: EventSource, f: FunctionPlan, n: int, resources: dict[str, Any]) -> list[str]:
    key = f"{f.key}Event{n}"
    if source.kind in ("schedule", "cloudwatch_event"):
        rule: dict[str, Any] = {"State": "ENABLED", "Targets": [{"Arn": {"Fn::GetAtt": [f.key, "Arn"]}, "Id": "1"}]}
        if source.kind == "schedule":
            rule["ScheduleExpression"] = source.expression
            if source.description:
                rule["Description"] = source.description
        else:
            rule["EventPattern"] = json.loads(source.pattern)
        resources[key] = {"Type": "AWS::Events::Rule", "Properties": rule}
        resources[f"{key}Permission"] = _cfn_permission(f, "events", {"Fn::GetAtt": [key, "Arn"]})
    elif source.kind in ("sqs", "kinesis", "dynamodb"):
        mapping: dict[str, Any] = {"EventSourceArn": _queue_arn(source), "FunctionName": {"Ref": f.key},
                                   "BatchSize": source.batch_size, "MaximumBatchingWindowInSeconds":
                                   source.batching_window}
        if source.kind != "sqs":
            mapping["StartingPosition"] = source.starting_position
        elif source.maximum_concurrency:
            mapping["ScalingConfig"] = {"MaximumConcurrency": source.maximum_concurrency}
        resources[key] = {"Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping}
    elif source.kind == "sns":
        topic = source.topic if source.topic.startswith("arn:") else \
            {"Fn::Sub": f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{source.topic}"}
        resources[key] = {"Type": "AWS::SNS::Subscription", "Properties": {
            "Endpoint": {"Fn::GetAtt": [f.key, "Arn"]}, "Protocol": "lambda", "TopicArn": topic}}
        resources[f"{key}Permission"] = _cfn_permission(f, "sns", topic)
    elif source.kind == "s3":
        return [f"the S3 notification of bucket {source.bucket} for {f.name} is not in the template: CloudFormation "
                "cannot change the notifications of a bucket it did not make (chalice package refuses it too); "
                "use --format terraform, or invoke deploy"]
    return []


def _cfn_url(f: FunctionPlan, url: FunctionUrl, resources: dict[str, Any], outputs: dict[str, Any]) -> None:
    config = url.config()
    properties: dict[str, Any] = {"TargetFunctionArn": {"Fn::GetAtt": [f.key, "Arn"]}, **config}
    resources[f"{f.key}Url"] = {"Type": "AWS::Lambda::Url", "Properties": properties}
    if url.auth == "NONE":
        resources[f"{f.key}UrlPermission"] = {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunctionUrl", "FunctionName": {"Ref": f.key}, "Principal": "*",
            "FunctionUrlAuthType": "NONE"}}
    outputs[f"{f.key}FunctionUrl"] = {"Value": {"Fn::GetAtt": [f"{f.key}Url", "FunctionUrl"]}}


# ------------------------------------------------------------------------------------------ Terraform


def terraform(web: WebApp | None, api: ApiSettings, functions: Sequence[FunctionPlan],
              urls: Mapping[str, FunctionUrl], tf_name: Any, domain: CustomDomain | None = None
              ) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(resources by kind, outputs, notes); ``tf_name`` turns a function's key into its resource name."""
    resources: dict[str, dict[str, Any]] = {}
    outputs: dict[str, Any] = {}
    short = _by_short(functions)
    names = {s: tf_name(f.key) for s, f in short.items()}

    def add(kind: str, name: str, body: dict[str, Any]) -> None:
        resources.setdefault(kind, {})[name] = body

    if web is not None and web.routes and API_HANDLER in short:
        body = swagger(web, lambda s: f"${{aws_lambda_function.{names[s]}.invoke_arn}}")
        rest: dict[str, Any] = {"name": web.title, "body": json.dumps(body),
                                "endpoint_configuration": {"types": [api.endpoint_type]}}
        if api.minimum_compression_size is not None:
            rest["minimum_compression_size"] = api.minimum_compression_size
        add("aws_api_gateway_rest_api", "rest_api", rest)
        add("aws_api_gateway_deployment", "rest_api", {
            "rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}",
            "triggers": {"redeployment": digest(body)}, "lifecycle": {"create_before_destroy": True}})
        add("aws_api_gateway_stage", "rest_api", {
            "rest_api_id": "${aws_api_gateway_rest_api.rest_api.id}", "stage_name": api.stage,
            "deployment_id": "${aws_api_gateway_deployment.rest_api.id}"})
        for name in [API_HANDLER, *(a.name for a in web.authorizers if a.kind == "chalice")]:
            if name in names:
                add("aws_lambda_permission", f"{names[name]}_rest_api", {
                    "function_name": f"${{aws_lambda_function.{names[name]}.function_name}}",
                    "action": "lambda:InvokeFunction", "principal": "apigateway.amazonaws.com",
                    "source_arn": "${aws_api_gateway_rest_api.rest_api.execution_arn}/*"})
        outputs["rest_api_url"] = {"value": "${aws_api_gateway_stage.rest_api.invoke_url}/"}
        if domain is not None:
            edge = api.endpoint_type == "EDGE"
            named: dict[str, Any] = {"domain_name": domain.domain_name, "security_policy": domain.tls_version,
                                     "endpoint_configuration": {"types": [api.endpoint_type]},
                                     "certificate_arn" if edge else "regional_certificate_arn":
                                         domain.certificate_arn}
            if domain.tags:
                named["tags"] = dict(domain.tags)
            add("aws_api_gateway_domain_name", "api_gateway_custom_domain", named)
            add("aws_api_gateway_base_path_mapping", "api_gateway_custom_domain_mapping", {
                "api_id": "${aws_api_gateway_rest_api.rest_api.id}",
                "stage_name": "${aws_api_gateway_stage.rest_api.stage_name}", "base_path": domain.url_prefix or None,
                "domain_name": "${aws_api_gateway_domain_name.api_gateway_custom_domain.domain_name}"})
            target = "cloudfront_domain_name" if edge else "regional_domain_name"
            outputs["alias_domain_name"] = {
                "value": f"${{aws_api_gateway_domain_name.api_gateway_custom_domain.{target}}}"}
    buckets: dict[str, list[dict[str, Any]]] = {}
    for n, source in enumerate(web.events if web is not None else (), 1):
        if source.function in names:
            _tf_event(source, names[source.function], n, add, buckets)
    for bucket, configs in buckets.items():
        add("aws_s3_bucket_notification", _tf_id(bucket), {"bucket": bucket, "lambda_function": configs,
                                                           "depends_on": [c.pop("_permission") for c in configs]})
    for f in functions:
        if f.name in urls:
            name = tf_name(f.key)
            config = urls[f.name].config()
            body2: dict[str, Any] = {"function_name": f"${{aws_lambda_function.{name}.function_name}}",
                                     "authorization_type": config["AuthType"], "invoke_mode": config["InvokeMode"]}
            if "Cors" in config:
                cors: Any = config["Cors"]
                body2["cors"] = {"allow_origins": cors["AllowOrigins"], "allow_methods": cors["AllowMethods"],
                                 "allow_headers": cors["AllowHeaders"]}
            add("aws_lambda_function_url", name, body2)
            if config["AuthType"] == "NONE":
                add("aws_lambda_permission", f"{name}_url", {
                    "function_name": f"${{aws_lambda_function.{name}.function_name}}",
                    "action": "lambda:InvokeFunctionUrl", "principal": "*", "function_url_auth_type": "NONE"})
            outputs[f"{name}_function_url"] = {"value": f"${{aws_lambda_function_url.{name}.function_url}}"}
    routes = {key: names[f.short] for key, f in _socket_routes(web, short).items()}
    if routes:
        add("aws_apigatewayv2_api", "websocket_api", {
            "name": f"{web.title if web else ''}-websocket-api", "protocol_type": "WEBSOCKET",
            "route_selection_expression": "$request.body.action"})
        api_id = "${aws_apigatewayv2_api.websocket_api.id}"
        for key, name in routes.items():
            label = key.removeprefix("$")
            add("aws_apigatewayv2_integration", label, {
                "api_id": api_id, "integration_type": "AWS_PROXY", "connection_type": "INTERNET",
                "content_handling_strategy": "CONVERT_TO_TEXT",
                "integration_uri": f"${{aws_lambda_function.{name}.invoke_arn}}"})
            add("aws_apigatewayv2_route", label, {
                "api_id": api_id, "route_key": key, "route_response_selection_expression": "$default",
                "target": f"integrations/${{aws_apigatewayv2_integration.{label}.id}}"})
            add("aws_lambda_permission", f"{name}_websocket", {
                "function_name": f"${{aws_lambda_function.{name}.function_name}}",
                "action": "lambda:InvokeFunction", "principal": "apigateway.amazonaws.com",
                "source_arn": "${aws_apigatewayv2_api.websocket_api.execution_arn}/*"})
        add("aws_apigatewayv2_stage", "websocket_api", {"api_id": api_id, "name": api.stage, "auto_deploy": True})
        outputs["websocket_url"] = {"value": "${aws_apigatewayv2_stage.websocket_api.invoke_url}"}
    return resources, outputs, []


def _tf_id(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text).strip("_").lower() or "x"


def _tf_event(source: EventSource, name: str, n: int, add: Any, buckets: dict[str, list[dict[str, Any]]]) -> None:
    key = f"{name}_event{n}"
    fn = f"${{aws_lambda_function.{name}.function_name}}"
    arn = f"${{aws_lambda_function.{name}.arn}}"
    region_account = "${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
    partition = "${data.aws_partition.current.partition}"
    if source.kind in ("schedule", "cloudwatch_event"):
        rule: dict[str, Any] = {"name_prefix": f"{name[:40]}-"}
        if source.kind == "schedule":
            rule["schedule_expression"] = source.expression
            if source.description:
                rule["description"] = source.description
        else:
            rule["event_pattern"] = source.pattern
        add("aws_cloudwatch_event_rule", key, rule)
        add("aws_cloudwatch_event_target", key, {"rule": f"${{aws_cloudwatch_event_rule.{key}.name}}",
                                                 "target_id": "1", "arn": arn})
        add("aws_lambda_permission", key, {"function_name": fn, "action": "lambda:InvokeFunction",
                                           "principal": "events.amazonaws.com",
                                           "source_arn": f"${{aws_cloudwatch_event_rule.{key}.arn}}"})
    elif source.kind in ("sqs", "kinesis", "dynamodb"):
        source_arn = source.arn or (f"arn:{partition}:sqs:{region_account}:{source.queue}" if source.kind == "sqs"
                                    else f"arn:{partition}:kinesis:{region_account}:stream/{source.stream}")
        mapping: dict[str, Any] = {"event_source_arn": source_arn, "function_name": fn,
                                   "batch_size": source.batch_size,
                                   "maximum_batching_window_in_seconds": source.batching_window}
        if source.kind != "sqs":
            mapping["starting_position"] = source.starting_position
        add("aws_lambda_event_source_mapping", key, mapping)
    elif source.kind == "sns":
        topic = source.topic if source.topic.startswith("arn:") else f"arn:{partition}:sns:{region_account}:" \
                                                                      f"{source.topic}"
        add("aws_sns_topic_subscription", key, {"topic_arn": topic, "protocol": "lambda", "endpoint": arn})
        add("aws_lambda_permission", key, {"function_name": fn, "action": "lambda:InvokeFunction",
                                           "principal": "sns.amazonaws.com", "source_arn": topic})
    elif source.kind == "s3":
        add("aws_lambda_permission", key, {"function_name": fn, "action": "lambda:InvokeFunction",
                                           "principal": "s3.amazonaws.com",
                                           "source_arn": f"arn:{partition}:s3:::{source.bucket}"})
        config: dict[str, Any] = {"lambda_function_arn": arn, "events": list(source.events),
                                  "_permission": f"aws_lambda_permission.{key}"}
        if source.prefix:
            config["filter_prefix"] = source.prefix
        if source.suffix:
            config["filter_suffix"] = source.suffix
        buckets.setdefault(source.bucket, []).append(config)


def read_policies(web: WebApp | None, short: str) -> tuple[str, ...]:
    """The AWS-managed policies a role the template makes needs to poll the function's queues and streams."""
    kinds = {e.kind for e in (web.events if web is not None else ()) if e.function == short}
    names = {"sqs": "AWSLambdaSQSQueueExecutionRole", "kinesis": "AWSLambdaKinesisExecutionRole",
             "dynamodb": "AWSLambdaDynamoDBExecutionRole"}
    return tuple(f"arn:aws:iam::aws:policy/service-role/{names[k]}" for k in sorted(kinds & set(names)))
