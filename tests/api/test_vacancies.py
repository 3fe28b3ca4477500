"""Vacancies through the API: logging and orientation in turn with its explanation,
idempotency, access, deductions, overrides, and the lifecycle up to the lease (domain.md §3–5,
design.md §4)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import sqlalchemy as sa

from flux.db import create_engine
from flux.models import JournalEntry

from .conftest import assert_problem
from .vacancy_kit import (
    COLOMIERS,
    ESH,
    LANDLORD,
    OPH,
    action_logement,
    balances_by_share,
    create_dwelling,
    event,
    figures,
    holder,
    log,
    logged,
    recorded,
    toulouse,
)

HOUSEHOLD = {"dalo": True, "prioritaire": False, "first_quartile": True}


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def shares(client, oph) -> dict[str, int]:
    """Action Logement 50 % of the département (designation within 20 days), Toulouse 20 % of
    Toulouse (defaults): in Toulouse the landlord keeps 30 %."""
    return {
        "al": action_logement(client, oph, policies={"designation_deadline_days": 20}),
        "tlse": toulouse(client, oph),
    }


@pytest.fixture
def homes(client, oph) -> list[int]:
    """Six dwellings in Toulouse."""
    return [create_dwelling(client, oph, f"T{n:07d}") for n in range(1, 7)]


@pytest.fixture
def journal(database_url):
    """journal() -> Counter of committed journal entries by kind (seen from another
    connection)."""
    engine = create_engine(database_url)

    def kinds() -> Counter:
        with engine.connect() as connection:
            return Counter(connection.scalars(sa.select(JournalEntry.kind)))

    yield kinds
    engine.dispose()


def _lines(vacancy: dict) -> dict:
    """share -> (basis points, target, realised, deficit) of the orientation's explanation."""
    return {
        line["share"]: (line["basis_points"], line["target"], line["realised"], line["deficit"])
        for line in vacancy["orientation"]["explanation"]
    }


# --- logging and orientation ------------------------------------------------------------------


def test_a_vacancy_is_oriented_to_the_share_furthest_behind_with_its_explanation(
    client, oph, shares, homes, org_ids
):
    response = log(client, oph, homes[0], "2025-03-01")

    assert response.status_code == 201
    vacancy = response.json
    assert vacancy["stage"] == "oriented"
    assert vacancy["available_on"] == "2025-03-01"
    assert vacancy["deduction"] is None
    assert holder(vacancy) == shares["al"]
    orientation = vacancy["orientation"]
    assert orientation["rule"] == "largest_deficit"
    assert orientation["rule_version"] == "1"
    assert orientation["proposed"] == orientation["chosen"] == shares["al"]
    assert orientation["override"] is False
    assert _lines(vacancy) == {
        shares["al"]: (5000, 5000, 0, 5000),
        shares["tlse"]: (2000, 2000, 0, 2000),
        LANDLORD: (3000, 3000, 0, 3000),
    }
    al, tlse, landlord = orientation["explanation"]
    assert [line["chosen"] for line in (al, tlse, landlord)] == [True, False, False]
    assert al["reserver"]["id"] == org_ids["action-logement"]
    assert tlse["convention_reference"] == "TLSE"
    assert landlord["landlord_part"] is True
    assert landlord["label"] == "Part non réservée du bailleur"


def test_each_explanation_shows_the_figures_at_the_moment_of_its_decision(
    client, oph, shares, homes
):
    first, second, third = (logged(client, oph, homes[n], "2025-03-01") for n in range(3))

    assert [holder(v) for v in (first, second, third)] == [shares["al"], LANDLORD, shares["tlse"]]
    assert _lines(third) == {
        shares["al"]: (5000, 15000, 1, 5000),
        shares["tlse"]: (2000, 6000, 0, 6000),
        LANDLORD: (3000, 9000, 1, -1000),
    }
    # A new vacancy never changes an earlier orientation.
    again = client.get(f"/api/v1/vacancies/{first['id']}", headers=oph).json
    assert again["orientation"] == first["orientation"]


def test_the_designation_deadline_is_the_date_plus_the_conventions_designation_delay(
    client, oph, shares, homes
):
    to_al, to_landlord, to_tlse = (logged(client, oph, homes[n], "2025-03-01") for n in range(3))

    assert to_al["designation_deadline"] == "2025-03-21"  # 20 days
    assert to_tlse["designation_deadline"] == "2025-03-31"  # the default 30 days
    assert to_landlord["designation_deadline"] is None
    assert to_landlord["allowed_events"] == [
        "cal_attribution",
        "cal_refusal",
        "override",
        "withdrawal",
    ]


def test_a_first_letting_is_not_eligible_for_a_convention_that_excludes_first_lettings(
    client, oph, homes
):
    al = action_logement(client, oph)
    tlse = toulouse(client, oph, policies={"first_lettings_counted": False})

    first = logged(client, oph, homes[0], "2025-03-01", letting="first_letting")
    relet = logged(client, oph, homes[1], "2025-03-01")

    assert first["letting"] == "first_letting"
    assert set(_lines(first)) == {al, LANDLORD}
    assert _lines(first)[LANDLORD][0] == 5000
    assert set(_lines(relet)) == {al, tlse, LANDLORD}


def test_a_share_is_eligible_only_in_its_perimeter(client, oph, shares):
    colomiers = create_dwelling(client, oph, "C0000001", commune=COLOMIERS)

    vacancy = logged(client, oph, colomiers, "2025-03-01")

    assert set(_lines(vacancy)) == {shares["al"], LANDLORD}
    assert vacancy["dwelling"]["commune"] == COLOMIERS


# --- idempotency --------------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_first_response_and_orients_once(
    client, oph, shares, homes, journal
):
    first = log(client, oph, homes[0], "2025-03-01", key="abc-1")
    replayed = log(client, oph, homes[0], "2025-03-01", key="abc-1")

    assert first.status_code == 201
    assert replayed.status_code == 200
    assert replayed.json == first.json
    assert journal()["orientation"] == 1
    assert journal()["vacancy_logged"] == 1


def test_the_same_dwelling_and_date_without_a_key_is_logged_once(
    client, oph, shares, homes, journal
):
    first = log(client, oph, homes[0], "2025-03-01")
    again = log(client, oph, homes[0], "2025-03-01")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"]
    assert journal()["orientation"] == 1


def test_an_idempotency_key_reused_for_another_dwelling_or_date_is_a_conflict(
    client, oph, shares, homes, journal
):
    assert log(client, oph, homes[0], "2025-03-01", key="k").status_code == 201

    other_dwelling = log(client, oph, homes[1], "2025-03-01", key="k")
    other_date = log(client, oph, homes[0], "2025-03-02", key="k")

    body = assert_problem(other_dwelling, 409)
    assert body["errors"] == {"headers": {"Idempotency-Key": ["Clé déjà utilisée."]}}
    assert_problem(other_date, 409)
    assert journal()["vacancy_logged"] == 1
    assert journal()["orientation"] == 1


def test_a_replayed_request_returns_its_vacancy_even_if_the_dwelling_left_the_flux_since(
    client, oph, shares, homes
):
    first = log(client, oph, homes[0], "2025-03-01", key="k")
    patched = client.patch(
        f"/api/v1/dwellings/{homes[0]}", json={"out_of_flux": "foyer"}, headers=oph
    )
    assert patched.status_code == 200

    replayed = log(client, oph, homes[0], "2025-03-01", key="k")

    assert replayed.status_code == 200, replayed.json
    assert replayed.json["id"] == first.json["id"]


# --- one open vacancy per dwelling ------------------------------------------------------------


def test_a_second_vacancy_of_a_dwelling_is_refused_while_the_first_is_open(
    client, oph, shares, homes, journal
):
    first = logged(client, oph, homes[0], "2025-03-01")

    response = log(client, oph, homes[0], "2025-04-01")

    body = assert_problem(response, 409)
    assert body["open_vacancy"] == first["id"]
    assert "« orienté, en attente de candidats »" in body["detail"]
    assert journal()["vacancy_logged"] == 1


def _lease(client, headers, vacancy_id: int) -> None:
    recorded(client, headers, vacancy_id, "designation", "2025-03-05", candidates=3)
    recorded(
        client, headers, vacancy_id, "cal_attribution", "2025-03-10", rank=1, household=HOUSEHOLD
    )
    recorded(client, headers, vacancy_id, "lease", "2025-03-20")


def _withdraw(client, headers, vacancy_id: int) -> None:
    recorded(client, headers, vacancy_id, "withdrawal", "2025-03-05", reason="Le locataire reste")


@pytest.mark.parametrize("close", [_lease, _withdraw], ids=["lease", "withdrawal"])
def test_a_dwelling_is_logged_again_once_its_vacancy_is_closed(client, oph, shares, homes, close):
    first = logged(client, oph, homes[0], "2025-03-01")
    close(client, oph, first["id"])

    second = log(client, oph, homes[0], "2025-06-01")

    assert second.status_code == 201
    assert second.json["id"] != first["id"]
    assert second.json["stage"] == "oriented"


# --- who may log --------------------------------------------------------------------------------


def test_an_out_of_flux_dwelling_is_refused_naming_the_reason(client, oph, shares, journal):
    foyer = create_dwelling(client, oph, "F0000001", out_of_flux="foyer")

    body = assert_problem(log(client, oph, foyer, "2025-03-01"), 422)

    assert body["out_of_flux"] == "foyer"
    assert "logement-foyer" in body["detail"]
    assert body["errors"] == {"json": {"dwelling": ["Logement hors du flux."]}}
    assert journal()["vacancy_logged"] == 0


def test_another_landlords_dwelling_is_not_found(client, oph, auth, shares, homes, journal):
    response = log(client, auth("landlord", ESH), homes[0], "2025-03-01")

    assert_problem(response, 404)
    assert journal()["vacancy_logged"] == 0


@pytest.mark.parametrize(
    ("role", "org", "read_only", "status"),
    [
        ("reserver", "action-logement", False, 404),
        ("prefecture", "etat-31", False, 403),
        ("landlord", OPH, True, 403),
    ],
    ids=["reserver", "prefecture", "read-only-landlord"],
)
def test_only_a_writing_landlord_logs_its_vacancies(
    client, auth, shares, homes, journal, role, org, read_only, status
):
    response = log(client, auth(role, org, read_only), homes[0], "2025-03-01")

    assert_problem(response, status)
    assert journal()["vacancy_logged"] == 0


# --- deductions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "deduction", ["internal_transfer", "urban_renewal", "degraded_condo", "unfit_housing", "sale"]
)
def test_a_deducted_vacancy_is_oriented_to_nobody_and_changes_no_balance(
    client, oph, shares, homes, journal, deduction
):
    logged(client, oph, homes[0], "2025-03-01")
    before = balances_by_share(client, oph, "2025-12-31")

    vacancy = logged(client, oph, homes[1], "2025-03-02", deduction=deduction)

    assert vacancy["deduction"] == deduction
    assert vacancy["orientation"] is None
    assert vacancy["holder"] is None
    assert vacancy["stage"] == "deducted"
    # Let for its internal purpose: its attribution and lease are recorded (R.441-5, L.441-1).
    assert vacancy["allowed_events"] == ["cal_attribution", "lease", "withdrawal"]
    assert balances_by_share(client, oph, "2025-12-31") == before
    assert journal()["orientation"] == 1


def test_a_deducted_vacancy_is_let_by_a_lease(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01", deduction="internal_transfer")

    after = recorded(client, oph, vacancy["id"], "lease", "2025-03-15")

    assert after["stage"] == "leased"


def test_a_deducted_vacancy_cannot_be_oriented(client, oph, shares, homes):
    response = log(
        client, oph, homes[0], "2025-03-01", deduction="sale", orient_to=LANDLORD, reason="x"
    )

    body = assert_problem(response, 422)
    assert "orient_to" in body["errors"]["json"]


# --- overrides at logging -----------------------------------------------------------------------


def test_an_override_at_logging_requires_a_reason(client, oph, shares, homes, journal):
    response = log(client, oph, homes[0], "2025-03-01", orient_to=LANDLORD)

    body = assert_problem(response, 422)
    assert body["errors"] == {
        "json": {"reason": ["Motif obligatoire pour déroger à la proposition."]}
    }
    assert journal()["vacancy_logged"] == 0


def test_an_override_at_logging_requires_an_eligible_share(client, oph, shares, journal):
    colomiers = create_dwelling(client, oph, "C0000001", commune=COLOMIERS)

    response = log(client, oph, colomiers, "2025-03-01", orient_to=shares["tlse"], reason="Urgence")

    body = assert_problem(response, 422)
    assert body["errors"] == {"json": {"orient_to": ["Part non éligible pour ce logement."]}}
    assert journal()["vacancy_logged"] == 0


def test_an_override_at_logging_records_the_proposal_the_choice_and_the_reason(
    client, oph, shares, homes
):
    vacancy = logged(
        client, oph, homes[0], "2025-03-01", orient_to=LANDLORD, reason="Relogement urgent"
    )

    orientation = vacancy["orientation"]
    assert (orientation["proposed"], orientation["chosen"]) == (shares["al"], LANDLORD)
    assert orientation["override"] is True
    assert orientation["reason"] == "Relogement urgent"
    assert holder(vacancy) == LANDLORD
    assert vacancy["designation_deadline"] is None


def test_choosing_the_proposed_share_is_not_an_override(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01", orient_to=shares["al"])

    assert vacancy["orientation"]["override"] is False
    assert vacancy["orientation"]["reason"] is None


def test_the_next_proposals_compensate_an_override(client, oph, shares, homes):
    logged(client, oph, homes[0], "2025-03-01", orient_to=LANDLORD, reason="Urgence")

    second, third = (logged(client, oph, homes[n], "2025-03-02") for n in (1, 2))

    # Without the override the second would go to the landlord part (see above).
    assert holder(second) == shares["al"]
    assert _lines(second)[shares["al"]] == (5000, 10000, 0, 10000)
    assert holder(third) == shares["tlse"]


# --- lifecycle ----------------------------------------------------------------------------------


def test_a_vacancy_goes_from_designation_through_the_cal_to_the_lease(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")

    designated = recorded(client, oph, vacancy["id"], "designation", "2025-03-10", candidates=3)
    attributed = recorded(
        client, oph, vacancy["id"], "cal_attribution", "2025-03-20", rank=2, household=HOUSEHOLD
    )
    leased = recorded(client, oph, vacancy["id"], "lease", "2025-04-01")

    assert designated["stage"] == "designated"
    assert designated["designation_deadline"] is None
    assert attributed["stage"] == "attributed"
    assert leased["stage"] == "leased"
    assert leased["allowed_events"] == []
    assert [(e["type"], e["date"]) for e in leased["events"]] == [
        ("orientation", "2025-03-01"),
        ("designation", "2025-03-10"),
        ("cal_attribution", "2025-03-20"),
        ("lease", "2025-04-01"),
    ]
    attribution = leased["events"][2]
    assert attribution["details"] == {"rank": 2, "household": HOUSEHOLD}
    assert attribution["share_id"] == shares["al"]


def test_an_attribution_carries_no_personal_data(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    recorded(client, oph, vacancy["id"], "designation", "2025-03-10", candidates=3)

    response = event(
        client,
        oph,
        vacancy["id"],
        "cal_attribution",
        "2025-03-20",
        rank=1,
        household={**HOUSEHOLD, "nom": "Dupont"},
    )

    body = assert_problem(response, 422)
    assert "nom" in body["errors"]["json"]["household"]


def test_a_designation_needs_the_conventions_number_of_candidates_unless_dalo(
    client, oph, shares, homes
):
    vacancy = logged(client, oph, homes[0], "2025-03-01")

    short = event(client, oph, vacancy["id"], "designation", "2025-03-10", candidates=2)
    dalo = event(client, oph, vacancy["id"], "designation", "2025-03-10", candidates=1, dalo=True)

    assert assert_problem(short, 422)["errors"] == {
        "json": {"candidates": ["Au moins 3 candidats."]}
    }
    assert dalo.status_code == 201


def test_a_lease_before_an_attribution_is_refused_with_the_stage(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")

    body = assert_problem(event(client, oph, vacancy["id"], "lease", "2025-03-10"), 422)

    assert body["rule"] == "lifecycle"
    assert body["figures"] == {"stage": "oriented", "event": "lease"}
    assert "« orienté, en attente de candidats »" in body["detail"]
    assert body["errors"]["json"]["type"] == [body["detail"]]


def test_a_designation_after_the_deadline_is_refused(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")  # deadline 2025-03-21

    late = event(client, oph, vacancy["id"], "designation", "2025-03-22", candidates=3)
    on_time = event(client, oph, vacancy["id"], "designation", "2025-03-21", candidates=3)

    assert assert_problem(late, 422)["figures"] == {"deadline": "2025-03-21", "date": "2025-03-22"}
    assert on_time.status_code == 201


def test_a_carence_before_the_deadline_is_refused(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")

    body = assert_problem(event(client, oph, vacancy["id"], "carence", "2025-03-21"), 422)

    assert body["rule"] == "lifecycle"
    assert body["figures"]["deadline"] == "2025-03-21"


def test_a_counted_carence_keeps_the_shares_realised(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    before = balances_by_share(client, oph, "2025-12-31")

    after = recorded(client, oph, vacancy["id"], "carence", "2025-03-22")

    assert after["stage"] == "taken_back"
    assert after["events"][-1]["details"] == {"counted": True, "from": shares["al"]}
    assert after["allowed_events"] == ["cal_attribution", "cal_refusal", "withdrawal"]
    now = balances_by_share(client, oph, "2025-12-31")
    # The engine's figures stay; the bilan's columns show the take-back, counted.
    assert {k: figures(v) for k, v in now.items()} == {k: figures(v) for k, v in before.items()}
    assert now[shares["al"]]["taken_back_counted"] == 1
    assert before[shares["al"]]["realised"] == 1


def test_an_uncounted_carence_re_credits_the_share_to_the_landlord_part(client, oph, homes):
    al = action_logement(client, oph, policies={"carence_counts": False})
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    before = balances_by_share(client, oph, "2025-12-31")

    after = recorded(client, oph, vacancy["id"], "carence", "2025-04-01")

    balances = balances_by_share(client, oph, "2025-12-31")
    assert holder(after) == LANDLORD
    assert (before[al]["realised"], balances[al]["realised"]) == (1, 0)
    assert (before[LANDLORD]["realised"], balances[LANDLORD]["realised"]) == (0, 1)
    assert balances[al]["target"] == before[al]["target"] == "0.50"
    assert balances[al]["gap"] == "-0.50"


def test_after_a_cal_refusal_the_reserver_designates_again_within_the_delay(client, oph, homes):
    action_logement(client, oph, policies={"cal_refusal_delay_days": 10})
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    recorded(client, oph, vacancy["id"], "designation", "2025-03-05", candidates=3)
    refused = recorded(client, oph, vacancy["id"], "cal_refusal", "2025-03-10")

    late = event(client, oph, vacancy["id"], "designation", "2025-03-21", candidates=3)
    again = event(client, oph, vacancy["id"], "designation", "2025-03-20", candidates=3)

    assert refused["stage"] == "cal_refused"
    assert refused["redesignation_deadline"] == "2025-03-20"
    assert assert_problem(late, 422)["figures"]["deadline"] == "2025-03-20"
    assert again.status_code == 201
    assert again.json["stage"] == "designated"


def test_after_a_cal_refusal_the_landlord_takes_back_once_the_delay_has_passed(client, oph, homes):
    al = action_logement(client, oph, policies={"cal_refusal_delay_days": 10})
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    recorded(client, oph, vacancy["id"], "designation", "2025-03-05", candidates=3)
    recorded(client, oph, vacancy["id"], "cal_refusal", "2025-03-10")

    early = event(client, oph, vacancy["id"], "take_back", "2025-03-20")
    taken = event(client, oph, vacancy["id"], "take_back", "2025-03-21")

    assert assert_problem(early, 422)["rule"] == "lifecycle"
    assert taken.status_code == 201
    assert taken.json["stage"] == "taken_back"
    assert taken.json["events"][-1]["details"] == {"counted": True, "from": al}
    assert balances_by_share(client, oph, "2025-12-31")[al]["realised"] == 1


def test_an_uncounted_take_back_re_credits_the_share(client, oph, homes):
    al = action_logement(client, oph, policies={"cal_refusal_counts": False})
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    recorded(client, oph, vacancy["id"], "designation", "2025-03-05", candidates=3)
    recorded(client, oph, vacancy["id"], "cal_refusal", "2025-03-10")

    recorded(client, oph, vacancy["id"], "take_back", "2025-03-26")

    balances = balances_by_share(client, oph, "2025-12-31")
    assert (balances[al]["realised"], balances[LANDLORD]["realised"]) == (0, 1)


def test_a_withdrawal_takes_the_vacancy_out_of_the_base(client, oph, shares, homes):
    logged(client, oph, homes[0], "2025-03-01")
    before = balances_by_share(client, oph, "2025-12-31")
    vacancy = logged(client, oph, homes[1], "2025-03-02")
    assert balances_by_share(client, oph, "2025-12-31") != before

    after = recorded(
        client, oph, vacancy["id"], "withdrawal", "2025-03-05", reason="Le locataire reste"
    )

    assert after["stage"] == "withdrawn"
    assert after["holder"] is None
    assert after["events"][-1]["details"] == {"reason": "Le locataire reste", "from": LANDLORD}
    balances = balances_by_share(client, oph, "2025-12-31")
    assert {s: figures(row) for s, row in balances.items()} == {
        s: figures(row) for s, row in before.items()
    }


def test_a_withdrawal_needs_a_reason(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")

    response = event(client, oph, vacancy["id"], "withdrawal", "2025-03-05")

    assert assert_problem(response, 422)["errors"] == {
        "json": {"reason": ["Champ requis pour ce type d'événement."]}
    }


# --- corrections ------------------------------------------------------------------------------


def test_a_correction_reverses_the_latest_designation_and_the_stage_is_replayed_without_it(
    client, oph, shares, homes, journal
):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    designated = recorded(client, oph, vacancy["id"], "designation", "2025-03-10", candidates=3)
    designation_id = designated["events"][-1]["id"]

    corrected = recorded(
        client,
        oph,
        vacancy["id"],
        "correction",
        "2025-03-11",
        corrects=designation_id,
        reason="Saisie sur le mauvais logement",
    )

    assert corrected["stage"] == "oriented"
    assert corrected["designation_deadline"] == "2025-03-21"
    by_id = {e["id"]: e for e in corrected["events"]}
    assert by_id[designation_id]["reversed"] is True
    correction = corrected["events"][-1]
    assert (correction["type"], correction["reverses"]) == ("correction", designation_id)
    assert journal()["designation"] == 1  # still in the journal, reversed by a new entry


def test_a_correction_of_a_lease_reopens_the_attributed_stage(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    _lease(client, oph, vacancy["id"])
    lease_id = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=oph).json["events"][-1][
        "id"
    ]

    corrected = recorded(
        client, oph, vacancy["id"], "correction", "2025-03-21", corrects=lease_id, reason="Erreur"
    )

    assert corrected["stage"] == "attributed"
    assert "lease" in corrected["allowed_events"]


def test_only_the_latest_correctable_event_can_be_corrected(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    designated = recorded(client, oph, vacancy["id"], "designation", "2025-03-10", candidates=3)
    recorded(
        client, oph, vacancy["id"], "cal_attribution", "2025-03-20", rank=1, household=HOUSEHOLD
    )
    designation_id = designated["events"][-1]["id"]
    orientation_id = vacancy["orientation"]["entry_id"]

    older = event(
        client, oph, vacancy["id"], "correction", "2025-03-21", corrects=designation_id, reason="x"
    )
    orientation = event(
        client, oph, vacancy["id"], "correction", "2025-03-21", corrects=orientation_id, reason="x"
    )

    for response in (older, orientation):
        body = assert_problem(response, 422)
        assert "corrects" in body["errors"]["json"]


@pytest.mark.parametrize(
    ("steps", "kind"),
    [
        ([("carence", "2025-03-22", {})], "carence"),
        ([("withdrawal", "2025-03-05", {"reason": "Reste"})], "withdrawal"),
        ([("override", "2025-03-05", {"share": LANDLORD, "reason": "Urgence"})], "override"),
    ],
    ids=["carence", "withdrawal", "override"],
)
def test_events_that_move_the_orientation_cannot_be_corrected(
    client, oph, shares, homes, steps, kind
):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    for type_, on, fields in steps:
        after = recorded(client, oph, vacancy["id"], type_, on, **fields)
    last = after["events"][-1]
    assert last["type"] == kind

    response = event(
        client, oph, vacancy["id"], "correction", "2025-04-01", corrects=last["id"], reason="x"
    )

    assert_problem(response, 422)


# --- overrides after logging ------------------------------------------------------------------


def test_an_override_moves_the_vacancy_to_another_eligible_share(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")

    after = recorded(
        client,
        oph,
        vacancy["id"],
        "override",
        "2025-03-05",
        share=shares["tlse"],
        reason="Demande de la ville",
    )

    assert holder(after) == shares["tlse"]
    assert after["stage"] == "oriented"
    assert after["designation_deadline"] == "2025-04-04"  # the override date + Toulouse's 30 days
    assert after["events"][-1]["details"]["reason"] == "Demande de la ville"
    balances = balances_by_share(client, oph, "2025-12-31")
    assert (balances[shares["al"]]["realised"], balances[shares["tlse"]]["realised"]) == (0, 1)


def test_after_an_override_the_new_holders_cal_refusal_delay_applies(client, oph, homes):
    action_logement(client, oph, policies={"cal_refusal_delay_days": 5})
    tlse = toulouse(client, oph, policies={"cal_refusal_delay_days": 30})
    vacancy = logged(client, oph, homes[0], "2025-03-01")  # to Action Logement
    recorded(client, oph, vacancy["id"], "override", "2025-03-02", share=tlse, reason="Ville")
    recorded(client, oph, vacancy["id"], "designation", "2025-03-05", candidates=3)

    refused = recorded(client, oph, vacancy["id"], "cal_refusal", "2025-03-10")
    again = event(client, oph, vacancy["id"], "designation", "2025-04-01", candidates=3)

    assert refused["redesignation_deadline"] == "2025-04-09"
    assert again.status_code == 201, again.json


def test_an_override_needs_a_reason_and_an_eligible_share(client, oph, shares):
    colomiers = create_dwelling(client, oph, "C0000001", commune=COLOMIERS)
    vacancy = logged(client, oph, colomiers, "2025-03-01")

    no_reason = event(client, oph, vacancy["id"], "override", "2025-03-05", share=LANDLORD)
    not_eligible = event(
        client, oph, vacancy["id"], "override", "2025-03-05", share=shares["tlse"], reason="x"
    )

    assert "reason" in assert_problem(no_reason, 422)["errors"]["json"]
    assert assert_problem(not_eligible, 422)["errors"] == {
        "json": {"share": ["Part non éligible."]}
    }


def test_an_override_is_refused_once_candidates_are_designated(client, oph, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    recorded(client, oph, vacancy["id"], "designation", "2025-03-05", candidates=3)

    response = event(
        client, oph, vacancy["id"], "override", "2025-03-06", share=LANDLORD, reason="x"
    )

    assert assert_problem(response, 422)["figures"] == {"stage": "designated", "event": "override"}


# --- reservers ---------------------------------------------------------------------------------


def test_a_reserver_designates_candidates_on_a_vacancy_oriented_to_its_share(
    client, oph, auth, shares, homes
):
    vacancy = logged(client, oph, homes[0], "2025-03-01")  # to Action Logement

    response = event(
        client,
        auth("reserver", "action-logement"),
        vacancy["id"],
        "designation",
        "2025-03-05",
        candidates=3,
    )

    assert response.status_code == 201
    assert response.json["stage"] == "designated"


def test_a_reserver_records_no_other_event(client, oph, auth, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")
    al = auth("reserver", "action-logement")
    recorded(client, al, vacancy["id"], "designation", "2025-03-05", candidates=3)

    response = event(
        client, al, vacancy["id"], "cal_attribution", "2025-03-10", rank=1, household=HOUSEHOLD
    )

    assert_problem(response, 403)


def test_a_reserver_cannot_touch_a_vacancy_oriented_to_another_reserver(
    client, oph, auth, shares, homes
):
    vacancy = logged(client, oph, homes[0], "2025-03-01")  # to Action Logement

    response = event(
        client,
        auth("reserver", "commune-toulouse"),
        vacancy["id"],
        "designation",
        "2025-03-05",
        candidates=3,
    )

    assert_problem(response, 404)
    assert_problem(
        client.get(
            f"/api/v1/vacancies/{vacancy['id']}", headers=auth("reserver", "commune-toulouse")
        ),
        404,
    )


def test_a_read_only_reserver_cannot_designate(client, oph, auth, shares, homes):
    vacancy = logged(client, oph, homes[0], "2025-03-01")

    response = event(
        client,
        auth("reserver", "action-logement", read_only=True),
        vacancy["id"],
        "designation",
        "2025-03-05",
        candidates=3,
    )

    assert_problem(response, 403)


def test_a_reserver_lists_only_the_vacancies_oriented_to_its_shares(
    client, oph, auth, shares, homes
):
    to_al, to_landlord, to_tlse = (logged(client, oph, homes[n], "2025-03-01") for n in range(3))

    def listed(headers) -> list[int]:
        response = client.get("/api/v1/vacancies", headers=headers)
        assert response.status_code == 200
        return [v["id"] for v in response.json]

    assert listed(auth("reserver", "action-logement")) == [to_al["id"]]
    assert listed(auth("reserver", "commune-toulouse")) == [to_tlse["id"]]
    assert listed(auth("reserver", "etat-31")) == []
    assert listed(oph) == [to_al["id"], to_landlord["id"], to_tlse["id"]]
    assert listed(auth("landlord", ESH)) == []
    assert listed(auth("prefecture", "etat-31")) == [to_al["id"], to_landlord["id"], to_tlse["id"]]


def test_a_vacancy_overridden_to_a_reservers_share_becomes_its_to_designate(
    client, oph, auth, shares, homes
):
    logged(client, oph, homes[0], "2025-03-01")
    to_landlord = logged(client, oph, homes[1], "2025-03-01")
    toulouse_user = auth("reserver", "commune-toulouse")
    assert_problem(client.get(f"/api/v1/vacancies/{to_landlord['id']}", headers=toulouse_user), 404)

    recorded(
        client, oph, to_landlord["id"], "override", "2025-03-02", share=shares["tlse"], reason="x"
    )

    listed = client.get("/api/v1/vacancies", headers=toulouse_user).json
    assert [v["id"] for v in listed] == [to_landlord["id"]]
    designated = event(
        client, toulouse_user, to_landlord["id"], "designation", "2025-03-03", candidates=3
    )
    assert designated.status_code == 201


# --- listing --------------------------------------------------------------------------------------


def test_vacancies_are_filtered_by_dwelling_dates_year_and_landlord(
    client, oph, org_ids, shares, homes
):
    dates = ["2025-01-15", "2025-02-15", "2025-03-15", "2026-01-15"]
    ids = [logged(client, oph, homes[n], on)["id"] for n, on in enumerate(dates)]

    def listed(query: str) -> list[int]:
        response = client.get(f"/api/v1/vacancies?{query}", headers=oph)
        assert response.status_code == 200, response.json
        return [v["id"] for v in response.json]

    assert listed(f"dwelling={homes[1]}") == [ids[1]]
    assert listed("available_from=2025-02-01&available_to=2025-03-15") == ids[1:3]
    assert listed("year=2026") == [ids[3]]
    assert listed(f"landlord={org_ids[OPH]}&departement=31") == ids
    assert listed(f"landlord={org_ids[ESH]}") == []


def test_vacancies_are_paginated_with_an_x_pagination_header(client, oph, shares, homes):
    ids = [logged(client, oph, homes[n], "2025-03-01")["id"] for n in range(5)]

    response = client.get("/api/v1/vacancies?page_size=2&page=3", headers=oph)

    assert response.status_code == 200
    assert [v["id"] for v in response.json] == ids[4:]
    assert json.loads(response.headers["X-Pagination"]) == {
        "total": 5,
        "total_pages": 3,
        "first_page": 1,
        "last_page": 3,
        "page": 3,
        "previous_page": 2,
    }


# --- the journal --------------------------------------------------------------------------------


def test_the_journal_only_grows(client, oph, shares, homes, database_url):
    engine = create_engine(database_url)

    def rows() -> dict[int, tuple]:
        with engine.connect() as connection:
            return {
                row.id: tuple(row) for row in connection.execute(sa.select(JournalEntry.__table__))
            }

    try:
        vacancy = logged(client, oph, homes[0], "2025-03-01")
        designated = recorded(client, oph, vacancy["id"], "designation", "2025-03-05", candidates=3)
        snapshot = rows()
        recorded(
            client,
            oph,
            vacancy["id"],
            "correction",
            "2025-03-06",
            corrects=designated["events"][-1]["id"],
            reason="Erreur",
        )
        recorded(client, oph, vacancy["id"], "withdrawal", "2025-03-07", reason="Reste")
        logged(client, oph, homes[1], "2025-03-08")
        after = rows()
    finally:
        engine.dispose()

    assert {i: after[i] for i in snapshot} == snapshot
    assert min(set(after) - set(snapshot)) > max(snapshot)
    assert len(after) == len(snapshot) + 4


def test_a_refused_logging_leaves_no_trace_in_later_decisions(client, oph, shares, homes):
    colomiers = create_dwelling(client, oph, "C0000001", commune=COLOMIERS)
    refused = log(client, oph, homes[0], "2025-03-01", orient_to=LANDLORD)  # no reason
    assert_problem(refused, 422)
    logged(client, oph, colomiers, "2025-03-01")  # to Action Logement (tie, lower id first)

    vacancy = logged(client, oph, homes[1], "2025-03-02")

    assert _lines(vacancy) == {
        shares["al"]: (5000, 10000, 1, 0),
        shares["tlse"]: (2000, 2000, 0, 2000),
        LANDLORD: (3000, 8000, 0, 8000),
    }
