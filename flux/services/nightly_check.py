"""The nightly check (issue 6): every open balance refolded from the journal and compared
with the process's incremental fold, the invariants of design.md §4 checked, and an alert for
any share more than 2 dwellings from its target."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from flux.domain import allocation
from flux.domain.allocation import FULL, LANDLORD
from flux.domain.conventions import format_dwellings
from flux.services import allocation_book, scope_conventions, year_close
from flux.services.alerts import Draft
from flux.services.allocation_book import Scope

GAP_LIMIT_UNITS = 2 * FULL  # "more than 2 dwellings from its target"


def check(session: Session, today: date) -> list[Draft]:
    """The alerts of tonight's check (the caller raises them)."""
    drafts: list[Draft] = []
    for scope in year_close.scopes(session, None, None):
        for year in (today.year - 1, today.year):
            if allocation_book.closed_through(session, scope, year) is not None:
                continue
            drafts += _check_scope_year(session, scope, year, today)
    return drafts


def _check_scope_year(session: Session, scope: Scope, year: int, today: date) -> list[Draft]:
    rule = allocation_book.lock(session, scope)
    incremental = allocation_book.load(session, scope, year, rule)
    refolded = allocation_book.frozen(session, scope, year)
    drafts = []
    where = f"bailleur {scope.landlord_id}, département {scope.departement}, année {year}"
    base = {"landlord_id": scope.landlord_id, "departement": scope.departement}
    problems = []
    if allocation.balances(incremental.state) != allocation.balances(refolded.state):
        problems.append("les compteurs incrémentaux diffèrent du journal recalculé")
    residual = allocation.invariant_residual(refolded.state)
    if residual:
        problems.append(f"Σ (réalisé − objectif) vaut {residual} unités au lieu de 0")
    stale = allocation_book.stale_decisions(session, scope, year)
    if stale:
        problems.append(
            f"{len(stale)} orientation(s) décidée(s) sur un état que le journal ne donne pas "
            f"(libérations {', '.join(str(v) for v in stale[:10])})"
        )
    counted = sum(1 for v in refolded.vacancies.values() if v.holder is not None)
    realised = sum(refolded.state.realised.values())
    if counted != realised:
        problems.append(f"{realised} orientations pour {counted} libérations comptées")
    for problem in problems:
        drafts.append(
            Draft(
                key=f"invariant:{scope.landlord_id}:{scope.departement}:{year}:{today}:{problem}"[
                    :200
                ],
                kind="invariant",
                message=f"Contrôle nocturne ({where}) : {problem}.",
                figures={"year": year},
                **base,
            )
        )
    labels = None
    for share, balance in allocation.balances(refolded.state).items():
        if abs(balance.gap_units) <= GAP_LIMIT_UNITS:
            continue
        if labels is None:
            shares = {int(s) for s in refolded.state.targets if s != LANDLORD}
            labels = scope_conventions.share_labels(session, shares, today)
        info = labels.get(share, {}) if share != LANDLORD else {}
        name = info.get("label", "part non réservée du bailleur")
        drafts.append(
            Draft(
                key=f"gap:{scope.landlord_id}:{scope.departement}:{year}:{share}",
                kind="gap",
                message=(
                    f"La part « {name} » ({where}) est à {format_dwellings(balance.gap_units)} "
                    f"logement(s) de son objectif (au-delà de 2)."
                ),
                reserver_id=info.get("reserver", {}).get("id"),
                convention_id=info.get("convention_id"),
                share_id=None if share == LANDLORD else int(share),
                figures={
                    "year": year,
                    "target": format_dwellings(balance.target_units),
                    "realised": balance.realised,
                    "gap": format_dwellings(balance.gap_units),
                },
                **base,
            )
        )
    return drafts
