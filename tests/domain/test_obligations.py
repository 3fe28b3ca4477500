"""The obligations a bilan annuel checks (domain.md §2 and §7), as pure functions."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from flux.domain.conventions import Derogation
from flux.domain.obligations import (
    AttributionGroup,
    Code,
    CommuneFigures,
    EpciAttributions,
    EtatFigures,
    Status,
    action_logement_dalo,
    bilan_recipients,
    dalo_prioritaires,
    deducted_lettings,
    etat_caps,
    etat_derogation,
    etat_hors_qpv,
    etat_uniform_by_commune,
    guarantees,
    late_amendment,
    quartiles,
)

FULL = 10_000


def etat(
    flux: int = 100,
    etat: int = 30,
    agents: int = 5,
    rights_bp: int = 3000,
    agents_bp: int = 500,
    flux_hors_qpv: int = 70,
    etat_hors_qpv: int = 21,
) -> EtatFigures:
    """A year of `flux` counted vacancies, the État holding rights of `rights_bp` on each."""
    return EtatFigures(
        flux,
        etat,
        agents,
        rights_bp * flux,
        agents_bp * flux,
        flux_hors_qpv,
        etat_hors_qpv,
        rights_bp * flux_hors_qpv,
    )


def by_code(checks) -> dict[Code, object]:
    return {check.code: check for check in checks}


# --- État ≤ 30 %, agents ≤ 5 % ------------------------------------------------------------------


def test_the_etat_within_its_caps_passes_both():
    cap, agents = etat_caps(etat(flux=200, etat=60, agents=10), has_etat=True)

    assert (cap.code, cap.status) == (Code.ETAT_CAP, Status.PASSED)
    assert (cap.numerator, cap.denominator, cap.rate) == (60, 200, Fraction(3, 10))
    assert cap.threshold == Fraction(3, 10)
    assert "60 logement(s) orienté(s) vers l'État sur un flux de 200 (30,00 %)" in cap.reason
    assert (agents.code, agents.status) == (Code.ETAT_AGENTS_CAP, Status.PASSED)
    assert agents.rate == Fraction(1, 20)


def test_r441_5_2_the_rules_rounding_above_the_cap_is_within_tolerance_never_respected():
    """R.441-5-2 I: 12 of 228 (5.26 %) on a 5 % right: 0.6 dwelling over, within the rule's
    bound: « dans la tolérance de la règle d'orientation » with the excess, not « respecté »."""
    _, agents = etat_caps(etat(flux=228, etat=68, agents=12), has_etat=True)

    assert agents.status is Status.WITHIN_TOLERANCE
    assert "5,26 %" in agents.reason and "droits de 5,00 %" in agents.reason
    assert "0,60 logement(s) au-delà du plafond de 5,00 %, dans la tolérance" in agents.reason
    assert "respecté" not in agents.reason


def test_orientations_beyond_the_rules_bound_break_the_cap():
    """35 of 100 for a 30 % right: 5 dwellings over the cap, twice the tolerance."""
    cap, agents = etat_caps(etat(flux=100, etat=35, agents=8), has_etat=True)

    assert cap.status is Status.FAILED
    assert "5,00 logement(s) au-delà du plafond de 30,00 %" in cap.reason
    assert agents.status is Status.FAILED  # 8 of 100: 3 over the 5 %


def test_rights_above_the_cap_break_it_whatever_was_oriented():
    """A derogating order may set more than 30 %: the rights themselves are over the cap."""
    cap, _ = etat_caps(etat(flux=100, etat=30, rights_bp=3200), has_etat=True)

    assert cap.status is Status.FAILED
    assert "droits au-delà du plafond" in cap.reason


def test_caps_do_not_apply_without_an_etat_convention_or_without_flux():
    for figures, has_etat, why in (
        (etat(), False, "Aucune convention de l'État"),
        (etat(flux=0, etat=0, agents=0), True, "Aucun logement dans le flux"),
    ):
        for check in etat_caps(figures, has_etat):
            assert check.status is Status.NOT_APPLICABLE
            assert why in check.reason
            assert check.rate is None


# --- État uniform by commune --------------------------------------------------------------------


def communes(*rows: tuple[str, int, int, int]) -> list[CommuneFigures]:
    """(INSEE, flux, État target in bp units, État realised)."""
    return [CommuneFigures(code, f"Commune {code}", *figures) for code, *figures in rows]


def test_the_etat_balanced_in_every_commune_passes_with_one_row_per_commune():
    summary, *rows = etat_uniform_by_commune(
        communes(("31555", 100, 30 * FULL, 31), ("31069", 20, 6 * FULL, 4)), applies=True
    )

    assert (summary.scope, summary.status) == ("bailleur", Status.WITHIN_TOLERANCE)
    assert (summary.numerator, summary.denominator) == (2, 2)
    assert summary.target_units == 36 * FULL
    assert [(row.scope, row.status) for row in rows] == [
        ("commune 31555 Commune 31555", Status.WITHIN_TOLERANCE),  # +1
        ("commune 31069 Commune 31069", Status.WITHIN_TOLERANCE),  # -2
    ]
    assert (rows[1].numerator, rows[1].denominator, rows[1].gap_units) == (4, 20, -2 * FULL)
    assert rows[1].threshold == Fraction(3, 10)  # the État's expected rate in that commune


def test_a_commune_off_by_more_than_the_tolerance_fails_the_check():
    summary, toulouse, blagnac = etat_uniform_by_commune(
        communes(("31555", 100, 30 * FULL, 33), ("31069", 20, 6 * FULL, 3)), applies=True
    )

    assert toulouse.status is Status.FAILED  # +3 dwellings
    assert blagnac.status is Status.FAILED  # -3
    assert summary.status is Status.FAILED
    assert "dans 2 commune(s) sur 2" in summary.reason
    assert (summary.numerator, summary.denominator) == (0, 2)


def test_r441_5_2_ii_a_gap_of_exactly_the_tolerance_is_within_it_and_under_one_passes():
    """R.441-5-2 II: a commune 2.5 dwellings off is « dans la tolérance », one 0.5 off passes."""
    _, row = etat_uniform_by_commune(communes(("31555", 10, 25_000, 0)), applies=True)
    _, close = etat_uniform_by_commune(communes(("31555", 10, 25_000, 3)), applies=True)

    assert row.status is Status.WITHIN_TOLERANCE
    assert row.gap_units == -25_000
    assert "dans la tolérance de 2,50 de la règle d'orientation" in row.reason
    assert close.status is Status.PASSED


def test_uniformity_does_not_apply_when_the_convention_says_otherwise_or_without_etat():
    [stipulated] = etat_uniform_by_commune(communes(("31555", 10, 3 * FULL, 9)), applies=False)
    [absent] = etat_uniform_by_commune([], applies=None)
    [empty] = etat_uniform_by_commune(communes(("31555", 0, 0, 0)), applies=True)

    assert stipulated.status is Status.NOT_APPLICABLE
    assert "sauf stipulation contraire" in stipulated.reason
    assert absent.status is Status.NOT_APPLICABLE
    assert "Aucune convention de l'État" in absent.reason
    assert empty.status is Status.NOT_APPLICABLE


# --- the hors-QPV rule, both readings -----------------------------------------------------------


def test_both_readings_of_the_hors_qpv_rule_are_checked():
    """30 to the État, 21 of them outside QPV; 70 vacancies outside QPV in all."""
    of_etat, of_flux = etat_hors_qpv(etat(etat=30, flux_hors_qpv=70, etat_hors_qpv=21), True)

    assert (of_etat.code, of_etat.status) == (Code.ETAT_HORS_QPV_OF_ETAT, Status.PASSED)
    assert (of_etat.numerator, of_etat.denominator) == (21, 30)  # 70 %
    assert (of_flux.code, of_flux.status) == (Code.ETAT_HORS_QPV_OF_FLUX, Status.PASSED)
    assert (of_flux.numerator, of_flux.denominator) == (21, 70)  # exactly 30 %


def test_r441_5_2_ii_the_readings_can_disagree_and_either_short_is_flagged():
    """R.441-5-2 II: reading 1 holds (80 % of the État's dwellings are outside QPV) while
    reading 2 fails (the État, at 30 %, has only 20 % of the hors-QPV flux: 8 short)."""
    of_etat, of_flux = etat_hors_qpv(etat(etat=20, flux_hors_qpv=80, etat_hors_qpv=16), True)

    assert of_etat.status is Status.PASSED
    assert of_flux.status is Status.FAILED
    assert "20,00 % du flux hors QPV" in of_flux.reason
    assert "8,00 logement(s) en dessous, au-delà de la tolérance" in of_flux.reason


def test_r441_5_2_ii_reading_two_is_measured_against_the_etats_own_rate():
    """R.441-5-2 II: an État at 12 % getting 12 % of the hors-QPV flux is not « non
    respectée » (a flat 30 % would fail it every year)."""
    _, of_flux = etat_hors_qpv(
        etat(etat=12, rights_bp=1200, flux_hors_qpv=100, etat_hors_qpv=12), True
    )

    assert of_flux.status is Status.PASSED
    assert of_flux.threshold == Fraction(12, 100)


def test_r441_5_2_ii_the_hors_qpv_rule_gets_the_rules_tolerance():
    """R.441-5-2 II: the demo's 50 of 169 (29.59 %) for rights of exactly 30 %: 0.7 short."""
    _, of_flux = etat_hors_qpv(etat(etat=60, flux_hors_qpv=169, etat_hors_qpv=50), True)

    assert of_flux.status is Status.WITHIN_TOLERANCE
    assert "0,70 logement(s) en dessous, dans la tolérance" in of_flux.reason


def test_reading_one_fails_when_the_etat_gets_mostly_qpv_dwellings():
    of_etat, of_flux = etat_hors_qpv(etat(etat=30, flux_hors_qpv=20, etat_hors_qpv=6), True)

    assert of_etat.status is Status.FAILED  # 6 of 30: 20 %
    assert of_flux.status is Status.PASSED  # 6 of 20: 30 %


def test_the_hors_qpv_rule_does_not_apply_when_stipulated_otherwise_or_without_figures():
    stipulated = etat_hors_qpv(etat(etat=30, etat_hors_qpv=0), applies=False)
    absent = etat_hors_qpv(etat(), applies=None)
    nothing = etat_hors_qpv(etat(etat=0, flux_hors_qpv=0, etat_hors_qpv=0), applies=True)

    assert {c.status for c in stipulated + absent + nothing} == {Status.NOT_APPLICABLE}
    assert all("sauf stipulation contraire" in c.reason for c in stipulated)
    assert "Aucun logement orienté vers l'État" in nothing[0].reason
    assert "Aucun logement hors QPV" in nothing[1].reason


# --- 25 % DALO or prioritaires (L.441-1) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("attributions", "priority", "status"),
    [(40, 10, Status.PASSED), (40, 9, Status.FAILED), (0, 0, Status.NOT_APPLICABLE)],
)
def test_a_quarter_of_a_reservers_attributions_go_to_dalo_or_prioritaire_households(
    attributions, priority, status
):
    check = dalo_prioritaires(AttributionGroup("Action Logement", attributions, priority))

    assert (check.code, check.scope, check.status) == (
        Code.DALO_PRIORITAIRES,
        "Action Logement",
        status,
    )
    assert (check.numerator, check.denominator) == (priority, attributions)


def test_the_etat_is_not_concerned_by_the_25_percent_rule():
    check = dalo_prioritaires(AttributionGroup("État", 10, 1, is_etat=True))

    assert check.status is Status.NOT_APPLICABLE
    assert "entièrement destiné aux publics prioritaires" in check.reason


# --- quartiles per EPCI -------------------------------------------------------------------------


def test_quartile_rules_per_epci_pass_fail_and_do_not_apply():
    ok = quartiles(EpciAttributions("243100518", "Toulouse Métropole", 40, 10, 20, 10))
    bad = quartiles(EpciAttributions("200068641", "Le Muretain", 40, 9, 20, 9))
    none = quartiles(EpciAttributions(None, "Communes hors EPCI", 0, 0, 0, 0))

    assert [(c.code, c.status) for c in ok] == [
        (Code.FIRST_QUARTILE_HORS_QPV, Status.PASSED),  # 25 %
        (Code.OTHER_QUARTILES_QPV, Status.PASSED),  # 50 %
    ]
    assert ok[0].scope == "EPCI 243100518 Toulouse Métropole"
    assert [c.status for c in bad] == [Status.FAILED, Status.FAILED]
    assert [c.status for c in none] == [Status.NOT_APPLICABLE, Status.NOT_APPLICABLE]
    assert none[0].scope == "Communes hors EPCI"


def test_l441_1_employers_and_non_profit_bodies_are_not_bound_by_the_25_percent_rule():
    """L.441-1 names the collectivités, their groupements and Action Logement: an employer at
    1 of 10 is « sans objet », not « non respectée »."""
    check = dalo_prioritaires(AttributionGroup("Employeur", 10, 1, bound=False))

    assert check.status is Status.NOT_APPLICABLE
    assert "n'est pas soumis" in check.reason


def test_l313_26_2_action_logements_dalo_share_is_shown_apart():
    """Action Logement's DALO-only quarter (L.313-26-2): prioritaires do not count in it."""
    check = action_logement_dalo(AttributionGroup("Action Logement", 20, 10, dalo=4))

    assert (check.code, check.status) == (Code.ACTION_LOGEMENT_DALO, Status.INFORMATION)
    assert "20,00 %" in check.reason
    assert (check.numerator, check.denominator) == (4, 20)


def test_every_check_has_a_french_label_and_reason():
    checks = [
        *etat_caps(etat(), True),
        *etat_uniform_by_commune(communes(("31555", 10, 3 * FULL, 3)), True),
        *etat_hors_qpv(etat(), True),
        dalo_prioritaires(AttributionGroup("Ville", 4, 1)),
        action_logement_dalo(AttributionGroup("Action Logement", 4, 1, dalo=1)),
        etat_derogation(Derogation("A", date(2025, 1, 1), date(2025, 12, 31), 4000, 500), 2025),
        guarantees(2500, "31555"),
        deducted_lettings("relogement ANRU / NPNRU", 3, 2, 1),
        late_amendment("AL", 2, date(2025, 3, 1), date(2025, 6, 1), "2025-05-01", 3),
        *quartiles(EpciAttributions("1", "EPCI", 4, 1, 2, 1)),
    ]

    assert {c.code for c in checks} == set(Code)
    for check in checks:
        assert check.label and check.reason.endswith(".")


def test_r441_5_1_reform_epcis_and_epts_receive_the_bilans_of_their_territory():
    """R.441-5-1 al.2 (DRIHL): EPCI « LEC » and EPT receive the bilan of each landlord with
    dwellings on their territory; an EPCI outside the reform, or without an organisation, not."""
    recipients = bilan_recipients(
        {(1, "31"): frozenset({"31555", "31395"}), (2, "31"): frozenset({"31446"})},
        {"31555": "TM", "31395": "MURET", "31446": "SICOVAL"},
        {"TM": 10, "MURET": 11},
        frozenset({"TM", "SICOVAL"}),
    )

    assert recipients == {(1, "31", 10)}
