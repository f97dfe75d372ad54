"""The baseline for bench_ingest: a Flask endpoint that parses the same JSON and answers
201 without validating or storing anything, served the same way as the real API."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/feedback")
def noop():
    body = request.get_json()
    return jsonify({"id": 1, "idempotency_key": body.get("idempotency_key")}), 201
