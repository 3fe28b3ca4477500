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
    MURET,
    OPH,
    TOULOUSE,
    create_convention,
    create_dwelling,
    logged,
)


@pytest.fixture
def world(client, auth, territory, session) -> dict:
    """OPH and ESH each with an Action Logement convention and a few 2025 vacancies; only
    OPH's 2025 is closed. Both have dwellings in Toulouse: Toulouse Métropole, an EPCI subject
    to the attribution reform, receives both bilans too (R.441-5-1)."""
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
    assert outcome.summary["generated"] == 2  # OPH's, for Action Logement and Toulouse Métropole
    assert outcome.summary["waiting_for_year_close"] == 2  # ESH's year is still open
    report = session.scalar(
        sa.select(IssuedReport).where(IssuedReport.reserver_id == world["ids"]["action-logement"])
    )
    assert report.landlord_id == world["ids"][OPH] and report.year == 2025
    assert report.content.startswith(b"%PDF")
    assert report.content_hash == hashlib.sha256(report.content).hexdigest()
    assert report.issued_at is not None

    assert jobs.run(session, "bilan-campaign", date(2026, 1, 2)).status == "skipped"
    again = jobs.run(session, "bilan-campaign", date(2026, 1, 3))
    assert again.summary["generated"] == 0 and again.summary["already_issued"] == 2
    assert session.scalar(sa.select(sa.func.count(IssuedReport.id))) == 2

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
    # ESH's, for Action Logement and for Toulouse Métropole
    assert outcome.summary["missing"] == 2 and outcome.summary["new_alerts"] == 2
    alerts = session.scalars(sa.select(Alert).where(Alert.kind == "bilan_missing")).all()
    assert {a.landlord_id for a in alerts} == {world["ids"][ESH]}
    assert all("28/02/2026" in a.message for a in alerts)
    prefecture = auth("prefecture", "etat-31")
    missing = client.get(
        "/api/v1/bilans", query_string={"year": 2025, "status": "missing"}, headers=prefecture
    ).get_json()
    assert [r["landlord"]["id"] for r in missing] == [world["ids"][ESH]] * 2
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
    # Each landlord's two bilans (Action Logement, Toulouse Métropole): ESH's both fail.
    assert (outcome.summary["generated"], outcome.summary["failed"]) == (2, 2)
    alerts = session.scalars(sa.select(Alert).where(Alert.kind == "bilan_failed")).all()
    assert {a.landlord_id for a in alerts} == {world["ids"][ESH]}
    monkeypatch.undo()
    assert jobs.run(session, "bilan-campaign", date(2026, 1, 3)).summary["generated"] == 2


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
    report = session.scalar(
        sa.select(IssuedReport).where(IssuedReport.reserver_id == world["ids"]["action-logement"])
    )
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


# --- recipients besides the reservers (R.441-5-1, legal-review.md §2.10) -----------------------


def test_r441_5_1_a_reform_epci_receives_lists_and_downloads_its_landlords_bilans(
    client, auth, session, world
):
    """R.441-5-1: Toulouse Métropole, subject to the attribution reform in 2025 and holding no
    convention with OPH, receives OPH's bilan (OPH has dwellings on its territory): issued to
    it, listed, downloadable, notified; it shows every reserver's rows, not the landlord's."""
    tm = world["ids"]["epci-toulouse-metropole"]
    headers = auth("reserver", "epci-toulouse-metropole")
    jobs.run(session, "bilan-campaign", date(2026, 1, 2))
    issued = session.scalar(sa.select(IssuedReport).where(IssuedReport.reserver_id == tm))
    assert issued.landlord_id == world["ids"][OPH] and issued.content.startswith(b"%PDF")

    rows = client.get("/api/v1/bilans", query_string={"year": 2025}, headers=headers).get_json()
    assert {(r["landlord"]["id"], r["reserver"]["id"], r["status"]) for r in rows} == {
        (world["ids"][OPH], tm, "issued"),
        (world["ids"][ESH], tm, "missing"),  # ESH's year is not closed: not issued
    }
    download = client.get(f"/api/v1/bilans/{issued.id}", headers=headers)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert hashlib.sha256(download.data).hexdigest() == issued.content_hash
    notified = client.get("/api/v1/notifications", headers=headers).get_json()
    assert [n["kind"] for n in notified] == ["bilan_issued"]
    assert "Office Public" in notified[0]["body"]

    body = client.get(
        "/api/v1/reports/annual",
        query_string={"year": 2025, "landlord": OPH},
        headers=headers,
    ).get_json()
    shares = next(p for p in body["parts"] if p["key"] == "shares")["rows"]
    assert {r["reserver"] for r in shares} == {"Action Logement Services"}


def test_r441_5_1_an_epci_outside_the_reform_and_no_reserver_does_not_see_the_bilans(
    client, auth, session, world
):
    """R.441-5-1 names the EPCIs subject to the reform: CA Le Muretain Agglo, taken off the
    2025 list, with no convention with OPH, receives nothing of OPH (which has a dwelling in
    Muret), and may neither list, download nor ask for its bilan."""
    from flux.domain.conventions import ReserverCategory
    from flux.domain.reference import OrganisationKind
    from flux.models import ReformEpci

    muretain = Organisation(
        code="epci-muretain",
        name="CA Le Muretain Agglo",
        kind=OrganisationKind.RESERVER,
        category=ReserverCategory.EPCI,
        territory_code="200068641",
    )
    session.add(muretain)
    session.execute(
        sa.delete(ReformEpci).where(ReformEpci.epci_siren == "200068641", ReformEpci.year == 2025)
    )
    session.commit()
    create_dwelling(client, world["headers"][OPH], "M0000001", MURET)
    headers = auth("reserver", "epci-muretain")
    jobs.run(session, "bilan-campaign", date(2026, 1, 2))

    assert (
        session.scalar(
            sa.select(sa.func.count(IssuedReport.id)).where(IssuedReport.reserver_id == muretain.id)
        )
        == 0
    )
    assert client.get("/api/v1/bilans", query_string={"year": 2025}, headers=headers).json == []
    for report in session.scalars(sa.select(IssuedReport)):
        assert_problem(client.get(f"/api/v1/bilans/{report.id}", headers=headers), 404)
    refused = client.get(
        "/api/v1/reports/annual", query_string={"year": 2025, "landlord": OPH}, headers=headers
    )
    assert_problem(refused, 404)
    assert client.get("/api/v1/notifications", headers=headers).json == []

    # On the 2025 list, the same EPCI receives OPH's bilan (the test above can fail).
    session.add(ReformEpci(year=2025, epci_siren="200068641"))
    session.commit()
    jobs.run(session, "bilan-campaign", date(2026, 1, 3))
    assert (
        session.scalar(
            sa.select(IssuedReport.landlord_id).where(IssuedReport.reserver_id == muretain.id)
        )
        == world["ids"][OPH]
    )


def test_r441_5_1_an_ept_receives_its_landlords_bilans_without_being_listed(
    client, auth, session, world
):
    """R.441-5-1 (DRIHL: « EPCI dits LEC et EPT »): an EPT receives the bilan of each landlord
    with dwellings on its territory, on the reform list of the year or not."""
    from flux.domain.conventions import ReserverCategory
    from flux.domain.reference import EpciKind, OrganisationKind
    from flux.models import Epci, ReformEpci

    session.get(Epci, "243100633").kind = EpciKind.EPT  # the Sicoval, as if it were an EPT
    session.execute(sa.delete(ReformEpci).where(ReformEpci.epci_siren == "243100633"))
    ept = Organisation(
        code="ept-test",
        name="EPT de test",
        kind=OrganisationKind.RESERVER,
        category=ReserverCategory.EPT,
        territory_code="243100633",
    )
    session.add(ept)
    session.commit()
    create_dwelling(client, world["headers"][OPH], "R0000001", "31446")  # Ramonville

    jobs.run(session, "bilan-campaign", date(2026, 1, 2))

    issued = session.scalars(sa.select(IssuedReport).where(IssuedReport.reserver_id == ept.id))
    assert [report.landlord_id for report in issued] == [world["ids"][OPH]]
