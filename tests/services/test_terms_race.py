"""Convention writes and decisions of one scope take the same lock (issue 15 item 1).

An amender keeps changing Action Logement's percentage while writers log vacancies of the same
scope. Afterwards every vacancy must have been decided under the terms committed before it: the
percentage recorded in its eligible set is the one of the last terms journalled before it.
Meaningful on PostgreSQL (row locks); on SQLite every write already holds the database lock.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from flux.models import Dwelling, JournalEntry

WRITERS = 4
PER_WRITER = 10
AMENDMENTS = 16
PERCENTS = ["50.00", "10.00", "40.00", "20.00"]


@pytest.fixture
def headers(territory, auth, session):
    from flux import loaders
    from flux.demo import DEMO_DIR

    loaders.import_dwellings(
        session, DEMO_DIR / "dwellings-oph-demo-garonne.csv", "oph-demo-garonne"
    )
    session.commit()
    return auth("landlord", "oph-demo-garonne")


def _convention(client, headers) -> int:
    response = client.post(
        "/api/v1/conventions",
        headers=headers,
        json={
            "reference": "AL-RACE",
            "landlord": "oph-demo-garonne",
            "reserver": "action-logement",
            "departement": "31",
            "valid_from": "2026-01-01",
            "perimeter": {"kind": "departement"},
            "shares": [{"code": "salaries", "label": "Salariés", "percent": "50.00"}],
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_every_decision_is_made_under_the_terms_committed_before_it(app, session, headers):
    client = app.test_client()
    convention_id = _convention(client, headers)
    dwellings = list(
        session.scalars(
            sa.select(Dwelling.id)
            .where(Dwelling.out_of_flux.is_(None))
            .order_by(Dwelling.id)
            .limit(WRITERS * PER_WRITER)
        )
    )
    session.rollback()
    statuses: Counter = Counter()
    barrier = threading.Barrier(WRITERS + 1)

    def writer(index: int) -> None:
        own = app.test_client()
        barrier.wait()
        for n in range(PER_WRITER):
            slot = index * PER_WRITER + n
            response = own.post(
                "/api/v1/vacancies",
                json={
                    "dwelling": dwellings[slot],
                    "available_on": (date(2026, 6, 1) + timedelta(days=slot)).isoformat(),
                },
                headers=headers,
            )
            statuses[("vacancy", response.status_code)] += 1

    def amender() -> None:
        own = app.test_client()
        barrier.wait()
        for n in range(AMENDMENTS):
            etag = own.get(f"/api/v1/conventions/{convention_id}", headers=headers).headers["ETag"]
            response = own.post(
                f"/api/v1/conventions/{convention_id}/amendments",
                json={
                    "effective_from": (date(2026, 2, 1) + timedelta(days=n)).isoformat(),
                    "shares": [
                        {
                            "code": "salaries",
                            "label": "Salariés",
                            "percent": PERCENTS[(n + 1) % len(PERCENTS)],
                        }
                    ],
                },
                headers={**headers, "If-Match": etag},
            )
            statuses[("amendment", response.status_code)] += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    threads.append(threading.Thread(target=amender))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == {
        ("vacancy", 201): WRITERS * PER_WRITER,
        ("amendment", 201): AMENDMENTS,
    }
    versions = client.get(f"/api/v1/conventions/{convention_id}", headers=headers).get_json()
    percent_of = {
        v["number"]: int(v["shares"][0]["percent"].replace(".", "")) for v in versions["versions"]
    }
    entries = session.scalars(
        sa.select(JournalEntry)
        .where(JournalEntry.kind.in_(["terms_changed", "vacancy_logged"]))
        .order_by(JournalEntry.id)
    ).all()
    in_force = None
    wrong = []
    for entry in entries:
        if entry.kind == "terms_changed":
            in_force = percent_of[entry.payload["version"]]
            continue
        recorded = {share: bp for share, bp, _ in entry.payload["eligible"]}
        if list(recorded.values()) != [in_force]:
            wrong.append((entry.id, recorded, in_force))
    assert not wrong, f"{len(wrong)} vacancies decided under terms no longer in force: {wrong}"
