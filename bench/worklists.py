"""Lists and balances without a query per row (issue 14 item 3, issue 11 item 1).

Loads the demo with its activity (2025 and 2026 to 21 November) into a scratch database, then
times, through the Flask test client, with an admin token:

- ``GET /api/v1/vacancies?page_size=500`` (first page) and a work-list filter
  (``stage=oriented&sort=deadline``), counting SQL statements per request;
- ``GET /api/v1/balances?departement=31`` (first call, then the next ones);
- ``GET /api/v1/balances/monthly?year=2025`` and ``?year=2026`` (the reserver's chart: every
  share's series; first call, then the next ones);
- the anchor, in the same run: ``GET /api/v1/health`` (one trivial query through the stack).

    .venv/bin/python bench/worklists.py [--repeat 20] [--database-url URL] [--reuse PATH]
                                        [--profile]

``--reuse PATH``: a SQLite file loaded with the demo on the first run and reused by the next
ones (skips the minute the load takes); ``--profile``: cProfile of one 500-row page (``--cold``:
with the list's per-process memory emptied first, as after a restart).

The 500-row page is also timed cold: the list's per-process memory (``vacancy_memo``) emptied
before each request, every row replayed, described and written.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from flux import create_app, demo, migrate
from flux.db import db
from flux.domain.reference import Role
from flux.services import users

try:
    from flux.services import vacancy_memo
except ImportError:  # an older version, timed with the same script
    vacancy_memo = None


def forget() -> None:
    """Empty the list's per-process memory (a restarted process)."""
    if vacancy_memo is not None:
        vacancy_memo.replays.clear()
        vacancy_memo.descriptions.clear()


def timed(client, path: str, headers: dict, repeat: int, engine) -> tuple[float, int, int, float]:
    """(median seconds, statements of the last request, rows, median CPU seconds of this
    process) over `repeat` requests. The CPU time leaves out the time spent waiting for a core
    on a loaded machine (and SQLite runs in this process: its work is counted)."""
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    timings, cpu, rows = [], [], 0
    for _ in range(repeat):
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", listener)
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        sa.event.remove(engine, "before_cursor_execute", listener)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        body = response.get_json()
        rows = len(body) if isinstance(body, list) else 1
    return statistics.median(timings), len(statements), rows, statistics.median(cpu)


def profile(client, headers: dict, cold: bool) -> None:
    """cProfile of one 500-row page (after a warm-up request), cumulative time first."""
    import cProfile
    import pstats

    client.get("/api/v1/vacancies?page_size=500", headers=headers)
    if cold:
        forget()
    profiler = cProfile.Profile()
    profiler.enable()
    client.get("/api/v1/vacancies?page_size=500", headers=headers)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url")
    parser.add_argument("--reuse", type=Path, help="SQLite file kept between runs")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cold", action="store_true", help="profile from an empty memory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{args.reuse or Path(scratch) / 'bench.sqlite'}"
        loaded = args.reuse is not None and args.reuse.exists()
        migrate.upgrade(url)
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            if not loaded:
                demo.load(db.session, activity_until=date(2026, 11, 21))
            token = users.create_user(
                db.session, email=f"bench-lists-{time.time_ns()}@flux.example", role=Role.ADMIN
            ).token
            db.session.commit()
            engine = db.engine
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        backend = sa.engine.make_url(url).get_backend_name()
        if args.profile:
            profile(client, headers, args.cold)
            return
        anchor, _, _, anchor_cpu = timed(client, "/api/v1/health", headers, args.repeat, engine)
        print(
            f"{backend}: anchor GET /health median {anchor * 1000:.1f} ms "
            f"(CPU {anchor_cpu * 1000:.1f} ms)"
        )
        cold, cold_cpu, path = [], [], "/api/v1/vacancies?page_size=500"
        for _ in range(args.repeat):
            forget()
            median, statements, rows, cpu = timed(client, path, headers, 1, engine)
            cold.append(median)
            cold_cpu.append(cpu)
        print(
            f"{backend}: GET /vacancies?page_size=500 (memory emptied before each): median "
            f"{statistics.median(cold) * 1000:.1f} ms "
            f"({statistics.median(cold) / anchor:.1f} × anchor), "
            f"CPU {statistics.median(cold_cpu) * 1000:.1f} ms, {statements} SQL statements, "
            f"{rows} rows"
        )
        first = time.perf_counter()
        timed(client, "/api/v1/balances?departement=31&as_of=2026-11-21", headers, 1, engine)
        first = time.perf_counter() - first
        print(f"{backend}: GET /balances?departement=31 first call {first * 1000:.0f} ms")
        for year in (2025, 2026):
            path = f"/api/v1/balances/monthly?year={year}"
            first, statements, rows, _ = timed(client, path, headers, 1, engine)
            print(
                f"{backend}: GET /balances/monthly?year={year} first call {first * 1000:.0f} ms "
                f"({first / anchor:.1f} × anchor), {statements} SQL statements, {rows} rows"
            )
        for label, path in (
            ("GET /balances/monthly?year=2025 (next calls)", "/api/v1/balances/monthly?year=2025"),
            ("GET /balances/monthly?year=2026 (next calls)", "/api/v1/balances/monthly?year=2026"),
            ("GET /vacancies?page_size=500", "/api/v1/vacancies?page_size=500"),
            (
                "GET /vacancies?page_size=500&compact=true",
                "/api/v1/vacancies?page_size=500&compact=true",
            ),
            (
                "GET /vacancies?page_size=500&stage=oriented&sort=deadline",
                "/api/v1/vacancies?page_size=500&stage=oriented&sort=deadline",
            ),
            (
                "GET /balances?departement=31 (next calls)",
                "/api/v1/balances?departement=31&as_of=2026-11-21",
            ),
        ):
            try:
                median, statements, rows, cpu = timed(client, path, headers, args.repeat, engine)
            except AssertionError as error:  # e.g. compact=true on an older version
                print(f"{backend}: {label}: not answered ({str(error)[:80]})")
                continue
            print(
                f"{backend}: {label}: median {median * 1000:.1f} ms ({median / anchor:.1f} × "
                f"anchor), CPU {cpu * 1000:.1f} ms ({cpu / anchor_cpu:.1f} × anchor), "
                f"{statements} SQL statements, {rows} rows"
            )


if __name__ == "__main__":
    main()
