"""The service as production runs it: gunicorn with config/gunicorn.conf.py (README
« Déploiement en production »), started as the systemd unit starts it. Nothing else in the suite
loads that file: a setting it names wrongly, or a logging setup that fails, shows here first."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(database_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "FLUX_ENV": "production",
        "FLUX_SECRET_KEY": "test-only-secret-key-0123456789abcdef",
        "FLUX_DATABASE_URL": database_url,
        "FLUX_WEB_BIND": f"127.0.0.1:{port}",
        "FLUX_WEB_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    command = [str(GUNICORN), "-c", str(ROOT / "config/gunicorn.conf.py"), "flux:create_app()"]
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True
    )
    try:
        for _ in range(150):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.1)
        yield port, tmp_path / "gunicorn.log"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_the_production_settings_serve_and_log_each_request_as_json(server):
    port, log = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/api/v1/health", headers={"X-Request-Id": "smoke-1"})
    response = connection.getresponse()
    assert response.status == 200 and json.loads(response.read())["status"] == "ok"
    connection.close()
    for _ in range(50):  # the line is written once the response is sent
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        access = [line for line in lines if line.get("logger") == "flux.access"]
        if access:
            break
        time.sleep(0.1)
    assert access[0]["path"] == "/api/v1/health" and access[0]["status"] == 200
    assert access[0]["request_id"] == "smoke-1"
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # gunicorn's own, as JSON
