"""Deduction forecasts: the landlord declares, for a year and a département, the vacancies it
expects to deduct from the flux base by category; reservers and the prefecture read them
(issue 4, domain.md §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from flux import clock
from flux.domain.reference import DeductionCategory
from flux.models import AuditRecord, DeductionForecast
from flux.services import deduction_forecasts, year_close
from flux.services.access import SYSTEM
from flux.services.allocation_book import Scope
from flux.services.deduction_forecasts import NewForecasts

from .conftest import assert_problem
from .vacancy_kit import ESH, OPH, action_logement, create_dwelling, logged

URL = "/api/v1/deduction-forecasts"
WORKED_EXAMPLE = {"internal_transfer": 160, "urban_renewal": 40, "sale": 5}  # domain.md §10


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def stock(client, oph) -> int:
    """OPH has a dwelling in Toulouse: it may declare forecasts in the 31."""
    return create_dwelling(client, oph, "F0000001")


def declare(client, headers, year: int = 2026, departement: str = "31", **fields):
    body = {"departement": departement, "year": year, "forecasts": WORKED_EXAMPLE, **fields}
    return client.post(URL, json=body, headers=headers)


def figures(rows: list[dict]) -> dict[str, int]:
    return {row["category"]: row["forecast"] for row in rows}


def audit_of_forecasts(session) -> list[AuditRecord]:
    session.rollback()  # read what the requests committed
    return list(
        session.scalars(
            sa.select(AuditRecord)
            .where(AuditRecord.table_name == "deduction_forecasts")
            .order_by(AuditRecord.id)
        )
    )


# --- declaring ---------------------------------------------------------------------------------


def test_a_landlord_declares_its_forecast_by_category_for_its_own_scope(
    client, oph, stock, org_ids
):
    response = declare(client, oph)

    assert response.status_code == 201, response.get_json()
    rows = response.get_json()
    assert [row["category"] for row in rows] == ["internal_transfer", "urban_renewal", "sale"]
    assert figures(rows) == WORKED_EXAMPLE
    assert {(row["landlord_id"], row["departement"], row["year"]) for row in rows} == {
        (org_ids[OPH], "31", 2026)
    }
    assert all(row["declared_by"] is not None and row["declared_at"] for row in rows)


def test_forecasts_gives_the_figures_in_force_keyed_by_category_and_omits_undeclared_ones(
    client, oph, stock, session, org_ids
):
    declare(client, oph)
    declare(client, oph, forecasts={"sale": 7, "unfit_housing": 0})

    found = deduction_forecasts.forecasts(session, org_ids[OPH], "31", 2026)

    assert found == {"internal_transfer": 160, "urban_renewal": 40, "sale": 7, "unfit_housing": 0}
    assert "degraded_condo" not in found  # not declared: absent, not zero
    assert deduction_forecasts.forecasts(session, org_ids[OPH], "31", 2025) == {}


def test_declaring_the_same_figures_again_changes_nothing(client, oph, stock, session):
    first = declare(client, oph).get_json()
    records = len(audit_of_forecasts(session))

    again = declare(client, oph)

    assert again.status_code == 200
    assert again.get_json() == first  # same rows, same declaration time and author
    assert len(audit_of_forecasts(session)) == records


def test_redeclaring_a_category_replaces_its_figure_and_the_audit_keeps_the_old_one(
    client, oph, stock, session
):
    first = {row["category"]: row for row in declare(client, oph).get_json()}

    response = declare(client, oph, forecasts={"internal_transfer": 150, "sale": 5})

    assert response.status_code == 201
    rows = {row["category"]: row for row in response.get_json()}
    assert figures(response.get_json()) == {**WORKED_EXAMPLE, "internal_transfer": 150}
    assert rows["internal_transfer"]["id"] == first["internal_transfer"]["id"]  # replaced in place
    assert rows["internal_transfer"]["declared_at"] > first["internal_transfer"]["declared_at"]
    assert rows["sale"] == first["sale"]  # the same figure again: untouched
    records = audit_of_forecasts(session)
    assert [r.action for r in records] == ["insert"] * 3 + ["update"]
    inserted = next(r for r in records if r.row_key == str(first["internal_transfer"]["id"]))
    assert inserted.changes["forecast"] == 160
    assert records[-1].row_key == str(first["internal_transfer"]["id"])
    assert records[-1].changes["forecast"] == 150
    assert records[-1].user_id is not None and records[-1].organisation_id is not None


def test_a_category_left_out_keeps_its_forecast(client, oph, stock):
    declare(client, oph)

    rows = declare(client, oph, forecasts={"degraded_condo": 3}).get_json()

    assert figures(rows) == {**WORKED_EXAMPLE, "degraded_condo": 3}


def test_each_year_and_departement_has_its_own_forecast(client, oph, stock, session, org_ids):
    create_dwelling(client, oph, "F0000002")
    declare(client, oph, year=2025, forecasts={"internal_transfer": 100})
    declare(client, oph, year=2026)

    assert deduction_forecasts.forecasts(session, org_ids[OPH], "31", 2025) == {
        "internal_transfer": 100
    }
    assert deduction_forecasts.forecasts(session, org_ids[OPH], "31", 2026) == WORKED_EXAMPLE


def test_a_landlord_with_conventions_but_no_dwellings_there_may_declare(client, oph):
    action_logement(client, oph)

    assert declare(client, oph).status_code == 201


def test_an_admin_declares_for_a_landlord_named_by_code_or_id(client, auth, stock, org_ids):
    admin = auth("admin")

    by_code = declare(client, admin, landlord=OPH, forecasts={"sale": 1})
    by_id = declare(client, admin, landlord=org_ids[OPH], forecasts={"sale": 2})

    assert by_code.status_code == 201 and by_id.status_code == 201
    assert figures(by_id.get_json()) == {"sale": 2}
    assert by_id.get_json()[0]["landlord_id"] == org_ids[OPH]


@pytest.mark.parametrize("landlord", [None, "action-logement"])  # none, or a reserver
def test_an_admin_must_name_a_landlord(client, auth, stock, committed, landlord):
    fields = {} if landlord is None else {"landlord": landlord}

    body = assert_problem(declare(client, auth("admin"), **fields), 422)

    assert list(body["errors"]["json"]) == ["landlord"]
    assert committed(DeductionForecast) == 0


# --- bad input changes nothing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"forecasts": {"inondation": 3, "sale": 1}}, ["forecasts", "inondation"]),
        ({"forecasts": {"internal_transfer": -1}}, ["forecasts", "internal_transfer"]),
        ({"forecasts": {"internal_transfer": 1.5}}, ["forecasts", "internal_transfer"]),
        ({"forecasts": {"internal_transfer": "12"}}, ["forecasts", "internal_transfer"]),
        ({"forecasts": {"internal_transfer": True}}, ["forecasts", "internal_transfer"]),
        ({"forecasts": {"sale": 1_000_001}}, ["forecasts", "sale"]),
        ({"forecasts": {}}, ["forecasts"]),
        ({"forecasts": [160, 40]}, ["forecasts"]),
        ({"year": 2019}, ["year"]),
        ({"year": 1999}, ["year"]),
        ({"year": clock.today().year + 2}, ["year"]),
        ({"departement": "99"}, ["departement"]),
        ({"departement": "31000"}, ["departement"]),
        ({"departement": "32"}, ["departement"]),  # OPH has nothing in the Gers
        ({"landlord": "inconnu"}, ["landlord"]),
    ],
)
def test_bad_input_is_refused_in_french_naming_the_field_and_changes_nothing(
    client, oph, stock, committed, fields, where
):
    declare(client, oph, forecasts={"internal_transfer": 160})

    body = assert_problem(declare(client, oph, **fields), 422)

    found = body["errors"]["json"]
    for key in where:
        found = found[key]
    assert found and all(isinstance(message, str) for message in found)
    assert committed(DeductionForecast) == 1


def test_an_unknown_category_is_named_beside_the_other_errors(client, oph, stock):
    body = assert_problem(declare(client, oph, forecasts={"inondation": 3, "sale": -2}), 422)

    errors = body["errors"]["json"]["forecasts"]
    assert "Catégorie inconnue" in errors["inondation"][0]
    assert "internal_transfer" in errors["inondation"][0]
    assert errors["sale"] == ["Doit être supérieur ou égal à 0 et inférieur ou égal à 1000000."]


def test_the_service_refuses_what_the_api_schema_would_have_caught(session, territory, org_ids):
    """The service is called without the API too (demo, scripts): it checks on its own."""
    actor = SYSTEM
    with pytest.raises(deduction_forecasts.InvalidInput) as refused:
        deduction_forecasts.declare(
            session,
            actor,
            NewForecasts("31", 2026, {"inondation": 1, "sale": -1}, landlord=org_ids[OPH]),
            today=date(2026, 1, 15),
        )
    errors = refused.value.errors["json"]
    assert set(errors) == {"forecasts", "departement"}  # no dwelling nor convention yet
    assert set(errors["forecasts"]) == {"inondation", "sale"}


# --- who may declare ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "org", "read_only"),
    [
        ("reserver", "action-logement", False),
        ("prefecture", "etat-31", False),
        ("landlord", OPH, True),
        ("landlord", ESH, False),
    ],
)
def test_only_the_landlord_writer_or_an_admin_declares(
    client, auth, stock, committed, org_ids, role, org, read_only
):
    response = declare(client, auth(role, org, read_only), landlord=org_ids[OPH])

    assert_problem(response, 403)
    assert committed(DeductionForecast) == 0


def test_a_reserver_cannot_declare_even_without_naming_a_landlord(client, auth, stock, committed):
    assert_problem(declare(client, auth("reserver", "action-logement")), 403)
    assert committed(DeductionForecast) == 0


# --- who reads what ----------------------------------------------------------------------------


@pytest.fixture
def declared(client, oph, auth, stock) -> None:
    """OPH's 2026 forecast in the 31 (with a convention with Action Logement), and ESH's."""
    action_logement(client, oph)
    declare(client, oph)
    esh = auth("landlord", ESH)
    create_dwelling(client, esh, "E0000001")
    declare(client, esh, forecasts={"sale": 3})


def landlords_seen(client, headers, **query) -> set[int]:
    response = client.get(URL, headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return {row["landlord_id"] for row in response.get_json()}


def test_a_reserver_reads_the_forecasts_of_the_landlords_it_holds_a_convention_with(
    client, auth, declared, org_ids
):
    assert landlords_seen(client, auth("reserver", "action-logement")) == {org_ids[OPH]}
    assert landlords_seen(client, auth("reserver", "commune-toulouse")) == set()


def test_the_prefecture_reads_its_departements_forecasts(client, auth, declared, org_ids):
    assert landlords_seen(client, auth("prefecture", "etat-31")) == {org_ids[OPH], org_ids[ESH]}


def test_a_landlord_reads_only_its_own(client, auth, oph, declared, org_ids):
    assert landlords_seen(client, oph) == {org_ids[OPH]}
    assert landlords_seen(client, auth("landlord", ESH)) == {org_ids[ESH]}


def test_the_list_filters_by_year_landlord_departement_and_category(
    client, auth, declared, org_ids
):
    admin = auth("admin")
    assert landlords_seen(client, admin) == {org_ids[OPH], org_ids[ESH]}
    assert landlords_seen(client, admin, landlord=org_ids[ESH]) == {org_ids[ESH]}
    assert landlords_seen(client, admin, category="urban_renewal") == {org_ids[OPH]}
    assert landlords_seen(client, admin, year=2025) == set()
    assert landlords_seen(client, admin, departement="32") == set()
    rows = client.get(URL, headers=admin, query_string={"landlord": org_ids[OPH]}).get_json()
    assert [row["category"] for row in rows] == ["internal_transfer", "urban_renewal", "sale"]


def test_an_unknown_category_filter_is_refused(client, auth, declared):
    response = client.get(URL, headers=auth("admin"), query_string={"category": "inondation"})

    body = assert_problem(response, 422)
    assert list(body["errors"]["query"]) == ["category"]


# --- a closed year's forecast is frozen with its bilan ----------------------------------------


def test_a_closed_years_forecast_no_longer_changes(client, oph, stock, session, org_ids):
    logged(client, oph, stock, "2025-06-01")
    declare(client, oph, year=2025)
    year_close.close(session, SYSTEM, Scope(org_ids[OPH], "31"), 2025, date(2026, 3, 1))
    session.commit()

    changed = declare(client, oph, year=2025, forecasts={"internal_transfer": 1})
    same = declare(client, oph, year=2025)

    body = assert_problem(changed, 409)
    assert "clôturée" in body["detail"]
    assert same.status_code == 200  # declaring what stands is still harmless
    assert deduction_forecasts.forecasts(session, org_ids[OPH], "31", 2025) == WORKED_EXAMPLE
    assert declare(client, oph, year=2026).status_code == 201  # the next year is open


# --- the deadline --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared_at", "late"),
    [
        (datetime(2026, 1, 10, 9, 0, tzinfo=UTC), False),
        (datetime(2026, 2, 28, 22, 59, tzinfo=UTC), False),  # 23:59 in Paris
        (datetime(2026, 2, 28, 23, 0, tzinfo=UTC), True),  # already 1 March in Paris
        (datetime(2025, 11, 30, 12, 0, tzinfo=UTC), False),  # declared the year before
    ],
)
def test_a_forecast_is_late_when_declared_after_28_february_in_paris(declared_at, late):
    row = DeductionForecast(
        year=2026, category=DeductionCategory.SALE, forecast=1, declared_at=declared_at
    )

    assert deduction_forecasts.is_late(row) is late


def test_the_openapi_document_describes_the_errors_of_a_declaration(client):
    document = client.get("/api/v1/openapi.json").get_json()
    post = document["paths"]["/api/v1/deduction-forecasts"]["post"]

    assert {"200", "201", "401", "403", "409", "422"} <= set(post["responses"])
    assert "application/problem+json" in post["responses"]["409"]["content"]
    figures_schema = document["components"]["schemas"]["ForecastFigures"]["properties"]
    assert set(figures_schema) == {category.value for category in DeductionCategory}
