"""Reconciliation and carry-over at the end of a calendar year (domain.md §6).

For a share s in year N: ``target = percent × (counted vacancies of N for which s was eligible)
+ carry-in``; ``realised`` is what the share's convention counts (its ``counting_event``: the
orientation by default, or the CAL attribution, or the signed lease); ``gap = realised − target``.
With carry-over on (the default), ``carry-in(N+1) = −gap(N)``, kept in basis-point units: nothing
is rounded from one year to the next.

Two choices of ours, written down because no text fixes them:
- a share that is not in force after 31 December (its convention or its own end date is past)
  carries nothing: nobody would serve its carry-in;
- the landlord's non-reserved part carries the opposite of everything the shares carry, so the
  carry-ins of a scope sum to zero, as the targets and realised counts of a year do
  (``Σ_i (FULL·x_i − T_i) = 0``). When every share carries its own gap this is exactly the landlord
  part's own gap; when a share does not carry (policy off, convention ended), the landlord part
  absorbs it, which keeps the allocation rule's bounds (they need the deficits to sum to zero).

A year, once closed, is frozen: entries dated in it are refused afterwards (``check_open``).
Entries recorded later about its vacancies (a take-back or an attribution in January on a
December vacancy) do not move its figures; they move next year's carry-in instead, by the
difference they make (``carry_adjustments``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from flux.domain.allocation import FULL, LANDLORD, Balance, ShareRef
from flux.domain.errors import DomainError
from flux.domain.reference import CountingEvent


@dataclass(frozen=True)
class CarryPolicy:
    """What the share's convention says at year end."""

    carry_over: bool = True
    continues: bool = True  # in force on 1 January of the next year
    counting_event: CountingEvent = CountingEvent.ORIENTATION


@dataclass(frozen=True)
class ShareClosing:
    """A share's (or the landlord part's) figures at year end and what it carries into N+1."""

    share: ShareRef
    eligible: int
    target_units: int  # carry-in included
    carry_in_units: int
    realised: int  # counted orientations (the allocation engine's)
    counted: int  # realised per the convention's counting event
    counting_event: CountingEvent
    carry_units: int  # next year's carry-in
    reason: str  # French: why this carry

    @property
    def gap_units(self) -> int:
        """``FULL·counted − target``, the gap the carry-over compensates."""
        return FULL * self.counted - self.target_units


class ClosedYear(DomainError):
    """An entry dated in a year already closed for its scope."""

    rule = "annee_cloturee"
    status = 409

    def __init__(self, year: int, on: date) -> None:
        super().__init__(
            f"L'année {year} est clôturée pour ce bailleur dans ce département : aucune écriture "
            f"datée du {on:%d/%m/%Y} (jusqu'au 31/12/{year}) n'est plus acceptée. Une "
            f"correction tardive s'enregistre à "
            f"une date de l'année ouverte ; elle est signalée comme tardive dans les bilans des "
            f"deux années et reportée sur l'année suivante.",
            {"year": year, "date": on.isoformat()},
        )


class YearNotOver(DomainError):
    """A year can be closed only once it has ended."""

    rule = "annee_en_cours"
    status = 409

    def __init__(self, year: int, today: date) -> None:
        super().__init__(
            f"L'année {year} n'est pas terminée (nous sommes le {today:%d/%m/%Y}) : elle ne peut "
            f"être clôturée qu'à partir du 1er janvier {year + 1}.",
            {"year": year, "today": today.isoformat()},
        )


def bilan_deadline(year: int) -> date:
    """The last day a landlord may send its reservers the bilan of `year`: "avant le 28
    février" of the next year (R.441-5-1); the 28th itself is taken as in time."""
    return date(year + 1, 2, 28)


def check_open(on: date, closed_years: Iterable[int]) -> None:
    """Refuse an entry dated in a closed year, or in any year before the last closed one."""
    last = max(closed_years, default=None)
    if last is not None and on.year <= last:
        raise ClosedYear(last, on)


def awaited_close(
    available_on: date,
    *,
    deducted: bool,
    closed_years: Iterable[int],
    history_before: Callable[[int], bool],
) -> int | None:
    """The year whose close a new vacancy must wait for before it is oriented, or None to
    orient it now: a vacancy of year Y is decided with Y's carry-in, which only the close of
    Y-1 writes. A deducted vacancy is oriented to nobody, and a scope's first year (no vacancy
    before Y: `history_before(Y)` false, asked only when Y-1 is not closed) has nothing to
    close before it."""
    year = available_on.year
    if deducted or (year - 1) in closed_years or not history_before(year):
        return None
    return year - 1


def check_closable(year: int, today: date) -> None:
    """Refuse closing a year that has not ended."""
    if year >= today.year:
        raise YearNotOver(year, today)


def counted_realised(balance: Balance, event: CountingEvent, attributed: int, leased: int) -> int:
    """The share's realised count per its convention's counting event."""
    if event is CountingEvent.ATTRIBUTION:
        return attributed
    if event is CountingEvent.LEASE:
        return leased
    return balance.realised


def close(
    balances: Mapping[ShareRef, Balance],
    policies: Mapping[int, CarryPolicy],
    attributed: Mapping[ShareRef, int],
    leased: Mapping[ShareRef, int],
) -> dict[ShareRef, ShareClosing]:
    """Every share's closing and carry, the landlord part last (it takes the opposite sum)."""
    result: dict[ShareRef, ShareClosing] = {}
    carried = 0
    for share, balance in balances.items():
        if share == LANDLORD:
            continue
        policy = policies.get(int(share), CarryPolicy())
        counted = counted_realised(
            balance, policy.counting_event, attributed.get(share, 0), leased.get(share, 0)
        )
        gap = FULL * counted - balance.target_units
        if not policy.carry_over:
            units, reason = 0, "report des écarts désactivé par la convention"
        elif not policy.continues:
            units, reason = 0, "la part n'est plus en vigueur l'année suivante"
        else:
            units, reason = -gap, "report de l'écart (objectif − réalisé)"
        carried += units
        result[share] = _closing(balance, share, counted, policy.counting_event, units, reason)
    landlord = balances.get(LANDLORD) or Balance(LANDLORD, None, 0, 0, 0, 0)
    result[LANDLORD] = _closing(
        landlord,
        LANDLORD,
        landlord.realised,
        CountingEvent.ORIENTATION,
        -carried,
        "opposé de la somme des reports des parts (les reports d'un périmètre s'annulent)",
    )
    return result


def _closing(
    balance: Balance,
    share: ShareRef,
    counted: int,
    event: CountingEvent,
    units: int,
    reason: str,
) -> ShareClosing:
    return ShareClosing(
        share,
        balance.eligible,
        balance.target_units,
        balance.carry_in_units,
        balance.realised,
        counted,
        event,
        units,
        reason,
    )


def carry_adjustments(
    recomputed: Mapping[ShareRef, ShareClosing], carried: Mapping[ShareRef, int]
) -> dict[ShareRef, int]:
    """What to add to next year's carry-ins so they match a year refigured with late entries."""
    shares = set(recomputed) | set(carried)
    deltas = {
        share: (recomputed[share].carry_units if share in recomputed else 0) - carried.get(share, 0)
        for share in shares
    }
    return {share: delta for share, delta in deltas.items() if delta}
