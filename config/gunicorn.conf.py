"""gunicorn settings for Flux's web service (README « Déploiement en production »):

    .venv/bin/gunicorn -c config/gunicorn.conf.py 'flux:create_app()'

Sized for the reports: the national PDF of the annual report takes tens of seconds of one
core (bench/README.md), so a request may take up to TIMEOUT seconds before its worker is
killed, and each worker is a process of its own (sync workers: a report does not stall the
other requests of its worker's peers). Every value can be overridden by an environment
variable, listed beside it.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("FLUX_WEB_BIND", "127.0.0.1:8000")
# Two workers per core plus one, at most 8: enough for API traffic while a report computes.
workers = int(os.environ.get("FLUX_WEB_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
worker_class = "sync"
# A national PDF report: about 50 s measured; leave room on a loaded machine.
timeout = int(os.environ.get("FLUX_WEB_TIMEOUT", 180))
graceful_timeout = 30
keepalive = 5
# Workers are replaced after this many requests (pandas and report buffers are freed).
max_requests = 1000
max_requests_jitter = 100
# The request line and headers: the API's are short.
limit_request_line = 8190
limit_request_fields = 100

# Logs: the application writes one JSON line per request (logger flux.access, with the
# request id); gunicorn's own messages go to stderr as JSON too.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "flux.ops.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
    },
}

# Prometheus: the workers' request counters are summed through files in this directory,
# emptied when gunicorn starts (prometheus-client's multiprocess mode).
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "flux-prometheus")
)


def on_starting(server) -> None:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
