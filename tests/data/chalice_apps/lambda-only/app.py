# From github.com/aws/chalice chalice/templates/0007-lambda-only/app.py (commit 51ac904), Apache-2.0; copied as test input.
# ruff: noqa
from chalice import Chalice

app = Chalice(app_name='{{app_name}}')


@app.lambda_function()
def first_function(event, context):
    return {'hello': 'world'}


@app.lambda_function()
def second_function(event, context):
    return {'hello': 'world2'}
