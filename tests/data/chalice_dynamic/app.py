"""Values computed at import time: only importing the app (as Chalice does) can say them."""

import os

from chalice import Chalice, CORSConfig

app = Chalice(app_name="dynamic")
ORIGIN = os.environ["ALLOWED_ORIGIN"]
QUEUE = f"{app.app_name}-jobs"


@app.route("/", cors=CORSConfig(allow_origin=ORIGIN, max_age=int(os.environ["CORS_MAX_AGE"])))
def index():
    return {}


@app.on_sqs_message(queue=QUEUE, batch_size=int(os.environ["BATCH"]))
def consume(event):
    pass
