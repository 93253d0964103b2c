from chalicelib import routes  # noqa: F401  (registers the routes)
from chalicelib.core import app


@app.lambda_function()
def worker(event, context):
    return {}
