"""Sample events, one per kind of trigger, shaped as AWS sends them (pure): what ``verify --all`` gives each
function, and what ``--event KIND`` names.

Shapes from AWS's documentation of each integration (API Gateway proxy integration v1 and payload format 2.0,
S3, SQS, SNS, EventBridge scheduled events, API Gateway websocket $connect, DynamoDB and Kinesis streams),
trimmed to the fields handlers and frameworks (Chalice, Mangum, Powertools) read.
"""

from __future__ import annotations

import copy
from typing import Any

_ACCOUNT, _REGION, _TIME = "123456789012", "us-east-1", "2026-01-01T00:00:00Z"
_HEADERS = {"accept": "application/json", "host": "example.execute-api.us-east-1.amazonaws.com",
            "user-agent": "lambda-tasks-verify", "x-forwarded-proto": "https", "x-forwarded-port": "443"}

_SAMPLES: dict[str, dict[str, Any]] = {
    "api-rest": {
        "resource": "/", "path": "/", "httpMethod": "GET", "headers": _HEADERS,
        "multiValueHeaders": {k: [v] for k, v in _HEADERS.items()}, "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
        "requestContext": {"resourcePath": "/", "httpMethod": "GET", "path": "/api/", "stage": "api",
                           "accountId": _ACCOUNT, "apiId": "example", "requestId": "verify-request",
                           "identity": {"sourceIp": "127.0.0.1", "userAgent": "lambda-tasks-verify"},
                           "domainName": _HEADERS["host"], "protocol": "HTTP/1.1", "requestTimeEpoch": 1767225600000},
        "body": None, "isBase64Encoded": False,
    },
    "api-http": {
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "", "headers": _HEADERS,
        "requestContext": {"accountId": _ACCOUNT, "apiId": "example", "domainName": _HEADERS["host"],
                           "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                                    "userAgent": "lambda-tasks-verify"},
                           "requestId": "verify-request", "routeKey": "$default", "stage": "$default",
                           "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 1767225600000},
        "isBase64Encoded": False,
    },
    "s3": {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": _REGION, "eventTime": _TIME,
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "EXAMPLE"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "verify",
               "bucket": {"name": "example-bucket", "arn": "arn:aws:s3:::example-bucket",
                          "ownerIdentity": {"principalId": "EXAMPLE"}},
               "object": {"key": "example/key.txt", "size": 1024, "eTag": "0123456789abcdef0123456789abcdef",
                          "sequencer": "0A1B2C3D4E5F678901"}}}]},
    "sqs": {"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d", "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": "{\"hello\": \"from SQS\"}", "attributes": {
            "ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000", "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1767225600001"},
        "messageAttributes": {}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3", "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{_REGION}:{_ACCOUNT}:example-queue", "awsRegion": _REGION}]},
    "sns": {"Records": [{
        "EventVersion": "1.0", "EventSource": "aws:sns",
        "EventSubscriptionArn": f"arn:aws:sns:{_REGION}:{_ACCOUNT}:example-topic:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "TopicArn": f"arn:aws:sns:{_REGION}:{_ACCOUNT}:example-topic", "Subject": "example",
                "Message": "{\"hello\": \"from SNS\"}", "Timestamp": _TIME, "SignatureVersion": "1",
                "Signature": "EXAMPLE", "SigningCertUrl": "EXAMPLE", "UnsubscribeUrl": "EXAMPLE",
                "MessageAttributes": {}}}]},
    "schedule": {
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": _ACCOUNT, "time": _TIME, "region": _REGION,
        "resources": [f"arn:aws:events:{_REGION}:{_ACCOUNT}:rule/example-rule"], "detail": {}},
    "eventbridge": {
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "EC2 Instance State-change "
        "Notification", "source": "aws.ec2", "account": _ACCOUNT, "time": _TIME, "region": _REGION,
        "resources": [f"arn:aws:ec2:{_REGION}:{_ACCOUNT}:instance/i-1234567890abcdef0"],
        "detail": {"instance-id": "i-1234567890abcdef0", "state": "running"}},
    "websocket": {
        "headers": {"Host": _HEADERS["host"]}, "multiValueHeaders": {"Host": [_HEADERS["host"]]},
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "extendedRequestId": "verify",
                           "requestTime": "01/Jan/2026:00:00:00 +0000", "messageDirection": "IN", "stage": "api",
                           "connectedAt": 1767225600000, "requestTimeEpoch": 1767225600000,
                           "identity": {"sourceIp": "127.0.0.1"}, "requestId": "verify-request",
                           "domainName": _HEADERS["host"], "connectionId": "verify-connection=",
                           "apiId": "example"},
        "isBase64Encoded": False},
    "dynamodb": {"Records": [{
        "eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": _REGION, "dynamodb": {"Keys": {"Id": {"N": "101"}}, "NewImage": {"Id": {"N": "101"}},
                                           "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_IMAGE"},
        "eventSourceARN": f"arn:aws:dynamodb:{_REGION}:{_ACCOUNT}:table/example/stream/2026-01-01T00:00:00.000"}]},
    "kinesis": {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "1", "sequenceNumber": "4959033343",
                    "data": "eyJoZWxsbyI6ICJmcm9tIEtpbmVzaXMifQ==", "approximateArrivalTimestamp": 1767225600.0},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000006:4959033343",
        "eventName": "aws:kinesis:record", "awsRegion": _REGION,
        "eventSourceARN": f"arn:aws:kinesis:{_REGION}:{_ACCOUNT}:stream/example"}]},
    "authorizer": {"type": "TOKEN", "authorizationToken": "allow",
                   "methodArn": f"arn:aws:execute-api:{_REGION}:{_ACCOUNT}:example/api/GET/"},
    "custom": {},
}

#: a Chalice function's kind (sources/chalice_app.py) -> the sample it gets
FOR_CHALICE = {"rest_api": "api-rest", "lambda_function": "custom", "schedule": "schedule", "s3": "s3",
               "sns": "sns", "sqs": "sqs", "cloudwatch_event": "eventbridge", "kinesis": "kinesis",
               "dynamodb": "dynamodb", "websocket": "websocket", "authorizer": "authorizer"}
KINDS = tuple(_SAMPLES)


def sample(kind: str) -> dict[str, Any]:
    """A fresh copy of the sample event of ``kind`` (one of :data:`KINDS`)."""
    return copy.deepcopy(_SAMPLES[kind])
