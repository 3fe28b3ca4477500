"""Prometheus metrics at /metrics (prometheus-client).

Two sources:
- per request, counted in the process that answered: requests by method, route and status,
  and their duration. Under gunicorn, set PROMETHEUS_MULTIPROC_DIR (config/gunicorn.conf.py
  does) so that a scrape sums every worker's figures;
- from the database at scrape time, the same whichever worker answers: journal entries by
  kind (its size), decisions (orientations and overrides), job runs by job and status,
  alerts by kind.

Who may scrape: a caller presenting `Authorization: Bearer <METRICS_TOKEN>` (the setting
FLUX_METRICS_TOKEN; no token set: nobody this way) or an administrator's API token.
Anyone else gets 401 (no or unknown token) or 403.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from flux.db import db

METRICS_PATH = "/metrics"
DECISION_KINDS = ("orientation", "override")

REQUESTS = Counter("flux_http_requests", "Requêtes HTTP traitées", ["method", "route", "status"])
LATENCY = Histogram(
    "flux_http_request_duration_seconds",
    "Durée de traitement des requêtes HTTP",
    ["method", "route"],
    # up to the reports: a national PDF takes tens of seconds
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


class DatabaseCollector(Collector):
    """Figures read from the database when scraped (all workers see the same)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from flux.models import Alert, JobRun, JournalEntry

        session = db.session
        journal = GaugeMetricFamily(
            "flux_journal_entries", "Écritures au journal, par nature", labels=["kind"]
        )
        decisions = 0
        for kind, count in session.execute(
            sa.select(JournalEntry.kind, sa.func.count()).group_by(JournalEntry.kind)
        ):
            journal.add_metric([kind], count)
            if kind in DECISION_KINDS:
                decisions += count
        yield journal
        yield GaugeMetricFamily(
            "flux_decisions",
            "Décisions d'orientation au journal (orientations et dérogations)",
            value=decisions,
        )
        runs = GaugeMetricFamily(
            "flux_job_runs", "Exécutions des tâches planifiées", labels=["job", "status"]
        )
        for job, status, count in session.execute(
            sa.select(JobRun.job, JobRun.status, sa.func.count()).group_by(
                JobRun.job, JobRun.status
            )
        ):
            runs.add_metric([job, status], count)
        yield runs
        alerts = GaugeMetricFamily("flux_alerts", "Alertes émises, par nature", labels=["kind"])
        for kind, count in session.execute(
            sa.select(Alert.kind, sa.func.count()).group_by(Alert.kind)
        ):
            alerts.add_metric([kind], count)
        yield alerts


def _allowed() -> Response | None:
    """None if the caller may scrape, else the refusal."""
    from flux.api.problems import problem
    from flux.domain.reference import Role
    from flux.services.users import actor_for_token

    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return problem(401, headers={"WWW-Authenticate": 'Bearer realm="flux-metrics"'})
    expected = current_app.config.get("METRICS_TOKEN") or ""
    if expected and hmac.compare_digest(secret.encode(), expected.encode()):
        return None
    actor = actor_for_token(db.session, secret)
    if actor is None:
        return problem(401, headers={"WWW-Authenticate": 'Bearer realm="flux-metrics"'})
    if actor.role is not Role.ADMIN:
        return problem(403, detail="Les métriques sont réservées aux administrateurs.")
    return None


def _exposition() -> bytes:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)
    else:
        requests = REGISTRY
    return generate_latest(requests) + generate_latest(registry)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_clock() -> None:
        g.flux_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("flux_started", None)
        if started is None or request.path == METRICS_PATH:
            return response
        route = request.url_rule.rule if request.url_rule is not None else "(aucune)"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.route(METRICS_PATH, endpoint="metrics")
    def _metrics() -> Response:
        refused = _allowed()
        if refused is not None:
            return refused
        body = _exposition()
        db.session.rollback()
        return Response(body, content_type=CONTENT_TYPE_LATEST)
