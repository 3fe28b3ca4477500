"""Orientation of counted vacancies between the shares of one scope (landlord × département).

The service rebuilds a scope's ``AllocationState`` by folding its journal in date order
(``apply``, ``withdraw``, ``reorient``), then asks ``propose`` for the next decision. Everything
here is pure: no I/O, no clock, no float.

Units. A percentage is an integer in basis points (2500 == 25.00 %). A target is kept in
basis-point units: one dwelling is ``FULL`` (10 000) units, so ``T_i`` is the exact sum of the
basis points share *i* held on each counted vacancy it was eligible for.

Participants. A vacancy's participants are its eligible shares plus the landlord's non-reserved
part (``LANDLORD``), whose weight is ``FULL − Σ eligible basis points`` of *that* vacancy. The
landlord part is always eligible, even at 0 bp: a vacancy in a fully reserved commune can still go
to the landlord when it is furthest behind on the vacancies of other communes; excluding it would
let the sum of the candidates' deficits fall below ``FULL`` and break the bounds.

Order. Participants are listed and tie-broken by share id ascending, the landlord part last: on a
tie a reserver is served before the landlord's own part. Vacancies sort their shares on creation,
so the order in which shares are declared never matters.

Invariant. Every counted vacancy adds exactly ``FULL`` to the targets and 1 to one realised
count, so over allocation-only terms ``Σ_i (FULL·x_i − T_i) == 0`` after every operation
(``invariant_residual``). A carry-in (opening balance from the previous year) is kept apart from
``T_i``: it shifts the deficits the rules rank by and the balances, never the invariant.

Deducted vacancies never reach the engine: ``orient`` returns None for one, and ``propose``,
``apply`` and the others refuse it (``DeductedVacancy``).

Take-backs. A withdrawal removes the vacancy's weights and its orientation. A re-credited
take-back lowers the share's realised count and re-orients the same vacancy without adding its
weights again, by a new proposal from which the share that missed is excluded (``recredit``), or
to the landlord part when the landlord lets the dwelling itself (``reorient(..., LANDLORD)``).

One state per scope and year: at year close each share's ``−gap`` (``carry_over``) opens the next
year's state when the convention's carry-over policy is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flux.domain.allocation_model import (
    FULL,
    LANDLORD,
    RULE_NAME,
    RULE_VERSION,
    TIJDEMAN_RULE_NAME,
    AllocationError,
    AllocationState,
    Decision,
    DeductedVacancy,
    EligibleShare,
    ExplanationLine,
    NotEligible,
    Rule,
    RuleNotApplicable,
    ShareRef,
    SubDeficit,
    Vacancy,
    invariant_residual,
    order_key,
)
from flux.domain.allocation_rules import decide, decide_and_add

# Module constants: reading ``Rule.TIJDEMAN`` goes through the enum class (~70 ns a time).
_TIJDEMAN = Rule.TIJDEMAN

__all__ = [
    "FULL",
    "LANDLORD",
    "RULE_NAME",
    "RULE_VERSION",
    "TIJDEMAN_RULE_NAME",
    "AllocationError",
    "AllocationState",
    "Balance",
    "DeductedVacancy",
    "Decision",
    "EligibleShare",
    "ExplanationLine",
    "NotEligible",
    "Rule",
    "RuleNotApplicable",
    "ShareRef",
    "SubDeficit",
    "Vacancy",
    "apply",
    "balances",
    "carry_over",
    "invariant_residual",
    "order_key",
    "orient",
    "propose",
    "propose_reorientation",
    "recredit",
    "reorient",
    "sub_balances",
    "withdraw",
]


def propose(state: AllocationState, vacancy: Vacancy) -> Decision:
    """The share the scope's rule gives this vacancy to, with every participant's figures.

    Largest deficit first (``Rule.LARGEST_DEFICIT``): add the vacancy's basis points to every
    participant's target, then choose the largest ``D_i = T_i + carry-in − FULL·x_i``; a share
    with sub-targets ranks by the mean of ``D_i`` and its ``D_i,key`` on the vacancy's keys
    (``D_i,key`` being the same deficit over that key's vacancies only); ties go to the fixed
    order (share id, landlord last). Tijdeman (``Rule.TIJDEMAN``), for scopes where every share
    is eligible everywhere and none has a sub-target: with ``k`` participants of positive weight,
    the released participants are those with ``(2k−2)·D_i ≥ FULL``; among them choose the
    earliest deadline, the smallest ``t ≥ 0`` with ``(2k−2)·(D_i + t·w_i) > (2k−3)·FULL`` (this
    vacancy's ``w_i`` standing for the next ones'); ties go to the fixed order; if nobody is
    released (only after a take-back or with a carry-in), the largest deficit decides. At fixed
    rates this is Tijdeman's (1980) earliest-deadline schedule and keeps
    ``(2k−2)·|FULL·x_i − T_i| ≤ (2k−3)·FULL``; a rate change voids the promise.
    """
    _require_counted(vacancy)
    return decide(state, vacancy, added=True, taken_from=None)


def apply(state: AllocationState, vacancy: Vacancy, chosen: ShareRef) -> None:
    """Record the orientation of a counted vacancy to ``chosen`` (proposed or overridden)."""
    if vacancy.deduction is not None:
        raise DeductedVacancy(vacancy.vacancy_id, vacancy.deduction)
    keys = vacancy.keys_of(chosen)  # raises NotEligible before anything moves
    # _add_weights(state, vacancy, +1) then _credit_keys(state, chosen, keys, +1), inlined:
    # this is every decision's second half, and the whole of a replay.
    targets, eligible = state.targets, state.eligible
    for share, weight, share_keys in vacancy.participants:
        try:  # a share is known after its first vacancy: no default to look up
            added = targets[share] + weight
            count = eligible[share] + 1
        except KeyError:
            added = targets.get(share, 0) + weight
            count = eligible.get(share, 0) + 1
        targets[share] = added
        eligible[share] = count
        if share_keys:
            sub_targets, sub_eligible = state.sub_targets, state.sub_eligible
            for key in share_keys:
                pair = (share, key)
                sub_targets[pair] = sub_targets.get(pair, 0) + weight
                sub_eligible[pair] = sub_eligible.get(pair, 0) + 1
    realised = state.realised
    realised[chosen] = realised.get(chosen, 0) + 1
    if keys:
        sub_realised = state.sub_realised
        for key in keys:
            pair = (chosen, key)
            sub_realised[pair] = sub_realised.get(pair, 0) + 1


def withdraw(state: AllocationState, vacancy: Vacancy, chosen: ShareRef) -> None:
    """Take back a vacancy leaving the base: every weight it added and its current orientation."""
    _require_counted(vacancy)
    _require_realised(state, vacancy, chosen)
    _add_weights(state, vacancy, -1)
    _credit(state, vacancy, chosen, -1)


def propose_reorientation(
    state: AllocationState, vacancy: Vacancy, taken_from: ShareRef
) -> Decision:
    """The proposal for a vacancy whose share ``taken_from`` is re-credited after a take-back.

    The weights of the vacancy stay counted (they were added when it was logged); ``taken_from``
    is shown with its realised count already lowered by one and is excluded: it has just failed
    to fill this dwelling, and would otherwise be proposed the same dwelling again.
    """
    _require_counted(vacancy)
    _require_realised(state, vacancy, taken_from)
    return decide(state, vacancy, added=False, taken_from=taken_from)


def reorient(
    state: AllocationState, vacancy: Vacancy, taken_from: ShareRef, chosen: ShareRef
) -> None:
    """Move an oriented vacancy from ``taken_from`` (re-credited) to ``chosen``.

    ``chosen`` is the re-orientation proposal's choice, or ``LANDLORD`` when the landlord lets
    the dwelling it took back itself; targets do not move, so the sum invariant still holds.
    """
    _require_counted(vacancy)
    if chosen == taken_from:
        raise AllocationError(
            f"Le logement libéré {vacancy.vacancy_id} ne peut être réorienté vers le droit "
            f"{chosen} qui vient de le rendre.",
            {"vacancy": str(vacancy.vacancy_id), "share": chosen},
        )
    _require_realised(state, vacancy, taken_from)
    vacancy.keys_of(chosen)
    _credit(state, vacancy, taken_from, -1)
    _credit(state, vacancy, chosen, +1)


def recredit(state: AllocationState, vacancy: Vacancy, taken_from: ShareRef) -> Decision:
    """Re-credit ``taken_from`` after a take-back and re-orient its vacancy by a new proposal."""
    decision = propose_reorientation(state, vacancy, taken_from)
    reorient(state, vacancy, taken_from, decision.chosen)
    return decision


def orient(
    state: AllocationState, vacancy: Vacancy, chosen: ShareRef | None = None
) -> Decision | None:
    """Propose and record in one step; ``chosen`` overrides; a deducted vacancy gives None.

    Largest deficit first ranks and adds the weights in one pass (``decide_and_add``): the
    same decision and state as ``propose`` then ``apply``."""
    if vacancy.deduction is not None:
        return None
    if state.rule is _TIJDEMAN:
        decision = propose(state, vacancy)
        apply(state, vacancy, decision.chosen if chosen is None else chosen)
        return decision
    return decide_and_add(state, vacancy, chosen)


def _require_counted(vacancy: Vacancy) -> None:
    if vacancy.deduction is not None:
        raise DeductedVacancy(vacancy.vacancy_id, vacancy.deduction)


def _require_realised(state: AllocationState, vacancy: Vacancy, share: ShareRef) -> None:
    vacancy.keys_of(share)
    if state.realised.get(share, 0) <= 0:
        raise AllocationError(
            f"Le droit {share} n'a aucune orientation à reprendre.", {"share": share}
        )


def _add_weights(state: AllocationState, vacancy: Vacancy, sign: int) -> None:
    targets, eligible = state.targets, state.eligible
    sub_targets, sub_eligible = state.sub_targets, state.sub_eligible
    for share, weight, keys in vacancy.participants:
        signed = sign * weight
        targets[share] = targets.get(share, 0) + signed
        eligible[share] = eligible.get(share, 0) + sign
        if keys:
            for key in keys:
                pair = (share, key)
                sub_targets[pair] = sub_targets.get(pair, 0) + signed
                sub_eligible[pair] = sub_eligible.get(pair, 0) + sign


def _credit(state: AllocationState, vacancy: Vacancy, share: ShareRef, sign: int) -> None:
    _credit_keys(state, share, vacancy.keys_of(share), sign)


def _credit_keys(state: AllocationState, share: ShareRef, keys: tuple[str, ...], sign: int) -> None:
    state.realised[share] = state.realised.get(share, 0) + sign
    for key in keys:
        pair = (share, key)
        state.sub_realised[pair] = state.sub_realised.get(pair, 0) + sign


@dataclass(frozen=True, slots=True)
class Balance:
    """A share's (or one of its sub-targets') balance; units are basis-point units.

    ``target_units`` includes the carry-in (sub-targets have none); ``gap = realised − target``.
    """

    share_id: ShareRef
    key: str | None
    eligible: int
    target_units: int
    carry_in_units: int
    realised: int

    @property
    def target(self) -> Fraction:
        """The target in dwellings, exact."""
        return Fraction(self.target_units, FULL)

    @property
    def carry_in(self) -> Fraction:
        """The opening balance in dwellings, exact."""
        return Fraction(self.carry_in_units, FULL)

    @property
    def gap_units(self) -> int:
        """``FULL·realised − target_units``: positive when the share is ahead of its due."""
        return FULL * self.realised - self.target_units

    @property
    def gap(self) -> Fraction:
        """``realised − target`` in dwellings, exact."""
        return Fraction(self.gap_units, FULL)


def balances(state: AllocationState) -> dict[ShareRef, Balance]:
    """Per share (the landlord part included), in the fixed order: eligible, target, realised."""
    result = {}
    for share in state.shares():
        carry = state.carry_in.get(share, 0)
        result[share] = Balance(
            share,
            None,
            state.eligible.get(share, 0),
            state.targets.get(share, 0) + carry,
            carry,
            state.realised.get(share, 0),
        )
    return result


def sub_balances(state: AllocationState) -> dict[tuple[ShareRef, str], Balance]:
    """Per (share, sub-target key), sorted: the same figures over that key's vacancies only."""
    pairs = sorted(state.sub_targets, key=lambda pair: (order_key(pair[0]), pair[1]))
    return {
        (share, key): Balance(
            share,
            key,
            state.sub_eligible.get((share, key), 0),
            state.sub_targets[(share, key)],
            0,
            state.sub_realised.get((share, key), 0),
        )
        for share, key in pairs
    }


def carry_over(state: AllocationState) -> dict[ShareRef, int]:
    """Each share's ``−gap`` in units: next year's carry-in when carry-over is on (default)."""
    return {share: -balance.gap_units for share, balance in balances(state).items()}
