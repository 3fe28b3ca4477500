"""Attributions as the law counts them (issue 12 items 1, 7, 8): the quartile objectives of
L.441-1 on signed leases, rehousings and reform EPCIs; R.441-3's insufficient candidates; the
attributions and leases of deducted vacancies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flux.models import ReformEpci

from .conftest import assert_problem
from .vacancy_kit import OPH, TOULOUSE, create_dwelling, event, logged, recorded, toulouse

URL = "/api/v1/reports/annual"
RAMONVILLE = "31446"  # CA du Sicoval
SICOVAL = "243100633"


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


def _household(first_quartile: bool) -> dict:
    return {"dalo": False, "prioritaire": False, "first_quartile": first_quartile}


def _let(
    client, headers, rpls: str, commune: str, first_quartile: bool, lease: bool = True, **fields
) -> int:
    vacancy = logged(
        client, headers, create_dwelling(client, headers, rpls, commune), "2025-03-01", **fields
    )
    recorded(
        client,
        headers,
        vacancy["id"],
        "cal_attribution",
        "2025-04-01",
        rank=1,
        household=_household(first_quartile),
    )
    if lease:
        recorded(client, headers, vacancy["id"], "lease", "2025-05-01")
    return vacancy["id"]


def _quartile_rows(client, headers) -> dict[str, dict]:
    body = client.get(URL, query_string={"year": 2025, "landlord": OPH}, headers=headers).get_json()
    checks = next(p for p in body["parts"] if p["key"] == "checks")["rows"]
    return {r["scope"]: r for r in checks if r["code"] == "first_quartile_hors_qpv_25"}


def test_l441_1_quartiles_count_attributions_followed_by_a_signed_lease(client, oph):
    _let(client, oph, "Q1", RAMONVILLE, first_quartile=True)
    _let(client, oph, "Q2", RAMONVILLE, first_quartile=False)
    _let(client, oph, "Q3", RAMONVILLE, first_quartile=False, lease=False)  # no lease yet

    row = _quartile_rows(client, oph)[f"EPCI {SICOVAL} CA du Sicoval"]

    assert (row["numerator"], row["denominator"]) == (1, 2)


def test_l441_1_anru_and_orcod_rehousings_count_with_the_first_quartile(client, oph):
    _let(client, oph, "Q1", RAMONVILLE, first_quartile=False)
    _let(client, oph, "R1", RAMONVILLE, first_quartile=False, deduction="urban_renewal")
    _let(client, oph, "R2", RAMONVILLE, first_quartile=False, deduction="degraded_condo")
    _let(client, oph, "M1", RAMONVILLE, first_quartile=False, deduction="internal_transfer")

    row = _quartile_rows(client, oph)[f"EPCI {SICOVAL} CA du Sicoval"]

    # Two rehousings in the numerator; the mutation in the denominator.
    assert (row["numerator"], row["denominator"]) == (2, 4)
    assert "Dont 2 relogement(s) ANRU/NPNRU ou ORCOD" in row["reason"]


def test_l441_1_only_epcis_subject_to_the_reform_are_checked_at_their_rate(client, oph, session):
    _let(client, oph, "Q1", RAMONVILLE, first_quartile=True)
    _let(client, oph, "T1", TOULOUSE, first_quartile=False)
    session.execute(sa.delete(ReformEpci).where(ReformEpci.epci_siren == SICOVAL))
    session.execute(
        sa.update(ReformEpci)
        .where(ReformEpci.epci_siren == "243100518")
        .values(first_quartile_bp=3000)
    )
    session.commit()

    rows = _quartile_rows(client, oph)

    assert set(rows) == {"EPCI 243100518 Toulouse Métropole"}
    assert rows["EPCI 243100518 Toulouse Métropole"]["threshold"] == "30.00"


def test_l441_1_the_first_quartile_flag_records_the_arretes_year(client, oph):
    vacancy = logged(client, oph, create_dwelling(client, oph, "A1", RAMONVILLE), "2025-03-01")
    recorded(
        client,
        oph,
        vacancy["id"],
        "cal_attribution",
        "2025-04-01",
        rank=1,
        household={**_household(True), "first_quartile_arrete_year": 2025},
    )

    entries = client.get(
        "/api/v1/journal", query_string={"kind": "cal_attribution"}, headers=oph
    ).get_json()

    assert entries[-1]["payload"]["household"]["first_quartile_arrete_year"] == 2025


def test_r441_3_fewer_candidates_are_accepted_for_insufficient_candidates_with_a_reason(
    client, oph
):
    toulouse(client, oph, "100.00")
    vacancy = logged(client, oph, create_dwelling(client, oph, "D1"), "2025-03-01")

    refused = event(client, oph, vacancy["id"], "designation", "2025-03-05", candidates=1)
    accepted = event(
        client,
        oph,
        vacancy["id"],
        "designation",
        "2025-03-05",
        candidates=1,
        insufficient_candidates="Un seul demandeur éligible au T5 dans la commune",
    )

    assert "R.441-3" in assert_problem(refused, 422)["detail"]
    assert accepted.status_code == 201, accepted.get_json()
    entries = client.get(
        "/api/v1/journal", query_string={"kind": "designation"}, headers=oph
    ).get_json()
    assert entries[-1]["payload"]["insufficient_candidates"].startswith("Un seul demandeur")


def test_r441_5_a_deducted_rehousing_carries_its_attribution_and_lease(client, oph):
    vacancy = _let(client, oph, "R1", RAMONVILLE, first_quartile=True, deduction="urban_renewal")

    state = client.get(f"/api/v1/vacancies/{vacancy}", headers=oph).get_json()

    assert state["stage"] == "leased"


def test_r441_5_the_bilan_counts_attributions_and_leases_of_deducted_rehousings(client, oph):
    _let(client, oph, "R1", RAMONVILLE, first_quartile=False, deduction="urban_renewal")
    _let(
        client, oph, "R2", RAMONVILLE, first_quartile=False, deduction="urban_renewal", lease=False
    )

    body = client.get(URL, query_string={"year": 2025, "landlord": OPH}, headers=oph).get_json()
    checks = next(p for p in body["parts"] if p["key"] == "checks")["rows"]
    [row] = [r for r in checks if r["code"] == "deducted_lettings"]

    assert row["scope"] == "relogements ANRU / NPNRU"
    assert (row["numerator"], row["denominator"]) == (2, 2)
    assert "1 bail(baux) signé(s)" in row["reason"]
