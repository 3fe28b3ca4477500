"""The two ranking rules: largest deficit first, and Tijdeman's deadline rule.

Both read the state and one vacancy and return a ``Decision``; neither mutates anything. The
public entry points are in ``flux.domain.allocation``.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

from flux.domain.allocation_model import (
    FULL,
    RULE_NAME,
    RULE_VERSION,
    AllocationError,
    AllocationState,
    Decision,
    ExplanationLine,
    Rule,
    RuleNotApplicable,
    ShareRef,
    SubDeficit,
    Vacancy,
    fraction_text,
)

# Module constants: reading ``Rule.TIJDEMAN`` goes through the enum class, and an enum
# member's ``value`` is a property (~70 and ~100 ns a time, on every decision).
_TIJDEMAN = Rule.TIJDEMAN
_LARGEST_DEFICIT = Rule.LARGEST_DEFICIT


def decide(
    state: AllocationState, vacancy: Vacancy, *, added: bool, taken_from: ShareRef | None
) -> Decision:
    """Rank the participants of ``vacancy`` by the scope's rule and return the decision.

    ``added`` says whether the vacancy's weights count as added to the targets (a new vacancy)
    or already are (a re-orientation, where ``taken_from`` has given its dwelling back and is
    not a candidate).
    """
    rule = state.rule
    if rule is not _TIJDEMAN:
        payload, chosen = _rank(state, vacancy, added, taken_from)
        name = RULE_NAME if rule is _LARGEST_DEFICIT else rule.value
        return Decision(
            vacancy.vacancy_id, chosen, name, RULE_VERSION, None, taken_from, payload=payload
        )
    lines = _explain(state, vacancy, added, taken_from)
    lines = _with_deadlines(vacancy, lines)
    chosen = _earliest_deadline(lines)
    if chosen is None:  # nobody released: only after a re-credit or a carry-in
        chosen = _largest_priority(lines, taken_from)
    return Decision(vacancy.vacancy_id, chosen, state.rule.value, RULE_VERSION, lines, taken_from)


def _rank(
    state: AllocationState, vacancy: Vacancy, added: bool, taken_from: ShareRef | None
) -> tuple[list[dict[str, Any]], ShareRef]:
    """Largest priority first, in integers: the priority ``num/den`` (the mean of the deficit
    and the sub-deficits) is compared by cross-multiplication, exactly as the fractions
    would be; the first of equals in the fixed order wins. The same figures as ``_explain``.

    Every caller of ``propose`` records the explanation (logging, the bulk import, the refold
    check), so it is written here as the journal records it (``figures_payload``'s lines),
    while the figures are at hand."""
    targets, realised, carry_in = state.targets, state.realised, state.carry_in
    sub_targets, sub_realised = state.sub_targets, state.sub_realised
    payload = []
    append = payload.append
    best, best_num, best_den = None, 0, 1
    for share, weight, keys in vacancy.participants:
        back = 1 if share == taken_from else 0
        owed = weight if added else 0
        carry = carry_in.get(share, 0) if carry_in else 0
        target = targets.get(share, 0) + owed + carry
        real = realised.get(share, 0) - back
        num = deficit = target - FULL * real
        subs = []
        den = 1
        if keys:
            for key in keys:
                pair = (share, key)
                sub_target = sub_targets.get(pair, 0) + owed
                sub_real = sub_realised.get(pair, 0) - back
                sub_deficit = sub_target - FULL * sub_real
                subs.append(
                    {"key": key, "target": sub_target, "realised": sub_real, "deficit": sub_deficit}
                )
                num += sub_deficit
            den += len(keys)
            priority = fraction_text(num, den)
        else:
            priority = str(num)
        append(
            {
                "share": share,
                "basis_points": weight,
                "carry_in": carry,
                "target": target,
                "realised": real,
                "deficit": deficit,
                "priority": priority,
                "candidate": not back,
                "deadline": None,
                "sub_deficits": subs,
            }
        )
        if not back and (best is None or num * best_den > best_num * den):
            best, best_num, best_den = share, num, den
    if best is None:
        raise AllocationError("Aucun droit ne reste pour recevoir ce logement.")
    return payload, best


def decide_and_add(
    state: AllocationState, vacancy: Vacancy, chosen: ShareRef | None = None
) -> Decision:
    """Largest deficit first for a new vacancy, recorded in the same pass (``orient``): the
    same figures and choice as ``decide(..., added=True)`` followed by ``apply`` (of the
    choice, or of ``chosen`` when given: an override), in one loop over the participants
    instead of two."""
    participants = vacancy.participants
    if not participants:
        raise AllocationError("Aucun droit ne reste pour recevoir ce logement.")
    keys = None if chosen is None else vacancy.keys_of(chosen)  # NotEligible: nothing moved
    targets, realised, carry_in, eligible = (
        state.targets,
        state.realised,
        state.carry_in,
        state.eligible,
    )
    sub_targets, sub_realised, sub_eligible = (
        state.sub_targets,
        state.sub_realised,
        state.sub_eligible,
    )
    figures = []
    append = figures.append
    best, best_num, best_den, best_keys = None, 0, 1, ()
    for share, weight, share_keys in participants:
        try:  # a share is known after its first vacancy: no default to look up
            added = targets[share] + weight
            count = eligible[share] + 1
        except KeyError:
            added = targets.get(share, 0) + weight
            count = eligible.get(share, 0) + 1
        targets[share] = added
        eligible[share] = count
        real = realised.get(share, 0)
        if carry_in:
            carry = carry_in.get(share, 0)
            target = added + carry
        else:
            carry, target = 0, added
        num = deficit = target - FULL * real
        if share_keys:
            subs = []
            for key in share_keys:
                pair = (share, key)
                sub_target = sub_targets.get(pair, 0) + weight
                sub_targets[pair] = sub_target
                sub_eligible[pair] = sub_eligible.get(pair, 0) + 1
                sub_real = sub_realised.get(pair, 0)
                sub_deficit = sub_target - FULL * sub_real
                subs.append(
                    {"key": key, "target": sub_target, "realised": sub_real, "deficit": sub_deficit}
                )
                num += sub_deficit
            den = 1 + len(share_keys)
            append((share, weight, carry, target, real, deficit, subs, num, den))
            if best is None or num * best_den > best_num * den:
                best, best_num, best_den, best_keys = share, num, den, share_keys
        else:
            append((share, weight, carry, target, real, deficit, (), num, 1))
            if best is None or num * best_den > best_num:
                best, best_num, best_den, best_keys = share, num, 1, ()
    if chosen is None:
        chosen, keys = best, best_keys
    realised[chosen] = realised.get(chosen, 0) + 1
    if keys:
        for key in keys:
            pair = (chosen, key)
            sub_realised[pair] = sub_realised.get(pair, 0) + 1
    rule = state.rule
    name = RULE_NAME if rule is _LARGEST_DEFICIT else rule.value
    return Decision(vacancy.vacancy_id, best, name, RULE_VERSION, None, None, figures)


def _explain(
    state: AllocationState, vacancy: Vacancy, added: bool, taken_from: ShareRef | None
) -> tuple[ExplanationLine, ...]:
    lines = []
    for share, weight, keys in vacancy.participants:
        # The re-credited share is shown as it stands once its dwelling is given back.
        back = 1 if share == taken_from else 0
        owed = weight if added else 0
        carry = state.carry_in.get(share, 0)
        target = state.targets.get(share, 0) + owed + carry
        realised = state.realised.get(share, 0) - back
        deficit = target - FULL * realised
        subs = tuple(_sub(state, share, key, owed, back) for key in keys)
        priority = _priority(deficit, subs)
        candidate = share != taken_from
        line = ExplanationLine(
            share, weight, carry, target, realised, deficit, subs, priority, candidate
        )
        lines.append(line)
    return tuple(lines)


def _priority(deficit: int, subs: tuple[SubDeficit, ...]) -> int | Fraction:
    """The mean of the share's deficit and its sub-deficits on this vacancy's keys.

    The mean, not the sum ``D_i + D_i,key`` of design.md §7: with the sum, a share with a
    sub-target outranks plain shares whenever one of its keys is behind, and the landlord part
    reached 1.57–1.67 dwellings in simulated years (bound 1.5); with the mean every plain share
    stayed within 1.39 and the sub-target share within 2.26 overall and per key (bound 2.5).
    """
    if not subs:
        return deficit
    return Fraction(deficit + sum(sub.deficit for sub in subs), 1 + len(subs))


def _sub(state: AllocationState, share: ShareRef, key: str, owed: int, back: int) -> SubDeficit:
    pair = (share, key)
    target = state.sub_targets.get(pair, 0) + owed
    realised = state.sub_realised.get(pair, 0) - back
    return SubDeficit(key, target, realised, target - FULL * realised)


def _largest_priority(lines: tuple[ExplanationLine, ...], taken_from: ShareRef | None) -> ShareRef:
    """Largest priority; lines come in the fixed order, so the first of equals wins."""
    best: ExplanationLine | None = None
    for line in lines:
        # Tijdeman's fallback passes lines whose candidate flag means "released", hence the id test.
        if line.share_id != taken_from and (best is None or line.priority > best.priority):
            best = line
    if best is None:
        raise AllocationError("Aucun droit ne reste pour recevoir ce logement.")
    return best.share_id


def _span(vacancy: Vacancy) -> int:
    """``2k − 2`` for the k participants with a positive weight (at least 2 of them)."""
    k = sum(1 for _, weight, _ in vacancy.participants if weight > 0)
    return 2 * max(k, 2) - 2


def _with_deadlines(
    vacancy: Vacancy, lines: tuple[ExplanationLine, ...]
) -> tuple[ExplanationLine, ...]:
    """Mark Tijdeman's released participants and compute each one's deadline."""
    if any(line.sub_deficits for line in lines):
        raise RuleNotApplicable(
            f"{_which(vacancy)} : la règle de Tijdeman n'équilibre pas les "
            "sous-objectifs (commune, typologie, QPV) ; choisir la règle du plus grand retard "
            "pour ce périmètre."
        )
    span = _span(vacancy)
    return tuple(
        replace(
            line,
            candidate=line.candidate and span * line.deficit >= FULL,
            deadline=_deadline(line.deficit, line.basis_points, span),
        )
        for line in lines
    )


def _which(vacancy: Vacancy) -> str:
    """How a message names the vacancy: a new one has no number yet."""
    if vacancy.vacancy_id is None:
        return "Ce logement libéré"
    return f"Logement libéré n° {vacancy.vacancy_id}"


def _deadline(deficit: int, weight: int, span: int) -> int | None:
    """The number of further vacancies after which, unserved, the share would leave its bound.

    The bound is ``span·deficit ≤ (span − 1)·FULL``; the weight of this vacancy stands for the
    weight of the next ones (exact when every share is eligible everywhere at fixed rates).
    """
    limit = (span - 1) * FULL
    if span * deficit > limit:
        return 0
    if weight == 0:
        return None
    return (limit - span * deficit) // (span * weight) + 1


def _earliest_deadline(lines: tuple[ExplanationLine, ...]) -> ShareRef | None:
    best: ExplanationLine | None = None
    for line in lines:
        if not line.candidate:
            continue
        if best is None or _sooner(line.deadline, best.deadline):
            best = line
    return None if best is None else best.share_id


def _sooner(deadline: int | None, other: int | None) -> bool:
    if deadline is None:
        return False
    return other is None or deadline < other
