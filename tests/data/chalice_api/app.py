"""Every REST API feature Chalice's OpenAPI generator knows, for the comparison with `chalice package`."""

from chalice import (
    AuthResponse,
    Blueprint,
    Chalice,
    CognitoUserPoolAuthorizer,
    CORSConfig,
    CustomAuthorizer,
    IAMAuthorizer,
)

app = Chalice(app_name="api-features")
app.api.binary_types.append("application/x-custom")
app.api.cors = True

pool = CognitoUserPoolAuthorizer("MyPool", provider_arns=["arn:aws:cognito-idp:us-east-1:1:userpool/us-east-1_x"])
iam = IAMAuthorizer()
custom = CustomAuthorizer("Custom", header="X-Token", authorizer_uri="arn:aws:apigateway:us-east-1:lambda:path/"
                          "2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:auth/invocations", ttl_seconds=60)
cors_config = CORSConfig(allow_origin="https://example.com", allow_headers=["X-Special"], max_age=600,
                         expose_headers=["X-Exposed"], allow_credentials=True)
items = Blueprint(__name__)


@app.authorizer(header="X-Auth", ttl_seconds=30)
def token_auth(auth_request):
    return AuthResponse(routes=["*"], principal_id="user")


@app.route("/")
def index():
    """The index.

    It says hello.
    """
    return {"hello": "world"}


@app.route("/users/{user_id}/posts/{post_id}", methods=["GET", "PUT"], api_key_required=True)
def post(user_id, post_id):
    return {}


@app.route("/upload", methods=["POST"], content_types=["application/octet-stream", "image/png"], cors=False)
def upload():
    return {}


@app.route("/custom-cors", methods=["GET", "POST"], cors=cors_config)
def custom_cors():
    return {}


@app.route("/cognito", authorizer=pool)
def cognito():
    return {}


@app.route("/scoped", authorizer=pool.with_scopes(["read", "write"]))
def scoped():
    return {}


@app.route("/iam", methods=["DELETE"], authorizer=iam)
def signed():
    return {}


@app.route("/custom", authorizer=custom)
def custom_auth():
    return {}


@app.route("/token", authorizer=token_auth)
def token():
    return {}


@items.route("/{item}")
def item(item):
    return {}


app.register_blueprint(items, url_prefix="/items")
