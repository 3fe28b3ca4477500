"""Logs: one JSON object per line (LOG_FORMAT = "json", the production setting) carrying the
request id, and one access line per request (logger `flux.access`).

The request id is the caller's `X-Request-Id` (printable, 64 characters at most) or a new one;
it is sent back in the response's `X-Request-Id`, recorded with journal and audit entries, and
written on every log line of the request.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

ACCESS = logging.getLogger("flux.access")


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON (a traceback, if any, in the "exception" member)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        found = getattr(record, "request_id", None) or request_id()
        if found:
            entry["request_id"] = found
        for name in ("method", "path", "status", "duration_ms"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """Install the JSON handler on the `flux` loggers when LOG_FORMAT is "json" (once)."""
    if app.config.get("LOG_FORMAT") != "json":
        return
    logger = logging.getLogger("flux")
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False


def init_app(app: Flask) -> None:
    configure_logging(app)

    def _request_id() -> None:
        given = request.headers.get("X-Request-Id", "")[:64]
        # recorded as is (journal, audit): a control character would not store everywhere
        g.request_id = given if given and given.isprintable() else uuid.uuid4().hex
        g.flux_log_started = time.perf_counter()

    # first of all: authentication and refusals before it already have their request id
    app.before_request_funcs.setdefault(None, []).insert(0, _request_id)

    @app.after_request
    def _access(response: Response) -> Response:
        if "request_id" in g:
            response.headers.setdefault("X-Request-Id", g.request_id)
        if app.config.get("LOG_REQUESTS"):
            started = g.get("flux_log_started", time.perf_counter())
            ACCESS.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response
