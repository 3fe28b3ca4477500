"""The bilan campaign (issue 6): each landlord's bilan for every reserver, generated once the
year is closed, stored with its hash and issued; after 28 February, the missing ones."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
import sqlalchemy as sa

from flux.models import Alert, IssuedReport, Organisation
from flux.scheduler import jobs
from flux.services import year_close
from flux.services.access import SYSTEM
from flux.services.allocation_book import Scope

from .conftest import assert_problem, share
from .vacancy_kit import (
    ESH,
    OPH,
    TOULOUSE,
    create_convention,
    create_dwelling,
    logged,
)


@pytest.fixture
def world(client, auth, territory, session) -> dict:
    """OPH and ESH each with an Action Logement convention and a few 2025 vacancies; only
    OPH's 2025 is closed."""
    headers = {code: auth("landlord", code) for code in (OPH, ESH)}
    for n, code in enumerate((OPH, ESH)):
        create_convention(
            client,
            headers[code],
            f"AL-{n}",
            "action-logement",
            [share("al", "40.00")],
            landlord=code,
        )
        for k in range(4):
            dwelling = create_dwelling(client, headers[code], f"C{n}{k:06d}", TOULOUSE)
            logged(client, headers[code], dwelling, f"2025-0{k + 2}-15")
    ids = dict(session.execute(sa.select(Organisation.code, Organisation.id)).all())
    year_close.close(session, SYSTEM, Scope(ids[OPH], "31"), 2025, date(2026, 1, 1))
    session.commit()
    return {"ids": ids, "headers": headers}


def test_the_campaign_issues_each_closed_landlords_bilan_once(client, auth, session, world):
    outcome = jobs.run(session, "bilan-campaign", date(2026, 1, 2))
    assert outcome.summary["generated"] == 1
    assert outcome.summary["waiting_for_year_close"] == 1  # ESH's year is still open
    report = session.scalar(sa.select(IssuedReport))
    assert report.landlord_id == world["ids"][OPH] and report.year == 2025
    assert report.content.startswith(b"%PDF")
    assert report.content_hash == hashlib.sha256(report.content).hexdigest()
    assert report.issued_at is not None

    assert jobs.run(session, "bilan-campaign", date(2026, 1, 2)).status == "skipped"
    again = jobs.run(session, "bilan-campaign", date(2026, 1, 3))
    assert again.summary["generated"] == 0 and again.summary["already_issued"] == 1
    assert session.scalar(sa.select(sa.func.count(IssuedReport.id))) == 1

    al = auth("reserver", "action-logement")
    rows = client.get("/api/v1/bilans", query_string={"year": 2025}, headers=al).get_json()
    assert {(r["landlord"]["id"], r["status"]) for r in rows} == {
        (world["ids"][OPH], "issued"),
        (world["ids"][ESH], "missing"),
    }
    download = client.get(f"/api/v1/bilans/{report.id}", headers=al)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert hashlib.sha256(download.data).hexdigest() == report.content_hash
    # Another landlord, or a reserver without a convention there, cannot read it.
    assert_problem(client.get(f"/api/v1/bilans/{report.id}", headers=world["headers"][ESH]), 404)
    muret = auth("reserver", "commune-muret")
    assert_problem(client.get(f"/api/v1/bilans/{report.id}", headers=muret), 404)


def test_after_28_february_the_missing_bilans_raise_alerts(client, auth, session, world):
    assert "missing" not in jobs.run(session, "bilan-campaign", date(2026, 2, 28)).summary
    outcome = jobs.run(session, "bilan-campaign", date(2026, 3, 1))
    assert outcome.summary["missing"] == 1 and outcome.summary["new_alerts"] == 1
    alert = session.scalar(sa.select(Alert).where(Alert.kind == "bilan_missing"))
    assert alert.landlord_id == world["ids"][ESH] and "28/02/2026" in alert.message
    prefecture = auth("prefecture", "etat-31")
    missing = client.get(
        "/api/v1/bilans", query_string={"year": 2025, "status": "missing"}, headers=prefecture
    ).get_json()
    assert [r["landlord"]["id"] for r in missing] == [world["ids"][ESH]]
    assert jobs.run(session, "bilan-campaign", date(2026, 3, 2)).summary["new_alerts"] == 0


def test_a_bilan_that_fails_does_not_stop_the_others(session, world, monkeypatch):
    from flux.reporting import render

    year_close.close(session, SYSTEM, Scope(world["ids"][ESH], "31"), 2025, date(2026, 1, 1))
    session.commit()
    real = render.render

    def failing(report, fmt):
        if report.meta.landlord and "Pastel" in report.meta.landlord:
            raise RuntimeError("rendu impossible")
        return real(report, fmt)

    monkeypatch.setattr(render, "render", failing)
    outcome = jobs.run(session, "bilan-campaign", date(2026, 1, 2))
    assert outcome.status == "succeeded"
    assert (outcome.summary["generated"], outcome.summary["failed"]) == (1, 1)
    alert = session.scalar(sa.select(Alert).where(Alert.kind == "bilan_failed"))
    assert alert.landlord_id == world["ids"][ESH]
    monkeypatch.undo()
    assert jobs.run(session, "bilan-campaign", date(2026, 1, 3)).summary["generated"] == 1


def test_a_bilan_not_issued_is_missing_only_after_its_deadline(session, world):
    from flux.services import bilan_campaign

    before = bilan_campaign.status(session, SYSTEM, 2025, today=date(2026, 2, 28))
    after = bilan_campaign.status(session, SYSTEM, 2025, today=date(2026, 3, 1))
    assert {r["landlord"]["id"]: r["status"] for r in before} == {
        world["ids"][OPH]: "pending",
        world["ids"][ESH]: "pending",
    }
    assert {r["status"] for r in after} == {"missing"}


def test_the_report_endpoint_serves_an_issued_bilan_as_it_was_issued(client, auth, session, world):
    jobs.run(session, "bilan-campaign", date(2026, 1, 2))
    report = session.scalar(sa.select(IssuedReport))
    al = auth("reserver", "action-logement")
    served = client.get(
        "/api/v1/reports/annual",
        query_string={
            "year": 2025,
            "landlord": OPH,
            "departement": "31",
            "reserver": "action-logement",
            "format": "pdf",
        },
        headers=al,
    )
    assert served.status_code == 200 and served.mimetype == "application/pdf"
    assert hashlib.sha256(served.data).hexdigest() == report.content_hash
