"""The API against the database's own limit, in one run: pgbench running the minimal
same-scope transaction (bench/pgbench_scope.sql), then POST /api/v1/vacancies under gunicorn,
each at 1 and 8 clients.

    .venv/bin/python bench/load.py --database-url postgresql+psycopg://…/scratch \
        [--seconds 10] [--workers 4] [--port 5120] [--template-dwellings 20000] [--profile N]

The floor, in the same run: the same gunicorn serving bench/floor_app.py (pgbench's own
transaction through Flask and SQLAlchemy Core, nothing else), driven by the same clients: the
part of the gap that is the stack's, not Flux's.

Both servers run with the production settings (config/gunicorn.conf.py: sync workers, one
request at a time per process, a connection per request). ``BENCH_GUNICORN_ARGS`` adds
gunicorn options to both, to compare other settings in the same run conditions, e.g.
``BENCH_GUNICORN_ARGS="--threads 4"`` (threaded workers, keep-alive; bench/README.md).

``--cpu``: also the processor time each request costs, per process kind (the gunicorn
processes, PostgreSQL's, this client), read from /proc before and after each phase; the
workers are then never replaced (``--max-requests 0``), whose time would leave with them.

``--profile N``: instead of the load, N POSTs through the Flask test client in this process
under cProfile (after 20 not profiled), with the SQL statements of one request.

The scratch database is cloned from the bulk benchmark's template (bench/world.py). pgbench
works on another landlord's scope of the same département (its rows would otherwise be new
entries the API's scope reads back); the API's clients each log vacancies of distinct
dwellings of one scope (the demo's largest landlord in the Haute-Garonne), over keep-alive
HTTP connections from threads of this process. Both run niced; the machine is shared.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import world as bench_world  # noqa: E402
from flux.db import db  # noqa: E402
from flux.models import AllocationScope, Organisation  # noqa: E402
from flux.services import allocation_book  # noqa: E402
from flux.services.allocation_book import Scope  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))
    if not candidates:
        raise SystemExit("pgbench introuvable (paquet postgresql)")
    return str(candidates[-1])


def run_pgbench(url: sa.URL, landlord: int, clients: int, seconds: int) -> float:
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    command = ["nice", pgbench_binary(), "-n", "-f", str(ROOT / "bench/pgbench_scope.sql")]
    command += ["-c", str(clients), "-j", str(clients), "-T", str(seconds)]
    command += ["-D", f"landlord={landlord}", libpq]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([\d.]+)", output).group(1))


def start_gunicorn(
    url: str, workers: int, port: int, app: str = "flux:create_app()", **env_more: str
) -> subprocess.Popen:
    """gunicorn with the production settings (config/gunicorn.conf.py: its worker class,
    threads and keep-alive), on ``port`` with ``workers`` processes."""
    env = {**os.environ, "FLUX_DATABASE_URL": url, "FLUX_ENV": "production", **env_more}
    env.setdefault("FLUX_SECRET_KEY", "bench-only-secret-key-0123456789abcdef")
    env.update(FLUX_WEB_WORKERS=str(workers), FLUX_WEB_BIND=f"127.0.0.1:{port}")
    # Each server its own metrics directory: the config empties it when gunicorn starts.
    env["PROMETHEUS_MULTIPROC_DIR"] = f"/tmp/flux-load-prometheus-{port}"
    command = [
        "nice",
        str(ROOT / ".venv/bin/gunicorn"),
        "-c",
        str(ROOT / "config/gunicorn.conf.py"),
    ]
    command += ["--log-level", "warning", *os.environ.get("BENCH_GUNICORN_ARGS", "").split()]
    command.append(app)
    # The access log (one JSON line per request) goes to a file, not to this terminal.
    log = open("/tmp/flux-load-gunicorn.log", "ab")  # noqa: SIM115 - lives with the server
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log
    )
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def run_api(
    port: int, token: str, dwellings: list[int], clients: int, seconds: int
) -> tuple[float, int]:
    """Decisions per second, and how many dwellings were used."""
    queue = iter(dwellings)
    lock, done, errors, taken = threading.Lock(), [0], [], [0]
    deadline = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while time.perf_counter() < deadline:
            with lock:
                dwelling = next(queue)
                taken[0] += 1
            on = date(2026, 7, 1) + timedelta(days=dwelling % 150)
            body = json.dumps({"dwelling": dwelling, "available_on": str(on)})
            connection.request("POST", "/api/v1/vacancies", body, headers)
            response = connection.getresponse()
            response.read()
            with lock:
                if response.status == 201:
                    done[0] += 1
                else:
                    errors.append(response.status)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"  {len(errors)} non-201 answers: {sorted(set(errors))}")
    return done[0] / (time.perf_counter() - started), taken[0]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_now(server: subprocess.Popen) -> dict[str, float]:
    """Processor seconds so far: the server's gunicorn processes (master and workers),
    PostgreSQL's processes (every backend: run nothing else meanwhile), and this client."""
    workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
    totals = {"gunicorn": 0.0, "postgres": 0.0, "client": time.process_time()}
    for pid in [server.pid, *map(int, workers.stdout.split())]:
        with contextlib.suppress(OSError):
            totals["gunicorn"] += _cpu_seconds(pid)
    postgres = subprocess.run(["pgrep", "-f", "^postgres"], capture_output=True, text=True)
    for pid in map(int, postgres.stdout.split()):
        with contextlib.suppress(OSError):
            totals["postgres"] += _cpu_seconds(pid)
    return totals


def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> str:
    return ", ".join(
        f"{kind} {(after[kind] - before[kind]) / max(requests, 1) * 1000:.2f} ms"
        for kind in ("gunicorn", "postgres", "client")
    )


def profile(app, token: str, dwellings: list[int], count: int) -> None:
    """cProfile of ``count`` POST /vacancies through the test client (no network, no
    gunicorn): where a request's Python time goes. Also the statements of one request."""
    import cProfile
    import pstats

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def post(dwelling: int) -> None:
        on = date(2026, 7, 1) + timedelta(days=dwelling % 150)
        response = client.post(
            "/api/v1/vacancies",
            json={"dwelling": dwelling, "available_on": str(on)},
            headers=headers,
        )
        assert response.status_code == 201, response.get_data(as_text=True)

    for dwelling in dwellings[:20]:
        post(dwelling)
    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    post(dwellings[20])
    sa.event.remove(engine, "before_cursor_execute", listener)
    print(f"{len(statements)} SQL statements in one POST:")
    for statement in statements:
        print("  ", " ".join(statement.split())[:110])
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for dwelling in dwellings[21 : 21 + count]:
        post(dwelling)
    profiler.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"{count} POSTs: {elapsed / count * 1000:.1f} ms each, CPU {cpu / count * 1000:.1f} ms")
    profiler.dump_stats("/tmp/flux-load.prof")  # for pstats' callers and callees
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5120)
    parser.add_argument("--template-dwellings", type=int, default=100_000)
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args()
    if args.cpu:  # a replaced worker takes its processor time with it
        more = os.environ.get("BENCH_GUNICORN_ARGS", "")
        os.environ["BENCH_GUNICORN_ARGS"] = f"{more} --max-requests 0"
    built = bench_world.from_template(args.database_url, args.template_dwellings)
    with built.app.app_context():
        other = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.code == "esh-demo-pastel")
        )
        allocation_book.lock(db.session, Scope(other, "31"))  # its scope row, for pgbench
        db.session.commit()
        assert db.session.get(AllocationScope, (other, "31")) is not None
        dwellings = db.session.scalars(
            sa.text("SELECT id FROM dwellings WHERE rpls_id LIKE 'B%' ORDER BY id")
        ).all()
        db.session.commit()
        db.engine.dispose()
    if args.profile:
        profile(built.app, built.token, dwellings, args.profile)
        return
    url = sa.engine.make_url(args.database_url)
    server = start_gunicorn(args.database_url, args.workers, args.port)
    floor = start_gunicorn(
        args.database_url,
        args.workers,
        args.port + 1,
        "bench.floor_app:create_app()",
        FLOOR_LANDLORD=str(other),
    )
    try:
        used = 0
        for clients in (1, 8):
            tps = run_pgbench(url, other, clients, args.seconds)
            before = cpu_now(server)
            rate, taken = run_api(args.port, built.token, dwellings[used:], clients, args.seconds)
            api_cpu = per_request(before, cpu_now(server), taken)
            used += taken
            before = cpu_now(floor)
            bare, requests = run_api(args.port + 1, "", range(10**9), clients, args.seconds)
            floor_cpu = per_request(before, cpu_now(floor), requests)
            print(
                f"{clients} client(s): pgbench {tps:,.0f} tps, API {rate:,.1f} decisions/s, "
                f"ratio {rate / tps:.3f}; floor {bare:,.1f}/s ({bare / tps:.3f} of pgbench), "
                f"API / floor {rate / bare:.3f}"
            )
            if args.cpu:
                print(f"  processor per request: API {api_cpu}; floor {floor_cpu}")
    finally:
        for process in (server, floor):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
