"""Hand-checked examples of the allocation engine: sequences, explanations, ties, operations."""

from __future__ import annotations

from fractions import Fraction

import pytest

from flux.domain.allocation import (
    FULL,
    LANDLORD,
    RULE_NAME,
    RULE_VERSION,
    TIJDEMAN_RULE_NAME,
    AllocationError,
    AllocationState,
    DeductedVacancy,
    EligibleShare,
    NotEligible,
    Rule,
    RuleNotApplicable,
    SubDeficit,
    Vacancy,
    apply,
    balances,
    carry_over,
    invariant_residual,
    order_key,
    orient,
    propose,
    propose_reorientation,
    recredit,
    reorient,
    sub_balances,
    withdraw,
)


def vacancy(number: int, *rates: tuple[int, int], keys: dict[int, str] | None = None) -> Vacancy:
    keys = keys or {}
    shares = tuple(
        EligibleShare(share, bp, (keys[share],) if share in keys else ()) for share, bp in rates
    )
    return Vacancy(number, shares)


def run(state: AllocationState, vacancies: list[Vacancy]) -> list[object]:
    return [orient(state, v).chosen for v in vacancies]  # type: ignore[union-attr]


def test_three_shares_of_25_25_50_take_turns_in_a_cycle_of_four() -> None:
    state = AllocationState()
    chosen = run(state, [vacancy(n, (1, 2500), (2, 2500), (3, 5000)) for n in range(8)])
    assert chosen == [3, 1, 2, 3, 3, 1, 2, 3]
    assert invariant_residual(state) == 0
    assert [state.realised[s] for s in (1, 2, 3)] == [2, 2, 4]
    assert state.realised.get(LANDLORD, 0) == 0


def test_landlord_part_is_the_rest_of_each_vacancy_and_takes_its_turn() -> None:
    state = AllocationState()
    chosen = run(state, [vacancy(n, (1, 2500), (2, 2500)) for n in range(4)])
    assert chosen == [LANDLORD, 1, 2, LANDLORD]
    assert state.targets[LANDLORD] == 4 * 5000


def test_ties_go_to_the_lowest_share_id_and_the_landlord_part_last() -> None:
    first = propose(AllocationState(), vacancy(1, (7, 3000), (4, 3000), (9, 1000)))
    assert first.line(4).priority == first.line(7).priority
    assert first.chosen == 4
    even = propose(AllocationState(), vacancy(1, (5, 5000)))
    assert even.line(5).priority == even.line(LANDLORD).priority
    assert even.chosen == 5


def test_declaration_order_of_shares_changes_nothing() -> None:
    one = vacancy(1, (3, 2500), (1, 1000), (2, 500), keys={1: "commune:35238"})
    other = vacancy(1, (2, 500), (3, 2500), (1, 1000), keys={1: "commune:35238"})
    assert one == other
    assert propose(AllocationState(), one) == propose(AllocationState(), other)


def test_explanation_shows_every_participant_after_adding_this_vacancy() -> None:
    state = AllocationState()
    run(state, [vacancy(n, (1, 2500), (2, 2500), (3, 5000)) for n in range(2)])
    decision = propose(state, vacancy(2, (1, 2500), (2, 2500), (3, 5000)))
    assert (decision.rule_name, decision.rule_version) == (RULE_NAME, RULE_VERSION)
    assert decision.vacancy_id == 2
    assert [line.share_id for line in decision.lines] == [1, 2, 3, LANDLORD]
    one, two, three, landlord = decision.lines
    assert (one.basis_points, one.target, one.realised, one.deficit) == (2500, 7500, 1, -2500)
    assert (two.basis_points, two.target, two.realised, two.deficit) == (2500, 7500, 0, 7500)
    assert (three.target, three.realised, three.deficit) == (15000, 1, 5000)
    assert (landlord.basis_points, landlord.target, landlord.deficit) == (0, 0, 0)
    assert decision.chosen == 2
    assert all(line.candidate and line.deadline is None for line in decision.lines)


def test_share_with_a_sub_target_ranks_by_the_mean_of_its_two_deficits() -> None:
    state = AllocationState()
    etat = {1: "commune:A"}
    apply(state, vacancy(1, (1, 3000), keys=etat), LANDLORD)
    # Commune B: the État is owed 0.6 overall but nothing yet in B.
    decision = propose(state, vacancy(2, (1, 3000), keys={1: "commune:B"}))
    line = decision.line(1)
    assert line.deficit == 6000
    assert line.sub_deficits == (SubDeficit("commune:B", 3000, 0, 3000),)
    assert line.priority == Fraction(6000 + 3000, 2)
    assert decision.line(LANDLORD).priority == 14000 - 10000
    assert decision.chosen == 1


def test_commune_is_owed_its_share_of_its_own_vacancies_only() -> None:
    state = AllocationState()
    for n in range(10):
        commune_a = n % 2 == 0
        shares = ((1, 2500), (2, 2000)) if commune_a else ((1, 2500),)
        orient(state, Vacancy(n, tuple(EligibleShare(s, bp) for s, bp in shares)))
    balance = balances(state)
    assert balance[2].eligible == 5 and balance[2].target == 1
    assert balance[1].eligible == 10 and balance[1].target == Fraction(5, 2)
    assert balance[LANDLORD].target == 5 * Fraction(55, 100) + 5 * Fraction(75, 100)


def test_balances_reproduce_the_worked_example_of_the_domain() -> None:
    """domain.md §10: flux base 715 (A 280, B 320, rest 115)."""
    state = AllocationState()
    national = ((1, 2500), (2, 500), (3, 2500), (6, 200))
    perimeters = {"A": ((4, 1500),), "B": ((5, 1000),), "rest": ()}
    number = 0
    for commune, count in (("A", 280), ("B", 320), ("rest", 115)):
        for _ in range(count):
            number += 1
            orient(state, vacancy(number, *national, *perimeters[commune]))
    targets = {share: b.target for share, b in balances(state).items()}
    expected = {1: "178.75", 2: "35.75", 3: "178.75", 4: "42", 5: "32", 6: "14.30"}
    assert targets == {
        **{s: Fraction(v) for s, v in expected.items()},
        LANDLORD: Fraction("233.45"),
    }
    assert sum(b.realised for b in balances(state).values()) == 715
    assert all(abs(b.gap) <= Fraction(3, 2) for b in balances(state).values())


def test_override_goes_through_apply_and_later_proposals_compensate() -> None:
    state = AllocationState()
    shares = ((1, 5000),)
    first = propose(state, vacancy(1, *shares))
    assert first.chosen == 1
    apply(state, vacancy(1, *shares), LANDLORD)  # the landlord overrides
    assert propose(state, vacancy(2, *shares)).chosen == 1
    assert invariant_residual(state) == 0


def test_an_ineligible_share_is_refused_and_nothing_moves() -> None:
    state = AllocationState()
    orient(state, vacancy(1, (1, 2500)))
    before = state.copy()
    with pytest.raises(NotEligible) as error:
        apply(state, vacancy(2, (1, 2500)), 2)
    assert (error.value.vacancy_id, error.value.share) == (2, 2)
    assert error.value.figures == {"vacancy": 2, "share": 2}
    assert state == before


def test_a_deducted_vacancy_is_never_oriented() -> None:
    state = AllocationState()
    orient(state, vacancy(1, (1, 2500)))
    before = state.copy()
    deducted = Vacancy(2, (EligibleShare(1, 2500),), deduction="internal_transfer")
    assert orient(state, deducted) is None
    assert state == before
    with pytest.raises(DeductedVacancy):
        propose(state, deducted)
    with pytest.raises(DeductedVacancy):
        apply(state, deducted, 1)


def test_withdrawal_takes_back_every_weight_and_the_orientation() -> None:
    state = AllocationState()
    run(state, [vacancy(n, (1, 2500), (2, 3000), keys={1: "commune:A"}) for n in range(5)])
    before = state.copy()
    last = vacancy(5, (1, 2500), (2, 3000), keys={1: "commune:A"})
    decision = orient(state, last)
    assert decision is not None
    withdraw(state, last, decision.chosen)
    assert balances(state) == balances(before)
    assert sub_balances(state) == sub_balances(before)
    assert invariant_residual(state) == 0


def test_recredit_excludes_the_share_that_missed_and_keeps_targets() -> None:
    state = AllocationState()
    vacancies = [vacancy(n, (1, 4000), (2, 4000)) for n in range(3)]
    assert run(state, vacancies) == [1, 2, LANDLORD]
    targets = dict(state.targets)
    decision = recredit(state, vacancies[0], 1)
    assert decision.taken_from == 1
    line = decision.line(1)
    assert (line.candidate, line.realised, line.target) == (False, 0, 12000)
    assert decision.chosen == 2  # 12 000 − 10 000 owed, against the landlord's −4 000
    assert state.targets == targets
    assert state.realised == {1: 0, 2: 2, LANDLORD: 1}
    assert invariant_residual(state) == 0
    # The right returns at the next turn: share 1 is now furthest behind.
    assert propose(state, vacancy(3, (1, 4000), (2, 4000))).chosen == 1


def test_a_taken_back_dwelling_can_be_given_to_the_landlord_part() -> None:
    state = AllocationState()
    first = vacancy(1, (1, 6000))
    orient(state, first)
    assert propose_reorientation(state, first, 1).chosen == LANDLORD
    reorient(state, first, 1, LANDLORD)
    assert state.realised == {1: 0, LANDLORD: 1}
    with pytest.raises(AllocationError):
        reorient(state, first, 1, LANDLORD)  # share 1 holds nothing any more
    with pytest.raises(AllocationError):
        reorient(state, first, LANDLORD, LANDLORD)


def test_carry_in_favours_the_share_behind_last_year_outside_the_invariant() -> None:
    state = AllocationState(carry_in={2: 8 * FULL})  # town B was 8 dwellings short
    chosen = run(state, [vacancy(n, (1, 5000), (2, 1000)) for n in range(10)])
    # At the 10th vacancy all three deficits are 30 000: the lowest id wins the tie.
    assert chosen == [2, 2, 2, 2, 2, 2, 1, LANDLORD, 1, 1]
    assert invariant_residual(state) == 0
    balance = balances(state)[2]
    assert (balance.carry_in, balance.target, balance.realised) == (8, 9, 6)
    assert balance.gap == -3
    assert carry_over(state) == {1: 20000, 2: 30000, LANDLORD: 30000}


def test_landlord_part_at_zero_basis_points_can_still_be_chosen() -> None:
    state = AllocationState(carry_in={LANDLORD: 2 * FULL})
    full = vacancy(1, (1, 6000), (2, 4000))
    decision = propose(state, full)
    assert decision.line(LANDLORD).basis_points == 0
    assert decision.chosen == LANDLORD


def test_sub_balances_count_each_key_apart() -> None:
    state = AllocationState()
    for n, commune in enumerate("AABAB"):
        orient(state, vacancy(n, (1, 3000), keys={1: f"commune:{commune}"}))
    subs = sub_balances(state)
    assert list(subs) == [(1, "commune:A"), (1, "commune:B")]
    assert subs[(1, "commune:A")].eligible == 3
    assert subs[(1, "commune:A")].target == Fraction(9, 10)
    assert sum(b.realised for b in subs.values()) == state.realised[1]


def test_tijdeman_rule_names_itself_and_gives_deadlines() -> None:
    state = AllocationState(rule=Rule.TIJDEMAN)
    decision = propose(state, vacancy(1, (1, 2500), (2, 2500)))
    assert decision.rule_name == TIJDEMAN_RULE_NAME
    # k = 3, so 2k − 2 = 4: released when 4·D ≥ 10 000, out of bound when 4·D > 30 000.
    assert [line.deficit for line in decision.lines] == [2500, 2500, 5000]
    assert all(line.candidate for line in decision.lines)
    assert [line.deadline for line in decision.lines] == [3, 3, 1]
    later = propose(state, vacancy(2, (1, 1000), (2, 1000)))
    assert [line.candidate for line in later.lines] == [False, False, True]
    assert decision.chosen == LANDLORD


def test_tijdeman_rule_keeps_its_bound_where_largest_deficit_does_not() -> None:
    # Three shares of 33 % and a landlord part of 1 % (k = 4): Tijdeman promises 5/6.
    rates = ((1, 3300), (2, 3300), (3, 3300))
    worst = {}
    for rule in Rule:
        state = AllocationState(rule=rule)
        worst[rule] = Fraction(0)
        for n in range(400):
            orient(state, vacancy(n, *rates))
            worst[rule] = max(worst[rule], *(abs(b.gap) for b in balances(state).values()))
    assert worst[Rule.TIJDEMAN] == Fraction(83, 100)
    assert worst[Rule.LARGEST_DEFICIT] == Fraction(9, 10)


def test_tijdeman_rule_re_orients_a_re_credited_vacancy_too() -> None:
    state = AllocationState(rule=Rule.TIJDEMAN)
    vacancies = [vacancy(n, (1, 3000), (2, 3000)) for n in range(6)]
    chosen = run(state, vacancies)
    decision = recredit(state, vacancies[0], chosen[0])
    assert decision.rule_name == TIJDEMAN_RULE_NAME
    assert decision.chosen != chosen[0]
    assert invariant_residual(state) == 0


def test_the_fixed_order_puts_the_landlord_part_last() -> None:
    assert sorted([LANDLORD, 12, 3], key=order_key) == [3, 12, LANDLORD]


def test_tijdeman_rule_refuses_sub_targets() -> None:
    state = AllocationState(rule=Rule.TIJDEMAN)
    with pytest.raises(RuleNotApplicable):
        propose(state, vacancy(1, (1, 2500), keys={1: "commune:A"}))


@pytest.mark.parametrize(
    "shares",
    [
        (EligibleShare(1, 6000), EligibleShare(2, 4001)),
        (EligibleShare(1, 100), EligibleShare(1, 200)),
    ],
)
def test_vacancy_refuses_shares_over_100_percent_or_listed_twice(
    shares: tuple[EligibleShare, ...],
) -> None:
    with pytest.raises(AllocationError):
        Vacancy(1, shares)


@pytest.mark.parametrize(
    "arguments", [(1, -1), (1, 10001), (True, 100), (1, 25.0), (1, 100, ("qpv:in", "qpv:in"))]
)
def test_eligible_share_refuses_bad_figures(arguments: tuple) -> None:
    with pytest.raises(AllocationError):
        EligibleShare(*arguments)
