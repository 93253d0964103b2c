"""A Chalice app as `chalice new-project` writes one, grown a little: routes (one REST API function), a pure
Lambda function and a schedule (two more functions). lambda-tasks builds it unchanged."""

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
