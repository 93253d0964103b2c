from chalicelib.core import app
from chalicelib import routes  # noqa: F401  (registers the routes)


@app.lambda_function()
def worker(event, context):
    return {}
