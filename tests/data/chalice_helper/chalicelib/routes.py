from chalicelib.core import app


@app.route("/items/{item}", methods=["GET", "DELETE"], cors=True)
def item(item):
    return {"item": item}
