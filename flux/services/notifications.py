"""Notifications: an outbox written in the same transaction as the fact that causes it, read in
the app and e-mailed by the scheduler process (design.md §1 « Outbox »).

The outbox rows are written by a flush hook: whatever writes the fact (an API request, the CLI,
a scheduler job), the journal entry, alert or issued bilan and the notifications about it
commit or roll back together. Writers that insert journal rows without the ORM (bulk paths)
call `for_entries` themselves.

Messages name vacancies, dwellings (RPLS number, typology, commune), shares and dates: never a
household (the journal holds none).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from flux.domain.reference import Role
from flux.models import (
    Alert,
    Convention,
    IssuedReport,
    JournalEntry,
    Notification,
    NotificationPreference,
    Organisation,
    Share,
    ShareTerms,
    User,
)
from flux.models.types import utcnow
from flux.services.access import Actor
from flux.services.errors import InvalidInput, NotFound

DEFAULT_REMINDER_DAYS = 5
DELIVERIES = ("immediate", "digest")


@dataclass(frozen=True)
class Draft:
    """A notification before its recipients are known."""

    kind: str
    subject: str
    body: str
    dedupe_key: str
    vacancy_id: int | None = None


def fr(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


# --- writing the outbox --------------------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _outbox(session: Session, _context: Any) -> None:
    entries = [o for o in session.new if isinstance(o, JournalEntry)]
    alerts = [o for o in session.new if isinstance(o, Alert)]
    bilans = [
        o
        for o in (*session.new, *session.dirty)
        if isinstance(o, IssuedReport) and o.issued_at is not None
    ]
    if not (entries or alerts or bilans):
        return
    with session.no_autoflush:
        if entries:
            for_entries(session, entries)
        for alert in alerts:
            _for_alert(session, alert)
        for bilan in bilans:
            _for_bilan(session, bilan)


def for_entries(
    session: Session,
    entries: Iterable[JournalEntry],
    label_of: Callable[[int, date], str | None] | None = None,
) -> int:
    """Notify the réservataires concerned by these journal entries; returns rows written.

    ``label_of(share_id, day)``: the share's label when the caller holds it (the decision path
    has its scope's conventions in memory); the users are then chosen by the insert itself."""
    written = 0
    for entry in entries:
        share_id = _share_concerned(entry)
        if share_id is None:
            continue
        label = label_of(share_id, entry.effective_date) if label_of is not None else None
        if label is not None:
            draft = _draft_for_entry(entry, label)
            if draft is not None:
                written += _add_for_reserver(session, share_id, draft)
            continue
        users, label = _recipients(session, share_id, entry.effective_date)
        draft = _draft_for_entry(entry, label)
        if draft is not None:
            written += add(session, users, draft)
    return written


def _share_concerned(entry: JournalEntry) -> int | None:
    if entry.kind in ("orientation", "override", "cal_refusal"):
        return entry.share_id
    if entry.kind in ("carence", "take_back"):
        held = (entry.payload or {}).get("from")
        return held if isinstance(held, int) else entry.share_id
    return None


def _draft_for_entry(entry: JournalEntry, label: str) -> Draft | None:
    vacancy_id = entry.vacancy_id or entry.id
    what = f"le logement libéré n° {vacancy_id}"
    payload = entry.payload or {}
    if entry.kind in ("orientation", "override"):
        days = payload.get("deadline_days")
        told = payload.get("notified_on")  # a late vacancy: the delay runs from that day
        start = (
            max(entry.effective_date, date.fromisoformat(told)) if told else entry.effective_date
        )
        deadline = start + timedelta(days=int(days)) if days else None
        tail = f" Proposez vos candidats au plus tard le {fr(deadline)}." if deadline else ""
        return Draft(
            "oriented",
            f"Logement orienté vers votre part « {label} »",
            f"Le {fr(entry.effective_date)}, {what} a été orienté vers votre part « {label} »."
            + tail,
            f"oriented:{entry.id}",
            vacancy_id,
        )
    if entry.kind == "cal_refusal":
        return Draft(
            "cal_refusal",
            "Refus de la CALEOL",
            f"Le {fr(entry.effective_date)}, la CALEOL a refusé les candidats proposés pour "
            f"{what} (part « {label} »). Vous pouvez proposer de nouveaux candidats dans le "
            "délai de votre convention.",
            f"cal_refusal:{entry.id}",
            vacancy_id,
        )
    counted = "compté" if payload.get("counted", True) else "non compté"
    name = "Carence constatée" if entry.kind == "carence" else "Reprise par le bailleur"
    return Draft(
        entry.kind,
        f"{name} sur votre part « {label} »",
        f"Le {fr(entry.effective_date)}, {name.lower()} pour {what} : le bailleur le reprend "
        f"pour ce tour ({counted} pour votre part « {label} »).",
        f"{entry.kind}:{entry.id}",
        vacancy_id,
    )


def _for_alert(session: Session, alert: Alert) -> None:
    users: set[int] = set()
    for organisation_id in (alert.landlord_id, alert.reserver_id):
        if organisation_id is not None:
            users |= _organisation_users(session, organisation_id)
    if alert.departement_code is not None:
        users |= set(
            session.scalars(
                sa.select(User.id)
                .join(Organisation, User.organisation_id == Organisation.id)
                .where(
                    User.role == Role.PREFECTURE,
                    User.active.is_(True),
                    Organisation.departement_code == alert.departement_code,
                )
            )
        )
    draft = Draft("alert", "Alerte Flux", alert.message[:4000], f"alert:{alert.key}"[:200])
    add(session, users, draft)


def _for_bilan(session: Session, report: IssuedReport) -> None:
    landlord = session.get(Organisation, report.landlord_id)
    draft = Draft(
        "bilan_issued",
        f"Bilan annuel {report.year} émis",
        f"Le bilan annuel {report.year} de {landlord.name if landlord else 'votre bailleur'} "
        f"(département {report.departement_code}) a été émis le {fr(report.issued_on)} : il est "
        "disponible dans Flux.",
        f"bilan:{report.id}",
    )
    add(session, _organisation_users(session, report.reserver_id), draft)


def add(session: Session, user_ids: Iterable[int], draft: Draft) -> int:
    """Write one notification per user, once per (user, fact): a repeat changes nothing."""
    rows = [
        {"user_id": user_id, **_columns(draft), "email_status": "pending", "email_attempts": 0}
        for user_id in sorted(set(user_ids))
    ]
    if not rows:
        return 0
    connection = session.connection()
    written = connection.execute(_insert_statement(connection.dialect.name), rows)
    return len(written.all())  # rows really written (a repeat writes none)


@functools.cache
def _insert_statement(dialect: str) -> sa.Insert:
    """Built once per dialect; run with the rows as parameters (one statement for all)."""
    table = Notification.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        .returning(table.c.id)
    )


def _add_for_reserver(session: Session, share_id: int, draft: Draft) -> int:
    """As ``add`` for the active users of a share's réservataire, chosen by the same statement
    (one round trip, where reading them first took two)."""
    connection = session.connection()
    written = connection.execute(
        _reserver_insert_statement(connection.dialect.name), {"share": share_id, **_columns(draft)}
    )
    return len(written.all())


def _columns(draft: Draft) -> dict[str, Any]:
    """A notification's columns from its draft (its user and e-mail state aside)."""
    return {
        "kind": draft.kind,
        "subject": draft.subject[:300],
        "body": draft.body[:4000],
        "vacancy_id": draft.vacancy_id,
        "dedupe_key": draft.dedupe_key,
        "created_at": utcnow(),
    }


@functools.cache
def _reserver_insert_statement(dialect: str) -> sa.Insert:
    table = Notification.__table__
    shares, conventions, users = Share.__table__, Convention.__table__, User.__table__
    columns = ("kind", "subject", "body", "vacancy_id", "dedupe_key", "created_at")
    recipients = (
        sa.select(
            users.c.id,
            *(sa.bindparam(name, type_=table.c[name].type) for name in columns),
            sa.literal("pending", sa.String),
            sa.literal(0, sa.SmallInteger),
        )
        .select_from(
            shares.join(conventions, shares.c.convention_id == conventions.c.id).join(
                users, users.c.organisation_id == conventions.c.reserver_id
            )
        )
        .where(shares.c.id == sa.bindparam("share"), users.c.active)
        .order_by(users.c.id)
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .from_select(["user_id", *columns, "email_status", "email_attempts"], recipients)
        .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
        .returning(table.c.id)
    )


def _recipients(session: Session, share_id: int, on: date) -> tuple[set[int], str]:
    """The active users of a share's réservataire, and the share's label on a date (its
    terms' label in the version in force, else its code): one statement, on every decision."""
    rows = session.connection().execute(_recipients_statement(), {"share": share_id, "on": on})
    rows = rows.all()
    if not rows:
        return set(), "?"
    return {row.id for row in rows if row.id is not None}, rows[0].label or rows[0].code or "?"


@functools.cache
def _recipients_statement() -> sa.Select[Any]:
    """Built once (with bound parameters): building it cost as much as running it."""
    from flux.models import ConventionVersion

    shares, conventions, users = Share.__table__, Convention.__table__, User.__table__
    terms, versions = ShareTerms.__table__, ConventionVersion.__table__
    label = (
        sa.select(terms.c.label)
        .join(versions, terms.c.version_id == versions.c.id)
        .where(
            terms.c.share_id == shares.c.id,
            versions.c.effective_from <= sa.bindparam("on", type_=sa.Date),
        )
        .order_by(versions.c.effective_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    active = sa.and_(users.c.organisation_id == conventions.c.reserver_id, users.c.active)
    return (
        sa.select(users.c.id, label.label("label"), shares.c.code)
        .select_from(
            shares.join(conventions, shares.c.convention_id == conventions.c.id).outerjoin(
                users, active
            )
        )
        .where(shares.c.id == sa.bindparam("share"))
    )


def _organisation_users(session: Session, organisation_id: int) -> set[int]:
    return set(
        session.scalars(
            sa.select(User.id).where(User.organisation_id == organisation_id, User.active.is_(True))
        )
    )


# --- reading and preferences ---------------------------------------------------------------


def list_for(
    session: Session, actor: Actor, *, unread: bool | None, offset: int, limit: int
) -> tuple[list[Notification], int]:
    """The caller's own notifications, newest first."""
    stmt = sa.select(Notification).where(Notification.user_id == actor.user_id)
    if unread is not None:
        stmt = stmt.where(
            Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None)
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Notification.id.desc()).offset(offset).limit(limit)).all()
    return list(rows), total


def mark_read(session: Session, actor: Actor, notification_id: int | None = None) -> int:
    """Mark one of the caller's notifications (or all of them) read; returns how many."""
    stmt = sa.update(Notification).where(
        Notification.user_id == actor.user_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        own = session.scalar(
            sa.select(Notification.id).where(
                Notification.id == notification_id, Notification.user_id == actor.user_id
            )
        )
        if own is None:
            raise NotFound(f"Notification {notification_id} introuvable.")
        stmt = stmt.where(Notification.id == notification_id)
    return session.execute(stmt.values(read_at=utcnow())).rowcount or 0


def preferences(session: Session, user_id: int) -> NotificationPreference:
    """The user's preferences (the defaults until they choose)."""
    found = session.get(NotificationPreference, user_id)
    return found or NotificationPreference(
        user_id=user_id, delivery="immediate", reminder_days=DEFAULT_REMINDER_DAYS, email=True
    )


def set_preferences(session: Session, actor: Actor, data: dict[str, Any]) -> NotificationPreference:
    if actor.user_id is None:
        raise InvalidInput("Seul un utilisateur a des préférences de notification.")
    current = session.get(NotificationPreference, actor.user_id)
    if current is None:
        current = preferences(session, actor.user_id)
        session.add(current)
    for key in ("delivery", "reminder_days", "email"):
        if key in data:
            setattr(current, key, data[key])
    session.flush()
    return current


# --- deadline reminders (a daily job) ------------------------------------------------------


def remind_deadlines(session: Session, today: date) -> int:
    """For each vacancy awaiting a réservataire's candidates: a reminder to each of its users
    N days before the deadline (N their own, default 5) and a notice once it has passed."""
    from flux.services import vacancy_lists

    written = 0
    for state in vacancy_lists.awaiting_candidates(session):
        deadline = vacancy_lists.current_deadline(state)
        if deadline is None or state.holder is None:
            continue
        share_id = int(state.holder)
        users, label = _recipients(session, share_id, state.logged.effective_date)
        if not users:
            continue
        vacancy_id = state.logged.id
        if deadline < today:
            written += add(
                session,
                users,
                Draft(
                    "deadline_passed",
                    f"Délai de désignation dépassé (part « {label} »)",
                    f"Le délai pour proposer des candidats pour le logement libéré n° "
                    f"{vacancy_id} (part « {label} ») a expiré le {fr(deadline)} : le bailleur "
                    "peut constater la carence.",
                    f"deadline_passed:{vacancy_id}:{deadline.isoformat()}",
                    vacancy_id,
                ),
            )
            continue
        left = (deadline - today).days
        due = [u for u in users if left <= _reminder_days(session, u)]
        written += add(
            session,
            due,
            Draft(
                "deadline_soon",
                f"Désignation attendue avant le {fr(deadline)}",
                f"Il vous reste {left} jour(s) pour proposer des candidats pour le logement "
                f"libéré n° {vacancy_id} (part « {label} ») : délai au {fr(deadline)}.",
                f"deadline_soon:{vacancy_id}:{deadline.isoformat()}",
                vacancy_id,
            ),
        )
    return written


def _reminder_days(session: Session, user_id: int) -> int:
    return preferences(session, user_id).reminder_days


def now() -> datetime:
    return utcnow()


__all__ = [
    "DELIVERIES",
    "Draft",
    "add",
    "for_entries",
    "list_for",
    "mark_read",
    "preferences",
    "remind_deadlines",
    "set_preferences",
]
