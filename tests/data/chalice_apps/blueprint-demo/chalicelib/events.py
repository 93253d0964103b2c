# From github.com/aws/chalice docs/source/topics/blueprints.rst, "Advanced Example" (commit 51ac904), Apache-2.0.
# ruff: noqa
from chalice import Blueprint


myevents = Blueprint(__name__)


@myevents.schedule('rate(5 minutes)')
def cron(event):
    pass


@myevents.on_sns_message('MyTopic')
def handle_sns_message(event):
    pass
