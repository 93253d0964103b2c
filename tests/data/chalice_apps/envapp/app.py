# From github.com/aws/chalice tests/functional/envapp/app.py (commit 51ac904), Apache-2.0; copied as test input.
# ruff: noqa
import os
import sys
from chalice import Chalice

app = Chalice(app_name='env')

try:
    foo = os.environ['FOO']
except KeyError:
    raise AssertionError("Env vars were not loaded at import time.")


@app.route('/')
def index():
    return {'hello': foo}


sys.stderr.write("READY")
sys.stderr.flush()
