"""Convention rules changed by the legal review (issue 12 items 3, 4 and 6); each test names
its article."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from flux.domain.conventions import (
    Derogation,
    ReserverCategory,
    SharePurpose,
    ShareTerms,
    check_convention,
    check_derogation,
    guarantee_end,
)

from .test_conventions import START, convention, etat, others, refused, share

DEPARTEMENT = frozenset({"59001", "59002", "59003"})


def second_etat(prioritaires: int) -> tuple:
    """Another État organisation's convention with the same landlord and département."""
    return convention(
        share(prioritaires, "prioritaires", SharePurpose.PRIORITAIRES),
        category=ReserverCategory.ETAT,
        reference="ETAT-BIS",
        reserver_id=9,
    )


# --- R.441-5-2 I: the caps are the État's, summed over its conventions -------------------------


def test_r441_5_2_caps_sum_every_etat_convention_of_the_landlord_in_the_departement():
    error = refused(etat(2000, 0 + 1), others(second_etat(2000)))
    assert error.rule == "etat_total_above_30"
    assert error.figures["total_bp"] == 4001
    assert "d'autres conventions de l'État" in error.message


def test_r441_5_2_caps_ignore_an_etat_convention_of_another_departement():
    elsewhere = replace(second_etat(2000)[0], departement="62", communes=frozenset({"62001"}))
    assert check_convention(etat(2000, 500), [elsewhere]) == []


def test_r441_5_2_a_prefets_derogation_lifts_the_caps_for_its_period():
    derogation = Derogation("Arrêté 2025-17", START, date(2025, 12, 31), 4000, 500)
    end = date(2025, 12, 31)
    candidate = (replace(etat(2000, 500)[0], valid_until=end),)
    rival = replace(second_etat(1500)[0], valid_until=end)
    assert check_convention(candidate, [rival], derogations=[derogation]) == []


def test_r441_5_2_the_caps_come_back_when_the_derogation_ends():
    derogation = Derogation("Arrêté 2025-17", START, date(2025, 6, 30), 4000, 500)
    error = refused(etat(2000, 500), others(second_etat(1500)), derogations=[derogation])
    assert error.figures["effective_from"] == "2025-07-01" and error.figures["limit_bp"] == 3000


def test_r441_5_2_a_derogation_lasts_at_most_one_year():
    check_derogation(Derogation("A", date(2025, 3, 1), date(2026, 2, 28), 4000, 500))
    with pytest.raises(Exception) as caught:
        check_derogation(Derogation("A", date(2025, 3, 1), date(2026, 3, 1), 4000, 500))
    assert caught.value.rule == "derogation_above_one_year"


# --- R.441-5 I al.3: a non-territorial reserver's convention covers the whole patrimoine -------


@pytest.mark.parametrize(
    "category",
    [
        ReserverCategory.ETAT,
        ReserverCategory.ACTION_LOGEMENT,
        ReserverCategory.EMPLOYEUR,
        ReserverCategory.ORGANISME_DESINTERESSE,
    ],
)
def test_r441_5_a_non_territorial_convention_on_part_of_the_departement_is_refused(category):
    candidate = convention(share(1000), category=category, communes=("59001",))
    error = refused(candidate, departement_communes=DEPARTEMENT)
    assert error.rule == "perimeter_not_whole_departement"
    assert error.figures["communes"] == "59002,59003"


def test_r441_5_a_non_territorial_convention_on_the_whole_departement_is_accepted():
    candidate = convention(share(1000), communes=tuple(DEPARTEMENT))
    assert check_convention(candidate, [], departement_communes=DEPARTEMENT) == []


@pytest.mark.parametrize(
    "category", [ReserverCategory.METROPOLE_LYON, ReserverCategory.VILLE_PARIS]
)
def test_r441_5_3_lyon_and_paris_reserve_on_their_territory_only(category):
    inside = convention(share(1000), category=category, territory=("59001",))
    assert check_convention(inside, [], departement_communes=DEPARTEMENT) == []
    outside = convention(
        share(1000), category=category, territory=("59001",), communes=("59001", "59002")
    )
    assert refused(outside).rule == "perimeter_outside_territory"


# --- R.441-6 and the 20 % practice on guarantees -----------------------------------------------


def test_r441_6_a_guarantee_share_ends_five_years_after_the_loans_last_repayment():
    assert guarantee_end(date(2030, 6, 15)) == date(2035, 6, 15)
    assert guarantee_end(date(2028, 2, 29)) == date(2033, 2, 28)


def test_r441_6_an_end_date_contradicting_the_loan_is_refused():
    wrong = ShareTerms(
        "g", "Garantie", 1000, SharePurpose.GENERAL, True, date(2034, 1, 1), date(2030, 6, 15)
    )
    candidate = convention(wrong, category=ReserverCategory.DEPARTEMENT)
    assert refused(candidate).figures["ends_on"] == "2035-06-15"


def test_guarantee_warning_sums_every_guarantors_shares():
    commune = convention(
        share(1500, "garantie", guarantee=True),
        category=ReserverCategory.COMMUNE,
        territory=("59001",),
    )
    departement = convention(
        share(1000, "garantie", guarantee=True),
        category=ReserverCategory.DEPARTEMENT,
        reference="CD",
        reserver_id=5,
    )
    (warning,) = check_convention(departement, others(commune))
    assert warning.figures["total_bp"] == 2500
    assert warning.figures["contribution:CONV-1"] == 1500
