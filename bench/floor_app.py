"""The floor of the stack, for bench/load.py: gunicorn and Flask serving POST
/api/v1/vacancies by running pgbench's own transaction (bench/pgbench_scope.sql) through
SQLAlchemy Core: no authentication, no validation, no rule, no answer to build.

What the API costs above it is Flux's; what it costs above pgbench is the stack's. Not part of
the product: gunicorn loads it only during the benchmark (``bench.floor_app:create_app()``).
"""

from __future__ import annotations

import json
import os

import sqlalchemy as sa
from flask import Flask, request

LOCK = sa.text(
    "SELECT version FROM allocation_scopes "
    "WHERE landlord_id = :landlord AND departement_code = '31' FOR UPDATE"
)
INSERT = sa.text(
    "INSERT INTO journal_entries (kind, effective_date, recorded_at, landlord_id, "
    "departement_code, period, payload) "
    "VALUES ('pgbench', '2026-07-01', now(), :landlord, '31', 2026, CAST(:payload AS jsonb))"
)
COUNT = sa.text(
    "UPDATE allocation_scopes SET version = version + 1 "
    "WHERE landlord_id = :landlord AND departement_code = '31'"
)


def create_app() -> Flask:
    app = Flask(__name__)
    engine = sa.create_engine(os.environ["FLUX_DATABASE_URL"])
    landlord = int(os.environ["FLOOR_LANDLORD"])

    @app.post("/api/v1/vacancies")
    def decide():
        body = request.get_json()
        with engine.begin() as connection:
            connection.execute(LOCK, {"landlord": landlord})
            for n in (1, 2):
                connection.execute(INSERT, {"landlord": landlord, "payload": json.dumps({"n": n})})
            connection.execute(COUNT, {"landlord": landlord})
        answer = json.dumps({"dwelling": body["dwelling"], "available_on": body["available_on"]})
        return app.response_class(answer, status=201, mimetype="application/json")

    @app.get("/api/v1/health")
    def health():
        return {"status": "ok"}

    return app
