"""The bilan annuel (domain.md §7): for one landlord, one département, one reserver, or
everything the caller may see, built from the journal (``flux.reporting.annual``).

Who sees what (design.md §4 invariant 8):
- a landlord: its own scopes (landlord × département), every part;
- a reserver: the scopes where it holds a convention, and there the rows of every reserver of
  the landlord (R.441-5-1: the bilan "par réservataire" goes to all of them) or, the setting
  ``BILAN_EVERY_RESERVER`` off, its own rows only (shares, breakdown, checks, late entries);
  never the landlord's own part (the deductions are the landlord's figures every reserver
  receives);
- an EPCI subject to the attribution reform in the year, or an EPT (``bilan_recipients``): the
  scopes of the landlords with dwellings on its territory, where it receives every reserver's
  rows (whatever the setting: it is no reserver there);
- prefecture staff: every landlord of their département (the consolidation);
- an admin: everything.
A filter naming a landlord, reserver or département the caller may not look into (or that does
not exist) answers 404, as an object it may not see does elsewhere; another reserver's bilan is
such an object for a reserver.

The rows of a closed year are kept and reused (``flux.reporting.cache``): asking for a closed
year's bilan stores them the first time (in a transaction of its own), and reads them
afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from flux import clock
from flux.domain.reference import OrganisationKind, Role
from flux.models import Convention, Departement, IssuedReport, JournalEntry, Organisation
from flux.reporting import annual as annual_report
from flux.reporting import cache, facts
from flux.reporting import catalogue as catalogues
from flux.reporting.model import Report, ReportMeta
from flux.services import bilan_recipients, deduction_forecasts
from flux.services.access import Actor
from flux.services.allocation_book import Scope
from flux.services.errors import NotFound
from flux.settings import DEFAULTS

EVERY_RESERVER_DEFAULT: bool = DEFAULTS["BILAN_EVERY_RESERVER"]
TITLE = "Bilan annuel {year} de la gestion en flux"
log = logging.getLogger("flux.reports")


@dataclass(frozen=True)
class ReportQuery:
    year: int
    landlord: int | str | None = None  # id or code
    reserver: int | str | None = None  # id or code
    departement: str | None = None


def annual(
    session: Session,
    actor: Actor,
    query: ReportQuery,
    today: date | None = None,
    keep: bool = True,
) -> Report:
    """The bilan annuel of ``query.year`` as the caller may see it (404 for a filter it may
    not use); ``today`` is the date of issue. ``keep``: store the rows of closed years made
    here for the next bilans (in a transaction of their own: ``session`` is left as it was)."""
    in_year, landlord, reserver, departement, scopes, received = _plan(session, actor, query)
    catalogue = catalogues.load(session, scopes, query.year)
    # A scope whose conventions were all out of force in the year, with no entry in it: nothing.
    scopes = [
        s for s in scopes if catalogue.scope_shares(s) or (s.landlord_id, s.departement) in in_year
    ]
    closings = facts.closings_of(session, query.year)
    every_reserver = every_reserver_setting()
    keys = cache.keys(session, query.year, closings)
    made: list[tuple[int | None, str, annual_report.ScopeRows]] = []

    def view_of(scope: Scope) -> annual_report.View:
        if reserver is None:
            return annual_report.View()
        received_here = (scope.landlord_id, scope.departement) in received
        return annual_report.View(reserver.id, every_reserver or received_here)

    def scope_rows(scope: Scope) -> annual_report.ScopeRows:
        """A closed year's rows from the cache, else read from the journal (and kept)."""
        view = view_of(scope)
        key = keys.key(scope, catalogue)
        if key is not None:
            kept = cache.get(session, scope, query.year, view.cache_id, key)
            if kept is not None:
                return kept
        shares = [info.share_id for info in catalogue.scope_shares(scope)]
        scope_year = facts.load(session, scope, query.year, shares, closings)
        rows = annual_report.scope_rows(scope_year, catalogue, view)
        if key is not None:
            made.append((view.cache_id, key, rows))
        return rows

    forecasts = {
        scope: deduction_forecasts.forecasts(
            session, scope.landlord_id, scope.departement, query.year
        )
        for scope in scopes
    }
    meta = _meta(query, scopes, catalogue, landlord, reserver, departement, today)
    # A generator: each scope's year is read, turned into rows, and dropped before the next
    # (the rows of closed years are kept until stored below).
    report = annual_report.build(meta, (scope_rows(s) for s in scopes), catalogue, forecasts)
    if made and keep:
        for view_id in {view_id for view_id, _, _ in made}:
            _keep(session, query.year, view_id, [(k, r) for v, k, r in made if v == view_id])
    return report


def every_reserver_setting() -> bool:
    """The setting ``BILAN_EVERY_RESERVER`` (R.441-5-1): whether a reserver's bilan shows every
    reserver's rows of its landlord (the default) or its own only. Read from the application's
    configuration (the API, pages, CLI and scheduler all run in one); the default outside."""
    if has_app_context():
        return bool(current_app.config.get("BILAN_EVERY_RESERVER", EVERY_RESERVER_DEFAULT))
    return EVERY_RESERVER_DEFAULT


def _keep(session: Session, year: int, view: int | None, made: list[tuple[str, Any]]) -> None:
    """Store the rows in a session of their own, committed at once: the caller's session
    (a GET request's, which commits nothing) is left untouched. A cache that cannot be
    written (a database busy with a long write) is no error: the next bilan reads the
    journal again."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    try:
        with Session(engine) as writer:
            cache.put(writer, year, view, made)
            writer.commit()
    except sa.exc.OperationalError:
        log.warning("bilan %s : lignes non conservées (base occupée)", year, exc_info=True)


def scope_count(session: Session, actor: Actor, query: ReportQuery) -> int:
    """How many scopes (landlord × département) the bilan covers, the caller's access applied
    (404 for a filter it may not use): what tells a bilan made in a request from one prepared
    in the background (``flux.services.report_jobs``)."""
    return len(_plan(session, actor, query)[-2])


def _plan(
    session: Session, actor: Actor, query: ReportQuery
) -> tuple[
    set[Pair],
    Organisation | None,
    Organisation | None,
    Departement | None,
    list[Scope],
    set[Pair],
]:
    """The year's journal pairs, the filters checked against the caller's access, the scopes
    of the bilan, and those of them the reserver (if any) receives as an EPCI or EPT
    (``bilan_recipients``) rather than as a reserver."""
    in_year = _journal_pairs(session, query.year)
    known = _convention_pairs(session) | in_year
    visible = _visible(session, actor, known, query.year)
    landlord = _landlord(session, actor, query.landlord, visible)
    reserver = _reserver(session, actor, query.reserver, visible, query.year)
    departement = _departement(session, actor, query.departement)
    if reserver is None and actor.role is Role.RESERVER:
        reserver = session.get(Organisation, actor.organisation_id)
    pairs = visible
    if landlord is not None:
        pairs = {p for p in pairs if p[0] == landlord.id}
    if departement is not None:
        pairs = {p for p in pairs if p[1] == departement.code}
    received: set[Pair] = set()
    if reserver is not None:
        received = _received_pairs(session, reserver.id, query.year, pairs)
        pairs &= _reserver_pairs(session, reserver.id) | received
    scopes = [Scope(landlord_id, code) for landlord_id, code in sorted(pairs)]
    return in_year, landlord, reserver, departement, scopes, received & pairs


def issued(session: Session, actor: Actor, query: ReportQuery) -> IssuedReport | None:
    """The campaign's issued bilan for exactly this landlord, département and reserver, when
    there is one: served as it was issued (its bytes are those its hash certifies)."""
    if query.landlord is None or query.reserver is None or query.departement is None:
        return None
    _, landlord, reserver, departement, _, _ = _plan(session, actor, query)
    if landlord is None or reserver is None or departement is None:
        return None
    return session.scalar(
        sa.select(IssuedReport).where(
            IssuedReport.landlord_id == landlord.id,
            IssuedReport.departement_code == departement.code,
            IssuedReport.reserver_id == reserver.id,
            IssuedReport.year == query.year,
            IssuedReport.issued_at.is_not(None),
        )
    )


# --- what the caller may look into -------------------------------------------------------------

Pair = tuple[int, str]  # (landlord id, département code)


def _visible(session: Session, actor: Actor, pairs: set[Pair], year: int) -> set[Pair]:
    """The scopes (with a convention, or entries in the year) the caller may look into: a
    reserver's, those where it holds a convention or receives the bilan of ``year``."""
    if actor.is_admin:
        return pairs
    if actor.role is Role.LANDLORD:
        return {p for p in pairs if p[0] == actor.organisation_id}
    if actor.role is Role.PREFECTURE:
        return {p for p in pairs if p[1] == actor.departement}
    if actor.role is Role.RESERVER:
        own = _reserver_pairs(session, actor.organisation_id)
        return pairs & (own | _received_pairs(session, actor.organisation_id, year, pairs))
    return set()


def _convention_pairs(session: Session) -> set[Pair]:
    stmt = sa.select(Convention.landlord_id, Convention.departement_code).distinct()
    return {tuple(row) for row in session.execute(stmt)}


def _journal_pairs(session: Session, year: int) -> set[Pair]:
    stmt = (
        sa.select(JournalEntry.landlord_id, JournalEntry.departement_code)
        .where(JournalEntry.period == year, JournalEntry.landlord_id.is_not(None))
        .distinct()
    )
    return {tuple(row) for row in session.execute(stmt)}


def _reserver_pairs(session: Session, reserver_id: int | None) -> set[Pair]:
    stmt = sa.select(Convention.landlord_id, Convention.departement_code).where(
        Convention.reserver_id == reserver_id
    )
    return {tuple(row) for row in session.execute(stmt)}


def _received_pairs(
    session: Session, organisation_id: int | None, year: int, pairs: set[Pair]
) -> set[Pair]:
    """Of ``pairs``, the scopes whose bilan of ``year`` this organisation receives as an EPCI
    subject to the attribution reform or an EPT (R.441-5-1, ``bilan_recipients``)."""
    if organisation_id is None or not pairs:
        return set()
    triples = bilan_recipients.recipients(session, year, pairs, organisation_id)
    return {(landlord, departement) for landlord, departement, _ in triples}


def _organisation(session: Session, ref: int | str, kind: OrganisationKind) -> Organisation | None:
    column = Organisation.id if isinstance(ref, int) else Organisation.code
    found = session.scalar(sa.select(Organisation).where(column == ref))
    return found if found is not None and found.kind is kind else None


def _landlord(
    session: Session, actor: Actor, ref: int | str | None, visible: set[Pair]
) -> Organisation | None:
    if ref is None:
        return None
    landlord = _organisation(session, ref, OrganisationKind.LANDLORD)
    allowed = landlord is not None and (
        actor.is_admin
        or (actor.role is Role.LANDLORD and landlord.id == actor.organisation_id)
        or any(pair[0] == landlord.id for pair in visible)
    )
    if not allowed:
        raise _not_found("landlord", f"Bailleur « {ref} » introuvable ou hors de votre périmètre.")
    return landlord


def _reserver(
    session: Session, actor: Actor, ref: int | str | None, visible: set[Pair], year: int
) -> Organisation | None:
    if ref is None:
        return None
    reserver = _organisation(session, ref, OrganisationKind.RESERVER)
    allowed = reserver is not None and (
        actor.is_admin
        or (actor.role is Role.RESERVER and reserver.id == actor.organisation_id)
        or (
            actor.role is not Role.RESERVER
            and bool(
                visible
                & (
                    _reserver_pairs(session, reserver.id)
                    | _received_pairs(session, reserver.id, year, visible)
                )
            )
        )
    )
    if not allowed:
        raise _not_found(
            "reserver", f"Réservataire « {ref} » introuvable ou hors de votre périmètre."
        )
    return reserver


def _departement(session: Session, actor: Actor, code: str | None) -> Departement | None:
    if code is None:
        return None
    found = session.get(Departement, code)
    if found is None or (actor.role is Role.PREFECTURE and code != actor.departement):
        raise _not_found(
            "departement", f"Département « {code} » introuvable ou hors de votre périmètre."
        )
    return found


def _not_found(field: str, message: str) -> NotFound:
    return NotFound(message, errors={"query": {field: [message]}})


# --- the title block ---------------------------------------------------------------------------


def _meta(
    query: ReportQuery,
    scopes: list[Scope],
    catalogue: catalogues.Catalogue,
    landlord: Organisation | None,
    reserver: Organisation | None,
    departement: Departement | None,
    today: date | None,
) -> ReportMeta:
    landlords = {scope.landlord_id for scope in scopes}
    codes = {scope.departement for scope in scopes}
    landlord_name = landlord.name if landlord is not None else None
    if landlord_name is None and len(landlords) == 1:
        landlord_name = catalogue.organisations.get(next(iter(landlords)))
    if departement is not None:
        departement_name: str | None = f"{departement.name} ({departement.code})"
    elif len(codes) == 1:
        code = next(iter(codes))
        departement_name = f"{catalogue.departements.get(code, code)} ({code})"
    else:
        departement_name = None
    filters = {
        key: str(value)
        for key, value in (
            ("year", query.year),
            ("landlord", query.landlord),
            ("reserver", query.reserver),
            ("departement", query.departement),
        )
        if value is not None
    }
    return ReportMeta(
        title=TITLE.format(year=query.year),
        year=query.year,
        issued_on=today or clock.today(),
        landlord=landlord_name,
        reserver=reserver.name if reserver is not None else None,
        departement=departement_name,
        closed=False,  # set by the builder: whether every scope's year is closed
        filters=filters,
    )
