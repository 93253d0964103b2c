# From github.com/aws/chalice docs/source/topics/blueprints.rst, "Advanced Example" (commit 51ac904), Apache-2.0;
# ruff: noqa
# copied as test input.
from chalice import Chalice
from chalicelib.events import myevents
from chalicelib.api import myapi

app = Chalice(app_name='blueprint-demo')
app.register_blueprint(myevents)
app.register_blueprint(myapi)
