"""The "F" limit of the API benchmark: a bare Flask app with one JSON route and no database.

Served by the same gunicorn settings as ``wsgi:app`` in ``bench/api.py``; whatever it reaches
is the most any Flask endpoint can reach on this machine with that server and load generator.

    gunicorn bench.bare_app:app
"""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():  # type: ignore[no-untyped-def]
    return jsonify(status="ok", service="bare")
