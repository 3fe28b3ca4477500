"""Which shares a vacancy is eligible for (domain.md §3–4, design.md §4 invariant 2)."""

from __future__ import annotations

from datetime import date

from flux.domain.allocation import EligibleShare
from flux.domain.conventions import ReserverCategory
from flux.domain.eligibility import (
    ShareInForce,
    VacancyFacts,
    VersionView,
    eligible_shares,
    in_force,
    sub_keys,
    sub_reweighting,
    tijdeman_refusal,
)

TOULOUSE, COLOMIERS, MURET = "31555", "31149", "31395"


def version(
    convention_id: int = 1,
    shares: tuple[ShareInForce, ...] = (ShareInForce(10, 2500),),
    *,
    category: ReserverCategory = ReserverCategory.ACTION_LOGEMENT,
    communes: frozenset[str] = frozenset({TOULOUSE, COLOMIERS}),
    valid_from: date = date(2025, 1, 1),
    valid_until: date | None = None,
    effective_from: date | None = None,
    effective_until: date | None = None,
    **policies: bool,
) -> VersionView:
    return VersionView(
        convention_id=convention_id,
        reserver_category=category,
        communes=communes,
        valid_from=valid_from,
        valid_until=valid_until,
        effective_from=effective_from or valid_from,
        effective_until=effective_until,
        shares=shares,
        **policies,
    )


def facts(
    on: date = date(2025, 6, 1),
    commune: str = TOULOUSE,
    typology: str = "T3",
    in_qpv: bool = False,
    first_letting: bool = False,
) -> VacancyFacts:
    return VacancyFacts(on, commune, typology, in_qpv, first_letting)


def ids(shares: tuple[EligibleShare, ...]) -> list[int]:
    return [share.share_id for share in shares]


# --- in force: validity and version dates ------------------------------------------------


def test_a_share_is_eligible_with_its_basis_points_when_its_convention_is_in_force():
    assert eligible_shares([version()], facts()) == (EligibleShare(10, 2500, ()),)


def test_a_convention_is_not_in_force_before_its_validity_starts():
    view = version(valid_from=date(2025, 6, 2))

    assert eligible_shares([view], facts(on=date(2025, 6, 1))) == ()
    assert ids(eligible_shares([view], facts(on=date(2025, 6, 2)))) == [10]


def test_a_convention_is_in_force_on_the_last_day_of_its_validity_and_not_after():
    view = version(valid_until=date(2025, 6, 30))

    assert ids(eligible_shares([view], facts(on=date(2025, 6, 30)))) == [10]
    assert eligible_shares([view], facts(on=date(2025, 7, 1))) == ()


def test_an_amendment_governs_from_its_effective_date_and_the_old_version_until_the_day_before():
    first = version(shares=(ShareInForce(10, 2500),), effective_until=date(2025, 7, 1))
    amended = version(shares=(ShareInForce(10, 2800),), effective_from=date(2025, 7, 1))

    before = eligible_shares([first, amended], facts(on=date(2025, 6, 30)))
    after = eligible_shares([first, amended], facts(on=date(2025, 7, 1)))

    assert before == (EligibleShare(10, 2500, ()),)
    assert after == (EligibleShare(10, 2800, ()),)


def test_a_version_is_not_in_force_outside_its_convention_validity_even_while_effective():
    view = version(
        valid_from=date(2025, 1, 1), valid_until=date(2025, 12, 31), effective_from=date(2025, 3, 1)
    )

    assert not in_force(view, date(2025, 2, 28))
    assert in_force(view, date(2025, 3, 1))
    assert in_force(view, date(2025, 12, 31))
    assert not in_force(view, date(2026, 1, 1))


# --- perimeter, share end, first lettings -----------------------------------------------


def test_a_share_is_eligible_only_when_its_perimeter_contains_the_dwellings_commune():
    view = version(communes=frozenset({COLOMIERS}))

    assert eligible_shares([view], facts(commune=TOULOUSE)) == ()
    assert ids(eligible_shares([view], facts(commune=COLOMIERS))) == [10]


def test_a_share_end_date_is_its_last_eligible_day():
    view = version(shares=(ShareInForce(10, 2500, ends_on=date(2025, 6, 1)), ShareInForce(11, 500)))

    assert ids(eligible_shares([view], facts(on=date(2025, 6, 1)))) == [10, 11]
    assert ids(eligible_shares([view], facts(on=date(2025, 6, 2)))) == [11]


def test_a_first_letting_is_excluded_from_a_convention_that_does_not_count_first_lettings():
    counted = version(1, (ShareInForce(10, 2500),))
    not_counted = version(2, (ShareInForce(20, 1000),), first_lettings_counted=False)

    first = eligible_shares([counted, not_counted], facts(first_letting=True))
    relet = eligible_shares([counted, not_counted], facts(first_letting=False))

    assert ids(first) == [10]
    assert ids(relet) == [10, 20]


# --- sub-targets ----------------------------------------------------------------------------


def test_the_etat_shares_are_balanced_per_commune_by_default():
    etat = version(
        shares=(ShareInForce(10, 2500), ShareInForce(11, 500)), category=ReserverCategory.ETAT
    )

    result = eligible_shares([etat], facts(commune=COLOMIERS))

    assert result == (
        EligibleShare(10, 2500, ("commune:31149",)),
        EligibleShare(11, 500, ("commune:31149",)),
    )


def test_the_etat_has_no_commune_sub_target_when_its_convention_says_otherwise():
    etat = version(category=ReserverCategory.ETAT, etat_uniform_by_commune=False)

    assert eligible_shares([etat], facts()) == (EligibleShare(10, 2500, ()),)


def test_only_the_etat_is_balanced_per_commune():
    commune = version(category=ReserverCategory.COMMUNE, etat_uniform_by_commune=True)

    assert sub_keys(commune, facts()) == ()


def test_typology_and_qpv_sub_targets_apply_when_the_convention_asks_for_them():
    view = version(spread_by_typology=True, spread_by_qpv=True)

    in_qpv = eligible_shares([view], facts(typology="T6+", in_qpv=True))
    out_of_qpv = eligible_shares([view], facts(typology="T2", in_qpv=False))

    assert in_qpv == (EligibleShare(10, 2500, ("qpv:in", "typology:T6+")),)
    assert out_of_qpv == (EligibleShare(10, 2500, ("qpv:out", "typology:T2")),)


def test_an_etat_share_spread_by_typology_has_both_sub_targets():
    etat = version(category=ReserverCategory.ETAT, spread_by_typology=True)

    assert sub_keys(etat, facts(commune=MURET, typology="T4")) == (
        "commune:31395",
        "typology:T4",
    )


# --- order ----------------------------------------------------------------------------------


def test_eligible_shares_are_sorted_by_share_id_whatever_the_order_of_conventions():
    late = version(1, (ShareInForce(30, 1000), ShareInForce(4, 500)))
    early = version(2, (ShareInForce(12, 2000),))

    forwards = eligible_shares([late, early], facts())
    backwards = eligible_shares([early, late], facts())

    assert ids(forwards) == [4, 12, 30]
    assert forwards == backwards


def test_shares_of_versions_not_in_force_or_outside_the_perimeter_are_left_out_together():
    in_force_here = version(1, (ShareInForce(1, 1000),))
    elsewhere = version(2, (ShareInForce(2, 1000),), communes=frozenset({MURET}))
    expired = version(3, (ShareInForce(3, 1000),), valid_until=date(2025, 1, 31))
    ended = version(4, (ShareInForce(4, 1000, ends_on=date(2025, 5, 31)),))

    result = eligible_shares([in_force_here, elsewhere, expired, ended], facts())

    assert ids(result) == [1]


DEPARTEMENT = frozenset({TOULOUSE, COLOMIERS, MURET})


def test_tijdeman_serves_a_scope_whose_shares_cover_the_departement_without_spread():
    views = [
        version(communes=DEPARTEMENT),
        version(
            2, category=ReserverCategory.ETAT, communes=DEPARTEMENT, etat_uniform_by_commune=False
        ),
    ]

    assert tijdeman_refusal(views, DEPARTEMENT) is None


def test_tijdeman_is_refused_for_a_share_of_part_of_the_departement():
    assert "tout le département" in tijdeman_refusal([version()], DEPARTEMENT)


def test_tijdeman_is_refused_for_the_etat_spread_by_commune_or_any_spread():
    etat = version(category=ReserverCategory.ETAT, communes=DEPARTEMENT)
    typology = version(communes=DEPARTEMENT, spread_by_typology=True)

    assert "sous-objectifs" in tijdeman_refusal([etat], DEPARTEMENT)
    assert "sous-objectifs" in tijdeman_refusal([typology], DEPARTEMENT)


def test_r441_5_2_a_late_amendment_moves_each_sub_target_with_its_share():
    """R.441-5-2 II: the État's per-commune sub-target moves with its share's weight; a key the
    new terms drop (uniformity lifted) loses the whole old weight, one they add gains it."""
    before = (EligibleShare(1, 2500, ("commune:31555",)), EligibleShare(2, 500, ("commune:31555",)))
    lowered = (
        EligibleShare(1, 1000, ("commune:31555",)),
        EligibleShare(2, 500, ("commune:31555",)),
    )
    lifted = (EligibleShare(1, 2500), EligibleShare(2, 500))

    assert sub_reweighting(before, lowered) == {(1, "commune:31555"): -1500}
    assert sub_reweighting(before, lifted) == {
        (1, "commune:31555"): -2500,
        (2, "commune:31555"): -500,
    }
    assert sub_reweighting(lifted, before) == {
        (1, "commune:31555"): 2500,
        (2, "commune:31555"): 500,
    }
    assert sub_reweighting(before, before) == {}
