from chalice import Blueprint, Chalice

app = Chalice(app_name="helper-app")
extra = Blueprint(__name__)


@app.route("/")
def index():
    return {}


@extra.route("/extra")
def extra_view():
    return {}


@extra.schedule("rate(5 minutes)")
def tick(event):
    return {}


def create_app():
    app.register_blueprint(extra, url_prefix="/v1")
    return app


create_app()
