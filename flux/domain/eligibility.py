"""Which shares a vacancy is eligible for (domain.md §4, design.md §4 invariant 2).

A share is eligible for a vacancy when its convention (same landlord: the caller passes only
the landlord's conventions) is in force on the vacancy's date, its perimeter contains the
dwelling's commune, the share itself has not ended, and, for a first letting, the convention
counts first lettings. The landlord's non-reserved part is always eligible (the engine adds it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flux.domain.allocation import LANDLORD, EligibleShare
from flux.domain.conventions import ReserverCategory


@dataclass(frozen=True)
class ShareInForce:
    """One share's terms in one version of its convention."""

    share_id: int
    basis_points: int
    ends_on: date | None = None  # inclusive last day


@dataclass(frozen=True)
class VersionView:
    """One version of a convention, as eligibility needs it."""

    convention_id: int
    reserver_category: ReserverCategory
    communes: frozenset[str]
    valid_from: date
    valid_until: date | None  # inclusive
    effective_from: date
    effective_until: date | None  # exclusive: the next version's first day
    shares: tuple[ShareInForce, ...]
    first_lettings_counted: bool = True
    etat_uniform_by_commune: bool = True
    spread_by_typology: bool = False
    spread_by_qpv: bool = False


@dataclass(frozen=True)
class VacancyFacts:
    """What eligibility and sub-targets look at on a vacancy."""

    available_on: date
    commune: str
    typology: str
    in_qpv: bool
    first_letting: bool = False


def in_force(version: VersionView, on: date) -> bool:
    """The version governs its convention on that day, and the convention is valid then."""
    if on < version.valid_from or (version.valid_until is not None and on > version.valid_until):
        return False
    return version.effective_from <= on and (
        version.effective_until is None or on < version.effective_until
    )


def sub_keys(version: VersionView, facts: VacancyFacts) -> tuple[str, ...]:
    """The sub-targets a share of this version is balanced over on this vacancy.

    The État's share applies uniformly in each commune unless its convention says otherwise
    (R.441-5-2 II); any convention may ask for a spread by typology or in/out of QPV.
    """
    keys = []
    if version.reserver_category is ReserverCategory.ETAT and version.etat_uniform_by_commune:
        keys.append(f"commune:{facts.commune}")
    if version.spread_by_typology:
        keys.append(f"typology:{facts.typology}")
    if version.spread_by_qpv:
        keys.append(f"qpv:{'in' if facts.in_qpv else 'out'}")
    return tuple(keys)


def share_in_force(versions: Iterable[VersionView], share_id: int, on: date) -> bool:
    """The share is held under a version in force that day and has not ended (a year's
    carry-over goes only to shares still in force on 1 January)."""
    return any(
        in_force(version, on)
        and any(
            s.share_id == share_id and (s.ends_on is None or on <= s.ends_on)
            for s in version.shares
        )
        for version in versions
    )


def eligible_shares(
    versions: Iterable[VersionView], facts: VacancyFacts
) -> tuple[EligibleShare, ...]:
    """The shares eligible for a vacancy, each with its basis points on the vacancy's date."""
    result = []
    day = facts.available_on
    for version in versions:
        if not in_force(version, day) or facts.commune not in version.communes:
            continue
        if facts.first_letting and not version.first_lettings_counted:
            continue
        keys = sub_keys(version, facts)
        for share in version.shares:
            if share.ends_on is None or day <= share.ends_on:
                result.append(EligibleShare(share.share_id, share.basis_points, keys))
    return tuple(sorted(result, key=lambda share: share.share_id))


def tijdeman_refusal(
    versions: Iterable[VersionView], departement_communes: frozenset[str]
) -> str | None:
    """Why Tijdeman's rule cannot serve a scope (None if it can).

    The rule's bound holds when every share is eligible for every vacancy and none is balanced
    over sub-targets (design.md §7): each convention must cover the whole département and none
    may spread its share by commune, typology or QPV.
    """
    for version in versions:
        if version.communes != departement_communes:
            return (
                f"La convention {version.convention_id} ne couvre pas tout le département : la "
                "règle de Tijdeman suppose que chaque part est éligible partout."
            )
        spread = (
            (version.reserver_category is ReserverCategory.ETAT and version.etat_uniform_by_commune)
            or version.spread_by_typology
            or version.spread_by_qpv
        )
        if spread:
            return (
                f"La convention {version.convention_id} répartit sa part par commune, typologie "
                "ou QPV : la règle de Tijdeman n'équilibre pas de sous-objectifs."
            )
    return None


def reweighting(
    before: Iterable[EligibleShare], after: Iterable[EligibleShare]
) -> dict[int | str, int]:
    """What a late amendment changes in the targets of one vacancy already oriented: each
    participant's new weight less its old one, in basis-point units, the landlord part's too.

    The vacancy keeps its decision and its recorded eligible set (the journal is not rewritten);
    the targets move by these deltas from the amendment's effective date on, and the next
    decisions make up the difference. The deltas sum to zero, as every vacancy weighs ``FULL``.
    """
    old = {share.share_id: share.basis_points for share in before}
    new = {share.share_id: share.basis_points for share in after}
    deltas: dict[int | str, int] = {}
    for share_id in sorted(old.keys() | new.keys()):
        delta = new.get(share_id, 0) - old.get(share_id, 0)
        if delta:
            deltas[share_id] = delta
    landlord = sum(old.values()) - sum(new.values())
    if landlord:
        deltas[LANDLORD] = landlord
    return deltas


def sub_reweighting(
    before: Iterable[EligibleShare], after: Iterable[EligibleShare]
) -> dict[tuple[int, str], int]:
    """What a late amendment changes in the sub-targets of one vacancy already oriented (the
    État's share per commune, a spread by typology or QPV): for each (share, key), the share's
    new weight on that key less its old one, in basis-point units.

    A share's sub-targets move with its weight (the État's 25 % become 30 % in the vacancy's
    commune too), and a key the new terms add or drop (uniformity by commune lifted or imposed)
    gains or loses the whole weight, so that the next decisions make up the difference in each
    commune as they do overall.
    """
    old = {(s.share_id, key): s.basis_points for s in before for key in s.sub_keys}
    new = {(s.share_id, key): s.basis_points for s in after for key in s.sub_keys}
    deltas: dict[tuple[int, str], int] = {}
    for pair in sorted(old.keys() | new.keys()):
        delta = new.get(pair, 0) - old.get(pair, 0)
        if delta:
            deltas[pair] = delta
    return deltas
