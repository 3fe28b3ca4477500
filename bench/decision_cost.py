"""Cost of one decision as the year grows: POST /api/v1/vacancies after 1 000 and after
100 000 journal entries in the same scope, and the SQL statements each request sends.

    .venv/bin/python bench/decision_cost.py --database-url postgresql+psycopg://…/scratch \
        [--posts 300]

The scratch database is cloned from the bulk benchmark's template (bench/world.py). The scope
is filled by the bulk import (about 2.1 entries per vacancy), then `--posts` vacancies are
logged one by one through the Flask test client (no network); the first 20 are not timed.
After each POST, the anchor: GET /api/v1/health (one trivial statement through the same
stack); each phase's median is also given as a ratio to its anchor's, so that a neighbour's
load during one phase only does not read as growth.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import world as bench_world  # noqa: E402
from flux.db import db  # noqa: E402
from flux.models import JournalEntry  # noqa: E402
from flux.services import vacancy_import  # noqa: E402
from flux.services.access import SYSTEM  # noqa: E402

WARM_UP = 20


def fill(built: bench_world.World, rpls: list[str]) -> int:
    text = bench_world.vacancy_file(rpls, 2026, last=date(2026, 6, 30))
    with built.app.app_context():
        report = vacancy_import.import_vacancies(
            db.session, SYSTEM, io.BytesIO(text.encode()), "f.csv", bench_world.LANDLORD
        )
        assert report.written and not report.refused, report.refusals[:3]
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.count(JournalEntry.id)))


def post(
    built: bench_world.World, rpls: list[str], counter: list[int]
) -> tuple[list[float], list[int], list[float]]:
    """Each POST's time and statements, and after each one the anchor's time (GET /health:
    one trivial statement through the same stack), so that the machine's load at that moment
    weighs on both."""
    client = built.app.test_client()
    headers = {"Authorization": f"Bearer {built.token}"}
    with built.app.app_context():
        ids = dict(
            db.session.execute(
                sa.text("SELECT rpls_id, id FROM dwellings WHERE rpls_id = ANY(:r)"), {"r": rpls}
            ).all()
        )
    timings, statements, anchors = [], [], []
    for index, number in enumerate(rpls):
        on = date(2026, 7, 1) + timedelta(days=index % 150)
        counter[0] = 0
        started = time.perf_counter()
        response = client.post(
            "/api/v1/vacancies",
            headers=headers,
            json={"dwelling": ids[number], "available_on": str(on)},
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.get_json()
        sent = counter[0]
        started = time.perf_counter()
        assert client.get("/api/v1/health").status_code == 200
        anchor = time.perf_counter() - started
        if index >= WARM_UP:
            timings.append(elapsed)
            statements.append(sent)
            anchors.append(anchor)
    return timings, statements, anchors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--template-dwellings", type=int, default=100_000)
    args = parser.parse_args()
    built = bench_world.from_template(args.database_url, args.template_dwellings)
    counter = [0]
    with built.app.app_context():
        event.listen(
            db.engine, "before_cursor_execute", lambda *a: counter.__setitem__(0, counter[0] + 1)
        )
    posts = args.posts
    small, rest = built.rpls[:500], built.rpls[500 + 2 * posts :]
    plan = [("~1 000", small, built.rpls[500 : 500 + posts])]
    plan.append(("~100 000", rest[:47_000], built.rpls[500 + posts : 500 + 2 * posts]))
    results = []
    for label, filler, posted in plan:
        entries = fill(built, filler)
        timings, statements, anchors = post(built, posted, counter)
        median = statistics.median(timings) * 1000
        mean = statistics.mean(timings) * 1000
        anchor = statistics.median(anchors) * 1000
        results.append((median, median / anchor))
        print(
            f"after {entries:>7} entries ({label}): {len(timings)} POSTs, median {median:.2f} ms, "
            f"mean {mean:.2f} ms, statements per POST {statistics.median(statements):.0f}; "
            f"anchor (GET /health) {anchor:.2f} ms, POST / anchor {median / anchor:.2f}"
        )
    print(f"ratio (100 000 / 1 000, medians): {results[1][0] / results[0][0]:.3f}")
    print(f"ratio (100 000 / 1 000, each to its anchor): {results[1][1] / results[0][1]:.3f}")


if __name__ == "__main__":
    main()
