"""Year-end reconciliation and carry-over, as pure rules (domain.md §6)."""

from __future__ import annotations

from datetime import date

import pytest

from flux.domain.allocation import FULL, LANDLORD, Balance
from flux.domain.conventions import ReserverCategory
from flux.domain.eligibility import ShareInForce, VersionView, share_in_force
from flux.domain.reconciliation import (
    CarryPolicy,
    ClosedYear,
    YearNotOver,
    awaited_close,
    bilan_deadline,
    carry_adjustments,
    check_closable,
    check_open,
    close,
)
from flux.domain.reference import CountingEvent

# Town B of domain.md §10: due 32.00, offered 24; the landlord part took the 8.
BALANCES = {
    1: Balance(1, None, 320, 32 * FULL, 0, 24),
    2: Balance(2, None, 715, 3 * FULL + 2500, 0, 3),  # due 3.25, got 3
    LANDLORD: Balance(LANDLORD, None, 715, 100 * FULL - 2500, 0, 108),
}


def test_each_share_carries_minus_its_gap_and_the_landlord_the_opposite_sum():
    closed = close(BALANCES, {}, {}, {})
    assert closed[1].carry_units == 8 * FULL  # town B: −8 becomes +8 next year
    assert closed[2].carry_units == 2500
    assert closed[LANDLORD].carry_units == -(8 * FULL + 2500)
    assert sum(c.carry_units for c in closed.values()) == 0


@pytest.mark.parametrize(
    "policy",
    [CarryPolicy(carry_over=False), CarryPolicy(continues=False)],
    ids=["carry-over off", "share not in force on 1 January"],
)
def test_a_share_that_does_not_carry_leaves_its_gap_to_the_landlord_part(policy):
    closed = close(BALANCES, {1: policy}, {}, {})
    assert closed[1].carry_units == 0 and closed[1].gap_units == -8 * FULL
    assert closed[LANDLORD].carry_units == -2500


def test_a_share_counted_at_attribution_carries_the_gap_on_its_attributions():
    policy = {1: CarryPolicy(counting_event=CountingEvent.ATTRIBUTION)}
    closed = close(BALANCES, policy, {1: 30}, {})
    assert (closed[1].realised, closed[1].counted) == (24, 30)
    assert closed[1].carry_units == 2 * FULL


def test_late_adjustments_are_the_difference_with_what_was_carried():
    closed = close(BALANCES, {}, {}, {})
    carried = {share: c.carry_units for share, c in closed.items()}
    assert carry_adjustments(closed, carried) == {}
    carried[1] -= FULL
    carried[LANDLORD] += FULL
    assert carry_adjustments(closed, carried) == {1: FULL, LANDLORD: -FULL}


def test_closed_years_refuse_their_dates_and_every_earlier_one():
    check_open(date(2026, 1, 1), {2024, 2025})
    for day in (date(2025, 12, 31), date(2023, 6, 1)):
        with pytest.raises(ClosedYear) as refused:
            check_open(day, {2024, 2025})
        assert refused.value.figures["year"] == 2025


def test_a_year_closes_only_once_it_has_ended():
    check_closable(2025, date(2026, 1, 1))
    with pytest.raises(YearNotOver):
        check_closable(2025, date(2025, 12, 31))


def test_the_bilan_is_due_by_28_february_of_the_next_year():
    assert bilan_deadline(2025) == date(2026, 2, 28)


def test_a_share_is_in_force_on_a_day_under_its_version_and_its_own_end_date():
    version = VersionView(
        convention_id=1,
        reserver_category=ReserverCategory.COMMUNE,
        communes=frozenset({"31555"}),
        valid_from=date(2025, 1, 1),
        valid_until=date(2025, 12, 31),
        effective_from=date(2025, 1, 1),
        effective_until=None,
        shares=(ShareInForce(7, 1000), ShareInForce(8, 1000, ends_on=date(2025, 6, 30))),
    )
    assert share_in_force([version], 7, date(2025, 12, 31))
    assert not share_in_force([version], 7, date(2026, 1, 1))  # the convention ended
    assert not share_in_force([version], 8, date(2025, 7, 1))  # the share's own end date
    assert not share_in_force([version], 9, date(2025, 7, 1))


def test_a_vacancy_waits_for_the_close_of_its_previous_year_unless_there_is_nothing_to_wait_for():
    """domain.md §6: a vacancy of year Y is decided with Y's carry-in, written by the close of
    Y-1 (issue 11 item 4); not for a deduction, nor in a scope's first year."""
    asked: list[int] = []

    def history(year: int) -> bool:
        asked.append(year)
        return year > 2025  # the scope has vacancies from 2025 on

    jan = date(2026, 1, 5)
    assert awaited_close(jan, deducted=False, closed_years=set(), history_before=history) == 2025
    assert awaited_close(jan, deducted=True, closed_years=set(), history_before=history) is None
    assert awaited_close(jan, deducted=False, closed_years={2025}, history_before=history) is None
    first = date(2025, 3, 1)
    assert awaited_close(first, deducted=False, closed_years=set(), history_before=history) is None
    assert asked == [2026, 2025]  # never asked when the answer is known without it
