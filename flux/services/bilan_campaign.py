"""The bilan campaign (issue 6, domain.md §7): before 28 February N+1 each landlord owes every
reserver the bilan of year N (R.441-5-1).

From 2 January, each day, the campaign generates the bilan of every landlord × département ×
reserver pair (and landlord × département × EPCI or EPT receiving it, R.441-5-1) whose scope's
year is closed and that has none yet, stores it (PDF, SHA-256 of
its bytes, generation time) and marks it issued. After 28 February it keeps issuing (late,
and shown as such) and raises an alert for every pair still without one; the same list is
readable at any time (`missing`, GET /api/v1/bilans, `flux bilans`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import reconciliation
from flux.domain.reference import Role
from flux.models import Convention, ConventionVersion, IssuedReport, Organisation
from flux.services import alerts, allocation_book, bilan_recipients
from flux.services.access import Actor, sees_bilan
from flux.services.alerts import Draft
from flux.services.allocation_book import Scope

FORMAT = "pdf"
log = logging.getLogger("flux.scheduler")


def period(today: date) -> str | None:
    """Daily from 2 January (1 January belongs to the year close)."""
    if today.month == 1 and today.day == 1:
        return None
    return today.isoformat()


@dataclass(frozen=True, order=True)
class Pair:
    landlord_id: int
    departement: str
    reserver_id: int


def pairs(session: Session, year: int) -> list[Pair]:
    """Landlord × département × reserver of every convention valid at some point of the year,
    and landlord × département × EPCI or EPT receiving that landlord's bilan
    (``bilan_recipients``: the EPCIs subject to the reform in the year, and the EPTs, with
    dwellings of the landlord on their territory)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    rows = session.execute(
        sa.select(Convention.landlord_id, Convention.departement_code, Convention.reserver_id)
        .join(ConventionVersion, ConventionVersion.convention_id == Convention.id)
        .where(
            ConventionVersion.valid_from <= end,
            sa.or_(ConventionVersion.valid_until.is_(None), ConventionVersion.valid_until >= start),
        )
        .distinct()
    )
    found = {Pair(*row) for row in rows}
    scopes = {(pair.landlord_id, pair.departement) for pair in found}
    found |= {Pair(*triple) for triple in bilan_recipients.recipients(session, year, scopes)}
    return sorted(found)


def run(session: Session, today: date, job_run_id: int | None) -> dict[str, Any]:
    year = today.year - 1
    issued = _issued(session, year)
    generated, waiting, failed = [], [], []
    for pair in pairs(session, year):
        if pair in issued:
            continue
        scope = Scope(pair.landlord_id, pair.departement)
        if allocation_book.closed_through(session, scope, year) is None:
            waiting.append(pair)
            continue
        try:
            with session.begin_nested():
                session.add(_generate(session, pair, year, job_run_id, today))
        except Exception as error:  # one bilan that cannot be produced must not stop the rest
            log.exception("bilan %s %s failed", year, pair)
            failed.append(_failure_alert(pair, year, error))
            continue
        generated.append(pair)
    summary: dict[str, Any] = {
        "year": year,
        "generated": len(generated),
        "already_issued": len(issued),
        "waiting_for_year_close": len(waiting),
        "failed": len(failed),
    }
    summary["new_alerts"] = alerts.raise_all(session, failed, job_run_id)
    if today > reconciliation.bilan_deadline(year):
        missing = waiting
        summary["missing"] = len(missing)
        summary["new_alerts"] += alerts.raise_all(
            session, [_missing_alert(session, pair, year) for pair in missing], job_run_id
        )
    return summary


def _generate(
    session: Session, pair: Pair, year: int, job_run_id: int | None, today: date
) -> IssuedReport:
    from flux.reporting import render
    from flux.services import reports

    actor = Actor(None, Role.ADMIN, None, request_id="bilan-campaign")
    report = reports.annual(
        session,
        actor,
        reports.ReportQuery(
            year=year,
            landlord=pair.landlord_id,
            departement=pair.departement,
            reserver=pair.reserver_id,
        ),
        today=today,
        keep=False,  # the campaign's transaction writes: nothing else may meanwhile (SQLite)
    )
    rendered = render.render(report, FORMAT)
    now = datetime.now(UTC)
    return IssuedReport(
        landlord_id=pair.landlord_id,
        departement_code=pair.departement,
        reserver_id=pair.reserver_id,
        year=year,
        media_type=rendered.media_type,
        filename=rendered.filename,
        content_hash=hashlib.sha256(rendered.content).hexdigest(),
        size=len(rendered.content),
        content=rendered.content,
        generated_at=now,
        issued_at=now,
        issued_on=today,
        job_run_id=job_run_id,
    )


def _issued(session: Session, year: int) -> set[Pair]:
    rows = session.execute(
        sa.select(
            IssuedReport.landlord_id, IssuedReport.departement_code, IssuedReport.reserver_id
        ).where(IssuedReport.year == year, IssuedReport.issued_at.is_not(None))
    )
    return {Pair(*row) for row in rows}


def _failure_alert(pair: Pair, year: int, error: Exception) -> Draft:
    return Draft(
        key=f"bilan_failed:{year}:{pair.landlord_id}:{pair.departement}:{pair.reserver_id}",
        kind="bilan_failed",
        message=(
            f"Le bilan annuel {year} (bailleur {pair.landlord_id}, réservataire "
            f"{pair.reserver_id}, département {pair.departement}) n'a pas pu être produit "
            f"({type(error).__name__}) ; la campagne réessaiera demain."
        ),
        landlord_id=pair.landlord_id,
        reserver_id=pair.reserver_id,
        departement=pair.departement,
        figures={"year": year},
    )


def _missing_alert(session: Session, pair: Pair, year: int) -> Draft:
    names = dict(
        session.execute(
            sa.select(Organisation.id, Organisation.name).where(
                Organisation.id.in_([pair.landlord_id, pair.reserver_id])
            )
        ).all()
    )
    return Draft(
        key=f"bilan_missing:{year}:{pair.landlord_id}:{pair.departement}:{pair.reserver_id}",
        kind="bilan_missing",
        message=(
            f"Le bilan annuel {year} de {names.get(pair.landlord_id)} pour "
            f"{names.get(pair.reserver_id)} (département {pair.departement}) n'est pas émis "
            f"au {reconciliation.bilan_deadline(year):%d/%m/%Y} (R.441-5-1)."
        ),
        landlord_id=pair.landlord_id,
        reserver_id=pair.reserver_id,
        departement=pair.departement,
        figures={"year": year},
    )


def status(
    session: Session, actor: Actor, year: int, today: date | None = None
) -> list[dict[str, Any]]:
    """Every pair the caller may see: ``issued``; ``missing`` when not issued once its deadline
    (28 February N+1) has passed; ``pending`` before (issue 13: next year's bilans are not
    missing in December). The prefecture's list of missing bilans."""
    today = today or clock.today()
    issued = {
        Pair(r.landlord_id, r.departement_code, r.reserver_id): r
        for r in session.scalars(sa.select(IssuedReport).where(IssuedReport.year == year))
    }
    names = dict(session.execute(sa.select(Organisation.id, Organisation.name)).all())
    rows = []
    deadline = reconciliation.bilan_deadline(year)
    for pair in pairs(session, year):
        if not sees_bilan(actor, *astuple(pair)):
            continue
        report = issued.get(pair)
        rows.append(
            {
                "id": report.id if report else None,
                "year": year,
                "landlord": {"id": pair.landlord_id, "name": names.get(pair.landlord_id)},
                "reserver": {"id": pair.reserver_id, "name": names.get(pair.reserver_id)},
                "departement": pair.departement,
                "status": (
                    "issued"
                    if report and report.issued_at
                    else ("missing" if today > deadline else "pending")
                ),
                "issued_at": report.issued_at if report else None,
                "issued_on": report.issued_on if report else None,
                "late": bool(report and report.issued_on and report.issued_on > deadline),
                "content_hash": report.content_hash if report else None,
                "filename": report.filename if report else None,
                "deadline": deadline,
            }
        )
    return rows


def content(session: Session, actor: Actor, report_id: int) -> IssuedReport | None:
    """An issued bilan's stored bytes, if the caller may see it."""
    report = session.get(IssuedReport, report_id)
    if report is None:
        return None
    pair = Pair(report.landlord_id, report.departement_code, report.reserver_id)
    return report if sees_bilan(actor, *astuple(pair)) else None
