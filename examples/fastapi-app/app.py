"""A FastAPI app behind Mangum (the ASGI adapter for Lambda): `invoke deploy` gives it a function URL
(function_url = true in pyproject.toml), an HTTPS endpoint of the function itself."""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI(title="fastapi-app")


@app.get("/")
def index() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/items/{item_id}")
def item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


handler = Mangum(app, lifespan="off")
