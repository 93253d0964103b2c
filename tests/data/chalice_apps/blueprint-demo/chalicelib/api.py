# From github.com/aws/chalice docs/source/topics/blueprints.rst, "Advanced Example" (commit 51ac904), Apache-2.0.
# ruff: noqa
from chalice import Blueprint


myapi = Blueprint(__name__)


@myapi.route('/')
def index():
    return {'hello': 'world'}


@myapi.route('/foo')
def index():
    return {'foo': 'bar'}
