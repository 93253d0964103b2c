"""A Chalice app as `chalice new-project` writes one, grown a little: routes (one REST API function), a pure
Lambda function, a schedule, an S3 upload handler and an SQS consumer (four more functions). lambda-tasks builds
it unchanged and deploys it whole: the REST API, the rule, the bucket notification and the queue's event source."""

import os

from chalice import Chalice, Rate
from chalicelib.greeting import greet

app = Chalice(app_name="chalice-app")


@app.route("/")
def index():
    return {"hello": "world", "stage": os.environ["STAGE"]}


@app.route("/greet/{name}", methods=["GET"])
def greet_route(name):
    return {"greeting": greet(name, os.environ["GREETING"])}


@app.lambda_function(name="crunch")
def crunch(event, context):
    return {"sum": sum(event.get("numbers", []))}


@app.schedule(Rate(1, unit=Rate.HOURS))
def every_hour(event):
    return {"ran": True}


@app.on_s3_event(bucket="chalice-app-uploads", events=["s3:ObjectCreated:*"], prefix="incoming/")
def on_upload(event):
    return {"bucket": event.bucket, "key": event.key}


@app.on_sqs_message(queue="chalice-app-jobs", batch_size=5)
def on_job(event):
    return {"jobs": [record.body for record in event]}
