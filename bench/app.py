"""The app as gunicorn serves it for benchmarks, plus a bare endpoint to compare with."""

from webapp import create_app

app = create_app()


@app.get("/_bare")
def bare():
    return "ok"
