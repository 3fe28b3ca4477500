"""GET /api/v1/reports/annual and `flux report annual`: the bilan annuel (issue 4)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from pypdf import PdfReader

from flux.cli import main
from flux.domain import allocation
from flux.domain.conventions import ReserverCategory, format_dwellings
from flux.domain.reference import OrganisationKind
from flux.models import JournalEntry, Organisation
from flux.services import allocation_book, organisations, territories, year_close
from flux.services.access import SYSTEM
from flux.services.allocation_book import Scope
from flux.services.organisations import NewOrganisation

from .conftest import PROBLEM, assert_problem, share
from .vacancy_kit import (
    COLOMIERS,
    ESH,
    LANDLORD,
    OPH,
    TOULOUSE,
    action_logement,
    create_convention,
    create_dwelling,
    etat,
    holder,
    logged,
    recorded,
    toulouse,
)

URL = "/api/v1/reports/annual"
PARTS = [
    "key_figures",
    "synthesis",
    "shares",
    "breakdown",
    "breakdown_summary",
    "deductions",
    "checks",
    "late_entries",
    "share_periods",
]
HOUSEHOLD = {"dalo": True, "prioritaire": False, "first_quartile": True}
AL_NAME = "Action Logement Services"
TLSE_NAME, ETAT_NAME = "Ville de Toulouse", "État – Préfecture de la Haute-Garonne"
LANDLORD_ROW, LANDLORD_GROUP = "Bailleur (part non réservée)", "Bailleur (non réservé ou repris)"
OPH_NAME, ESH_NAME = "Office Public de l'Habitat Démo Garonne", "Pastel Habitat Démo (ESH fictive)"


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def world(client, oph, auth) -> dict:
    """OPH in the 31: Action Logement 25 %, Toulouse 15 % (Toulouse), the État 25 + 5 %;
    ten vacancies of 2025 followed to the lease, one overridden to the landlord part, one
    taken back (carence), one withdrawn, two deducted (one of them withdrawn). ESH: one
    convention with Action Logement and one vacancy."""
    shares = {
        "al": action_logement(client, oph, "25.00"),
        "tlse": toulouse(client, oph, "15.00"),
        **etat(client, oph),
    }
    vacancies = []
    for n in range(10):
        commune = TOULOUSE if n < 7 else COLOMIERS
        qpv = {"qpv": "QP031007"} if n in (0, 1) else {}
        dwelling = create_dwelling(
            client, oph, f"R{n:07d}", commune, construction_year=1960 + n, **qpv
        )
        vacancies.append(logged(client, oph, dwelling, f"2025-02-{10 + n}"))
    first = vacancies[0]
    # An override: the first vacancy goes to the landlord part instead.
    if holder(first) == LANDLORD:  # the engine chose it: re-orient it to Action Logement
        recorded(client, oph, first["id"], "override", "2025-02-20", share=shares["al"], reason="r")
    else:
        recorded(client, oph, first["id"], "override", "2025-02-20", share="landlord", reason="r")
    withdrawn = vacancies[9]
    recorded(client, oph, withdrawn["id"], "withdrawal", "2025-03-01", reason="reste")
    carence = next(v for v in vacancies[3:9] if holder(v) != LANDLORD)
    recorded(client, oph, carence["id"], "carence", "2025-04-15")
    for vacancy in vacancies[:9]:
        _follow(client, oph, vacancy["id"], skip_designation=vacancy is carence)
    deducted = create_dwelling(client, oph, "D0000001", TOULOUSE)
    logged(client, oph, deducted, "2025-03-01", deduction="internal_transfer")
    gone = create_dwelling(client, oph, "D0000002", TOULOUSE)
    sold = logged(client, oph, gone, "2025-03-02", deduction="sale")
    recorded(client, oph, sold["id"], "withdrawal", "2025-03-05", reason="annulé")
    esh = auth("landlord", ESH)
    create_convention(
        client, esh, "AL-ESH", "action-logement", [share("salaries", "30.00")], landlord=ESH
    )
    esh_vacancy = logged(client, esh, create_dwelling(client, esh, "E0000001"), "2025-05-02")
    return {
        "shares": shares,
        "vacancies": vacancies,
        "first": first,
        "carence": carence,
        "withdrawn": withdrawn,
        "esh": esh,
        "esh_vacancy": esh_vacancy,
    }


def _follow(client, headers, vacancy_id: int, skip_designation: bool) -> None:
    """Designate (for a reserver's share), attribute, sign."""
    state = client.get(f"/api/v1/vacancies/{vacancy_id}", headers=headers).get_json()
    if "designation" in state["allowed_events"] and not skip_designation:
        recorded(client, headers, vacancy_id, "designation", "2025-03-05", candidates=3)
    recorded(
        client,
        headers,
        vacancy_id,
        "cal_attribution",
        "2025-05-20",
        rank=1,
        household=HOUSEHOLD,
    )
    recorded(client, headers, vacancy_id, "lease", "2025-06-10")


def get(client, headers, **query):
    return client.get(URL, query_string=query, headers=headers)


def report(client, headers, **query) -> dict:
    response = get(client, headers, **query)
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/json"
    return response.get_json()


def part(body: dict, key: str) -> dict:
    return next(p for p in body["parts"] if p["key"] == key)


def rows(body: dict, key: str) -> list[dict]:
    return part(body, key)["rows"]


def by_share(body: dict) -> dict[str, dict]:
    return {
        (row["share"] if row["reserver"] else row["share"]): row for row in rows(body, "shares")
    }


# --- JSON ----------------------------------------------------------------------------------


def test_the_json_report_has_its_meta_and_its_parts_in_order(client, oph, world):
    body = report(client, oph, year=2025, landlord=OPH)

    assert body["meta"]["title"] == "Bilan annuel 2025 de la gestion en flux"
    assert body["meta"]["landlord"] == "Office Public de l'Habitat Démo Garonne"
    assert body["meta"]["departement"] == "Haute-Garonne (31)"
    assert body["meta"]["closed"] is False
    assert body["meta"]["filters"] == {"year": "2025", "landlord": OPH}
    assert [p["key"] for p in body["parts"]] == PARTS
    shares = part(body, "shares")
    assert shares["columns"][0] == {
        "key": "landlord",
        "label": "Bailleur",
        "kind": "text",
        "machine": False,
    }
    assert {c["key"]: c["kind"] for c in shares["columns"]}["target"] == "dwellings"
    assert shares["total"]["landlord"] == "Total"
    assert part(body, "checks")["total"] is None
    assert [r["share"] for r in shares["rows"]] == [
        "Part salaries",
        "Part ville",
        "Publics prioritaires",
        "Agents civils et militaires de l'État",
        "Part non réservée du bailleur",
    ]


def test_each_share_shows_what_it_was_proposed_attributed_taken_back_and_overridden(
    client, oph, world
):
    body = report(client, oph, year=2025, landlord=OPH)
    shares = rows(body, "shares")
    total = part(body, "shares")["total"]

    # Nine vacancies counted (the tenth withdrawn): every share's realised adds up to nine.
    assert total["realised"] == 9
    # The total's "eligible" is the flux, distinct vacancies, not the sum over shares (issue 13).
    assert total["eligible"] == 9 < sum(r["eligible"] for r in shares)
    assert sum(Decimal(r["target"]) for r in shares) == 9
    # One override: counted for the share that received it and the one that lost it.
    assert total["overrides_received"] == total["overrides_lost"] == 1
    assert total["proposed"] == 10  # nine orientations and the re-orientation
    # The carence (counted by default) stays the share's; attributions: all nine vacancies.
    assert total["taken_back_counted"] == 1 and total["taken_back_not_counted"] == 0
    assert total["attributed"] == total["leases"] == 9
    landlord = next(r for r in shares if r["reserver"] == "Bailleur (part non réservée)")
    assert landlord["percent"] is None
    assert {r["carry_out_status"] for r in shares} == {"provisoire"}
    for row in shares:
        assert Decimal(row["gap"]) == row["counted"] - Decimal(row["target"])
    assert sum(Decimal(r["carry_out"]) for r in shares) == 0


def test_the_breakdown_and_deductions_add_up(client, oph, world):
    body = report(client, oph, year=2025, landlord=OPH)
    breakdown = rows(body, "breakdown")
    deductions = {r["category"]: r for r in rows(body, "deductions")}

    assert part(body, "breakdown")["total"]["proposed"] == 10
    assert part(body, "breakdown")["total"]["attributed"] == 9
    assert {r["qpv"] for r in breakdown} == {"en QPV", "hors QPV"}
    assert {r["construction_period"] for r in breakdown} == {"1949 à 1974"}
    assert {r["commune_name"] for r in breakdown} == {"Toulouse", "Colomiers"}
    assert deductions["Mutations internes"]["actual"] == 1
    # The deducted sale was withdrawn: no rehousing happened.
    assert deductions["Relogements liés à la vente de logements sociaux"]["actual"] == 0
    assert deductions["Mutations internes"]["forecast"] is None  # not declared
    assert part(body, "deductions")["total"]["actual"] == 1


def test_checks_say_passed_failed_or_not_applicable_with_a_reason(client, oph, world):
    body = report(client, oph, year=2025, landlord=OPH)
    checks = rows(body, "checks")
    codes = {r["code"] for r in checks}

    assert {"etat_cap_30", "etat_uniform_by_commune", "dalo_prioritaires_25"} <= codes
    assert {"first_quartile_hors_qpv_25", "other_quartiles_qpv_50"} <= codes
    assert {r["status"] for r in checks} <= {
        "passed",
        "within_tolerance",
        "failed",
        "not_applicable",
        "information",
    }
    dalo = {r["scope"]: r for r in checks if r["code"] == "dalo_prioritaires_25"}
    # Every household is DALO: each reserver with attributions passes, the État is not concerned.
    al = next(r for r in rows(body, "shares") if r["reserver"] == AL_NAME)
    assert dalo[AL_NAME]["status"] == ("passed" if al["attributed"] else "not_applicable")
    assert dalo[AL_NAME]["denominator"] == al["attributed"]
    assert dalo["État – Préfecture de la Haute-Garonne"]["status"] == "not_applicable"
    assert dalo["Bailleur (non réservé ou repris)"]["numerator"] >= 1  # the carence's
    communes = [r for r in checks if r["scope"].startswith("commune ")]
    assert {r["scope"] for r in communes} == {"commune 31555 Toulouse", "commune 31149 Colomiers"}
    assert all(r["reason"] for r in checks)


# --- files ---------------------------------------------------------------------------------


def test_csv_xlsx_and_pdf_are_downloads_with_their_media_types(client, oph, world):
    csv = get(client, oph, year=2025, landlord=OPH, format="csv")
    xlsx = get(client, oph, year=2025, landlord=OPH, format="xlsx")
    pdf = get(client, oph, year=2025, landlord=OPH, format="pdf")

    assert csv.status_code == xlsx.status_code == pdf.status_code == 200
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert csv.data.startswith("\ufeff".encode())
    assert "Droits par part" in csv.data.decode("utf-8-sig")
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    for response, extension in ((csv, "csv"), (xlsx, "xlsx"), (pdf, "pdf")):
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="bilan-2025-')
        assert disposition.endswith(f'.{extension}"')
    sheets = pd.read_excel(io.BytesIO(xlsx.data), sheet_name=None, header=None)
    assert len(sheets) == len(PARTS)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Bilan annuel 2025" in text and "Contrôle des obligations" in text


# --- filters and access --------------------------------------------------------------------


def test_a_landlord_sees_its_own_scopes_only_and_not_another_landlord(client, oph, world):
    body = report(client, oph, year=2025)

    assert {r["landlord"] for r in rows(body, "shares")} == {
        "Office Public de l'Habitat Démo Garonne"
    }
    problem = assert_problem(get(client, oph, year=2025, landlord=ESH), 404)
    assert "landlord" in problem["errors"]["query"]
    assert_problem(get(client, oph, year=2025, landlord="inconnu"), 404)


def test_the_reserver_filter_gives_that_reservers_bilan(app, client, oph, world, monkeypatch):
    """R.441-5-1, the setting BILAN_EVERY_RESERVER off: a reserver's bilan is its own rows."""
    monkeypatch.setitem(app.config, "BILAN_EVERY_RESERVER", False)
    body = report(client, oph, year=2025, reserver="action-logement")

    assert body["meta"]["reserver"] == AL_NAME
    assert {r["reserver"] for r in rows(body, "shares")} == {AL_NAME}
    assert {r["reserver"] for r in rows(body, "breakdown")} <= {AL_NAME}
    assert {(r["code"], r["scope"]) for r in rows(body, "checks")} == {
        ("dalo_prioritaires_25", AL_NAME),
        ("action_logement_dalo_25", AL_NAME),  # its DALO-only quarter, shown apart
    }


def test_r441_5_1_by_default_a_reservers_bilan_shows_every_reservers_rows(client, oph, world):
    """R.441-5-1 sends « à l'ensemble des réservataires un bilan [...] par réservataire »: by
    default (BILAN_EVERY_RESERVER) Action Logement's bilan of OPH has every reserver's rows,
    figure for figure those of the landlord's bilan, and never the landlord's own part; each
    part's total is the sum of the rows shown, the flux is the landlord's whole flux."""
    body = report(client, oph, year=2025, reserver="action-logement")
    full = report(client, oph, year=2025, landlord=OPH)

    assert body["meta"]["reserver"] == AL_NAME
    reservers = {AL_NAME, TLSE_NAME, ETAT_NAME}
    assert {r["reserver"] for r in rows(body, "shares")} == reservers
    assert rows(body, "shares") == [r for r in rows(full, "shares") if r["reserver"] in reservers]
    assert {r["reserver"] for r in rows(body, "breakdown")} <= reservers
    assert LANDLORD_ROW not in {r["reserver"] for r in rows(body, "breakdown")}
    checks = {(r["code"], r["scope"]) for r in rows(body, "checks")}
    assert ("dalo_prioritaires_25", AL_NAME) in checks
    assert ("dalo_prioritaires_25", TLSE_NAME) in checks
    assert any(code.startswith("etat_") for code, _ in checks)
    assert all(scope != LANDLORD_GROUP for _, scope in checks)  # the landlord's own rules
    assert checks < {(r["code"], r["scope"]) for r in rows(full, "checks")}
    total = part(body, "shares")["total"]
    assert total["proposed"] == sum(r["proposed"] for r in rows(body, "shares"))
    assert total["eligible"] == part(full, "shares")["total"]["eligible"]  # the whole flux


def test_a_reserver_sees_every_reservers_shares_with_every_landlord(client, auth, world):
    al = auth("reserver", "action-logement")
    body = report(client, al, year=2025)
    shares = rows(body, "shares")

    assert {r["reserver"] for r in shares} == {AL_NAME, TLSE_NAME, ETAT_NAME}
    assert {r["landlord"] for r in shares} == {OPH_NAME, ESH_NAME}
    assert LANDLORD_ROW not in {r["reserver"] for r in rows(body, "breakdown")}
    assert LANDLORD_GROUP not in {r["scope"] for r in rows(body, "checks")}
    # Its own filter is fine; another reserver's bilan is not its to see.
    assert report(client, al, year=2025, reserver="action-logement")["parts"] == body["parts"]
    assert_problem(get(client, al, year=2025, reserver="commune-toulouse"), 404)
    assert_problem(get(client, al, year=2025, landlord="coop-demo-lauragais"), 404)


def test_r441_5_1_the_setting_off_a_reserver_sees_only_its_shares_with_every_landlord(
    app, client, auth, world, monkeypatch
):
    monkeypatch.setitem(app.config, "BILAN_EVERY_RESERVER", False)
    al = auth("reserver", "action-logement")
    body = report(client, al, year=2025)
    shares = rows(body, "shares")

    assert {r["reserver"] for r in shares} == {AL_NAME}
    assert {r["landlord"] for r in shares} == {OPH_NAME, ESH_NAME}
    assert LANDLORD_ROW not in {r["reserver"] for r in rows(body, "breakdown")}
    assert {r["scope"] for r in rows(body, "checks")} == {AL_NAME}
    total = part(body, "shares")["total"]
    assert total["proposed"] == sum(r["proposed"] for r in shares)


def test_r441_5_1_kept_rows_of_a_closed_year_never_cross_the_settings_values(
    app, client, auth, session, world, monkeypatch
):
    """The rows kept for a closed year (report_facts) are kept per view: every reserver's rows
    under one view, a reserver's own rows under its own; switching BILAN_EVERY_RESERVER never
    serves the rows made for the other value."""
    from flux.models import ReportFacts

    oph_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    al_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == "action-logement"))
    _close(session, client, oph_id)
    al = auth("reserver", "action-logement")
    query = {"year": 2025, "landlord": OPH}
    every = {AL_NAME, TLSE_NAME, ETAT_NAME}

    assert {r["reserver"] for r in rows(report(client, al, **query), "shares")} == every
    monkeypatch.setitem(app.config, "BILAN_EVERY_RESERVER", False)
    assert {r["reserver"] for r in rows(report(client, al, **query), "shares")} == {AL_NAME}
    assert {r["reserver"] for r in rows(report(client, al, **query), "shares")} == {AL_NAME}
    monkeypatch.setitem(app.config, "BILAN_EVERY_RESERVER", True)
    assert {r["reserver"] for r in rows(report(client, al, **query), "shares")} == every
    session.expire_all()
    views = set(session.scalars(sa.select(ReportFacts.view).where(ReportFacts.year == 2025)))
    assert views == {-1, al_id}


def test_a_reserver_without_a_convention_gets_an_empty_report(client, auth, world):
    body = report(client, auth("reserver", "commune-muret"), year=2025)

    assert all(p["rows"] == [] for p in body["parts"] if p["key"] != "key_figures")
    assert part(body, "shares")["total"]["proposed"] == 0


@pytest.fixture
def prefecture_32(session, territory, auth) -> dict:
    territories.load_territory(
        session,
        {
            "departement": {"code": "32", "name": "Gers"},
            "commune": [{"insee": "32013", "name": "Auch"}],
        },
    )
    organisations.create(
        session,
        SYSTEM,
        NewOrganisation(
            "etat-32", "État – Gers", OrganisationKind.RESERVER, ReserverCategory.ETAT, "32"
        ),
    )
    session.commit()
    return auth("prefecture", "etat-32")


def test_the_prefecture_consolidates_its_departement_and_nothing_else(
    client, auth, world, prefecture_32
):
    prefecture = auth("prefecture", "etat-31")
    body = report(client, prefecture, year=2025)
    landlords = {r["landlord"] for r in rows(body, "shares")}

    assert landlords == {
        "Office Public de l'Habitat Démo Garonne",
        "Pastel Habitat Démo (ESH fictive)",
    }
    assert body["meta"]["landlord"] is None and body["meta"]["departement"] == "Haute-Garonne (31)"
    assert report(client, prefecture, year=2025, departement="31")["parts"] == body["parts"]
    checks = {(r["landlord"], r["code"]) for r in rows(body, "checks")}
    assert (ESH_NAME, "dalo_prioritaires_25") in checks
    # The Gers' prefecture sees nothing of the Haute-Garonne.
    assert all(
        p["rows"] == []
        for p in report(client, prefecture_32, year=2025)["parts"]
        if p["key"] != "key_figures"  # zeros: nothing to report
    )
    assert_problem(get(client, prefecture_32, year=2025, departement="31"), 404)
    assert_problem(get(client, prefecture_32, year=2025, landlord=OPH), 404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "year"),
        ({"year": "1999"}, "year"),
        ({"year": "deux-mille"}, "year"),
        ({"year": "2025", "format": "docx"}, "format"),
        ({"year": "2025", "departement": "ZZZZ"}, "departement"),
    ],
)
def test_bad_input_is_a_problem_document(client, oph, query, field):
    problem = assert_problem(client.get(URL, query_string=query, headers=oph), 422)
    assert field in problem["errors"]["query"]


def test_anonymous_callers_are_refused(client):
    response = client.get(URL, query_string={"year": 2025})
    assert response.status_code == 401 and response.mimetype == PROBLEM


# --- a closed year -------------------------------------------------------------------------


def _close(session, client, oph_id: int) -> None:
    year_close.close(session, SYSTEM, Scope(oph_id, "31"), 2025, date(2026, 3, 1))
    session.commit()


def test_a_closed_years_report_is_frozen_and_late_entries_are_flagged_in_both_years(
    client, oph, session, world
):
    oph_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    december = logged(client, oph, create_dwelling(client, oph, "Z0000001", TOULOUSE), "2025-12-20")
    _close(session, client, oph_id)
    first = get(client, oph, year=2025, landlord=OPH, format="csv").data
    body = report(client, oph, year=2025, landlord=OPH)

    assert get(client, oph, year=2025, landlord=OPH, format="csv").data == first
    assert body["meta"]["closed"] is True
    shares = rows(body, "shares")
    assert {r["carry_out_status"] for r in shares} == {"définitif"}
    # The frozen figures are the fold's up to the close; the carries, the entries it wrote.
    scope = Scope(oph_id, "31")
    closing = year_close.closing(session, scope, 2025)
    frozen = allocation.balances(
        allocation_book.frozen(session, scope, 2025, closing.through_id).state
    )
    labels = {
        world["shares"]["al"]: "Part salaries",
        world["shares"]["tlse"]: "Part ville",
        world["shares"]["prioritaires"]: "Publics prioritaires",
        world["shares"]["agents"]: "Agents civils et militaires de l'État",
        LANDLORD: "Part non réservée du bailleur",
    }
    by_label = {r["share"]: r for r in shares}
    carries = {
        e.share_id or LANDLORD: e.payload["units"]
        for e in session.scalars(sa.select(JournalEntry).where(JournalEntry.kind == "carry_over"))
    }
    assert carries and sum(carries.values()) == 0
    for share_key, label in labels.items():
        row, balance = by_label[label], frozen[share_key]
        assert row["target"] == format_dwellings(balance.target_units)
        assert (row["realised"], row["eligible"]) == (balance.realised, balance.eligible)
        assert row["carry_out"] == format_dwellings(carries.get(share_key, 0))
    assert rows(body, "late_entries") == []

    # A routine follow-up in January 2026 of the December vacancy changes none of 2025's
    # figures: it is no late entry (issue 13), and the report does not move.
    if holder(december) == LANDLORD:
        recorded(
            client,
            oph,
            december["id"],
            "cal_attribution",
            "2026-01-15",
            rank=1,
            household=HOUSEHOLD,
        )
    else:
        recorded(client, oph, december["id"], "designation", "2026-01-15", candidates=3)
    after = report(client, oph, year=2025, landlord=OPH)

    for key in PARTS:
        assert part(after, key) == part(body, key), key
    assert rows(report(client, oph, year=2026, landlord=OPH), "late_entries") == []
    assert get(client, oph, year=2025, landlord=OPH, format="csv").data == first

    # A late withdrawal moves 2026's carry-ins (year_close.adjust_late), never 2025's figures:
    # a late entry, flagged in both years' bilans.
    recorded(client, oph, december["id"], "withdrawal", "2026-02-02", reason="le locataire reste")
    withdrawn = report(client, oph, year=2025, landlord=OPH)
    for key in PARTS:
        if key == "late_entries":
            continue
        assert part(withdrawn, key) == part(body, key), key
    late, *adjustments = rows(withdrawn, "late_entries")
    assert (late["kind"], late["concerns"], late["vacancy"]) == ("retrait", 2025, december["id"])
    assert late["effective_date"] == "2026-02-02"
    assert "concerne 2025" in late["flag"]
    assert adjustments and {r["kind"] for r in adjustments} == {"ajustement du report"}
    adjusted = report(client, oph, year=2026, landlord=OPH)
    carry_in = sum(Decimal(r["carry_in"]) for r in rows(adjusted, "shares"))
    assert carry_in == 0  # a scope's carries cancel out, adjustments included
    # 2026 lists the late entries of 2025; their carry adjustments are in its carry-ins.
    assert [r["entry"] for r in rows(adjusted, "late_entries")] == [late["entry"]]


def test_a_closed_years_report_is_byte_identical_in_every_format_after_next_years_entries(
    client, oph, session, world
):
    oph_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    _close(session, client, oph_id)
    formats = ("json", "csv", "xlsx", "pdf")
    before = {f: get(client, oph, year=2025, landlord=OPH, format=f).data for f in formats}
    again = {f: get(client, oph, year=2025, landlord=OPH, format=f).data for f in formats}
    assert again == before  # generated twice: the same bytes (PDF and XLSX dated of issue)

    # 2026 goes on: a vacancy, its orientation and its designation.
    vacancy = logged(client, oph, create_dwelling(client, oph, "Z0000002", TOULOUSE), "2026-01-08")
    if holder(vacancy) != LANDLORD:
        recorded(client, oph, vacancy["id"], "designation", "2026-01-20", candidates=3)
    after = {f: get(client, oph, year=2025, landlord=OPH, format=f).data for f in formats}
    assert after == before


# --- the command line ----------------------------------------------------------------------


def test_the_cli_writes_the_report_as_admin_or_as_a_user(
    database_url, monkeypatch, session, world, token_for, tmp_path
):
    from flux.models import User

    token_for("reserver", "action-logement")  # a user to act as
    email = session.scalar(sa.select(User.email).order_by(User.id.desc()))
    session.commit()
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)

    def flux(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    output = tmp_path / "bilan.csv"
    result = flux(
        "report",
        "annual",
        "--year",
        "2025",
        "--landlord",
        OPH,
        "--format",
        "csv",
        "--output",
        str(output),
    )
    assert result.exit_code == 0, result.output
    text = output.read_text("utf-8-sig")
    assert "Part non réservée du bailleur" in text and "Bailleur;Office Public" in text

    as_reserver = flux("report", "annual", "--year", "2025", "--as", email)
    assert as_reserver.exit_code == 0, as_reserver.output
    assert "Part non réservée du bailleur" not in as_reserver.output
    assert AL_NAME in as_reserver.output

    refused = flux("report", "annual", "--year", "2025", "--as", email, "--landlord", "inconnu")
    assert refused.exit_code == 1 and "introuvable" in refused.output
    assert "administrateur" in flux("report", "annual", "--help").output


# --- tidy machine formats (issue 13) -----------------------------------------------------------


def _as_text(value) -> str:
    return "" if value is None else str(value)


def test_each_part_as_a_tidy_csv_loads_with_pandas_to_the_rows_of_the_json(client, oph, world):
    import zipfile

    body = report(client, oph, year=2025, landlord=OPH)
    archive = get(client, oph, year=2025, landlord=OPH, format="zip")
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    members = zipfile.ZipFile(io.BytesIO(archive.data))
    assert members.namelist() == [f"{key}.csv" for key in PARTS]
    for key in PARTS:
        response = get(client, oph, year=2025, landlord=OPH, format="csv", part=key)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert f'-{key}.csv"' in response.headers["Content-Disposition"]
        assert members.read(f"{key}.csv") == response.data
        frame = pd.read_csv(io.BytesIO(response.data), dtype=str, keep_default_na=False)
        expected = part(body, key)
        assert list(frame.columns) == [c["key"] for c in expected["columns"]]
        assert frame.to_dict("records") == [
            {k: _as_text(v) for k, v in row.items()} for row in expected["rows"]
        ], key
    # Typed, the way a program reads it: ids are numbers, codes text, no total row.
    shares = pd.read_csv(
        io.BytesIO(get(client, oph, year=2025, landlord=OPH, format="csv", part="shares").data)
    )
    assert len(shares) == len(rows(body, "shares")) and "Total" not in set(shares["landlord"])
    assert set(shares["landlord_code"]) == {OPH}
    assert shares["share_id"].notna().sum() == len(shares) - 1  # the landlord part has none
    assert {c["key"] for c in part(body, "shares")["columns"] if c["machine"]} >= {
        "landlord_id",
        "reserver_id",
        "reserver_code",
        "convention_id",
        "share_id",
    }


def test_the_json_gives_the_percentage_periods_of_an_amended_share(client, oph, world):
    body = report(client, oph, year=2025, landlord=OPH)
    periods = rows(body, "share_periods")
    assert periods and all(p["share_id"] and p["convention_id"] for p in periods)
    by_share_id: dict[int, list[dict]] = {}
    for period in periods:
        by_share_id.setdefault(period["share_id"], []).append(period)
    for share_periods in by_share_id.values():
        days = [(p["valid_from"], p["valid_until"]) for p in share_periods]
        assert days == sorted(days) and all(start <= end for start, end in days)
        assert all(a[1] < b[0] for a, b in zip(days, days[1:], strict=False))


def test_part_is_refused_without_csv_and_for_an_unknown_part(client, oph, world):
    assert_problem(get(client, oph, year=2025, landlord=OPH, format="pdf", part="shares"), 422)
    assert_problem(get(client, oph, year=2025, landlord=OPH, format="csv", part="nope"), 422)


def test_a_closed_years_rows_are_kept_and_a_late_entry_or_a_new_name_renews_them(
    client, oph, session, world
):
    from flux.models import ReportFacts

    def kept() -> list[str]:
        session.expire_all()
        return list(session.scalars(sa.select(ReportFacts.key).where(ReportFacts.year == 2025)))

    oph_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    december = logged(client, oph, create_dwelling(client, oph, "Z0000002", TOULOUSE), "2025-12-20")
    assert report(client, oph, year=2026, landlord=OPH) and kept() == []  # open: nothing kept
    _close(session, client, oph_id)
    first = get(client, oph, year=2025, landlord=OPH, format="csv").data
    [key] = kept()
    assert get(client, oph, year=2025, landlord=OPH, format="csv").data == first
    assert kept() == [key]  # read back, not made again
    # A late entry that changes the closed year: a new key, the late entry in the bilan.
    recorded(client, oph, december["id"], "withdrawal", "2026-02-02", reason="le locataire reste")
    late = report(client, oph, year=2025, landlord=OPH)
    [renewed] = kept()
    assert renewed != key and rows(late, "late_entries")
    # A renamed landlord: new rows, with the new name.
    landlord = session.get(Organisation, oph_id)
    landlord.name = "Office renommé"
    session.commit()
    named = report(client, oph, year=2025, landlord=OPH)
    assert kept() != [renewed]
    assert {r["landlord"] for r in rows(named, "shares")} == {"Office renommé"}


# --- prepared in the background (issue 13) -----------------------------------------------------


def test_a_bilan_asked_for_asynchronously_is_prepared_by_the_scheduler_then_served(
    app, client, oph, session, world, auth
):
    from flux.services import report_jobs

    query = {"year": 2025, "landlord": OPH, "format": "pdf"}
    asked = client.get(URL, query_string=query, headers={**oph, "Prefer": "respond-async"})
    assert asked.status_code == 202
    location = asked.headers["Location"]
    assert asked.get_json()["status"] == "pending" and asked.get_json()["location"] == location
    waiting = client.get(location, headers=oph)
    assert waiting.status_code == 202 and waiting.headers["Retry-After"]
    # Another caller, even one who may read the same bilan, does not see the job.
    assert_problem(client.get(location, headers=auth("landlord", "esh-demo-pastel")), 404)

    assert report_jobs.run_pending(session) == 1
    assert report_jobs.run_pending(session) == 0  # made once
    ready = client.get(location, headers=oph)
    assert ready.status_code == 200 and ready.mimetype == "application/pdf"
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(ready.data)).pages
    )
    assert "Synthèse" in text and "Office Public de l'Habitat Démo Garonne" in text

    # Too many scopes for a request: prepared in the background without being asked.
    app.config["REPORT_BACKGROUND_SCOPES"] = 0
    big = get(client, oph, year=2025, landlord=OPH, format="csv", part="shares")
    assert big.status_code == 202
    report_jobs.run_pending(session)
    done = client.get(big.headers["Location"], headers=oph)
    assert done.status_code == 200 and done.data.startswith(b"landlord,")
    # A filter the caller may not use is still 404, not a job.
    assert_problem(get(client, oph, year=2025, landlord="esh-demo-pastel"), 404)
