"""Appending to the journal, the book of record (design.md §3)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.reference import Role
from flux.models import AuditRecord, Convention, JournalEntry, Share
from flux.models.types import utcnow
from flux.services.access import Actor


class Kind(StrEnum):
    """What a journal entry records."""

    VACANCY_LOGGED = "vacancy_logged"
    ORIENTATION = "orientation"
    OVERRIDE = "override"
    DESIGNATION = "designation"
    CAL_ATTRIBUTION = "cal_attribution"
    CAL_REFUSAL = "cal_refusal"
    CARENCE = "carence"
    TAKE_BACK = "take_back"
    LEASE = "lease"
    WITHDRAWAL = "withdrawal"
    CORRECTION = "correction"
    CARRY_OVER = "carry_over"
    YEAR_CLOSED = "year_closed"
    # A convention created or amended: its effective date, and whether it reached back over
    # vacancies already logged (a late amendment); written under the scope lock.
    TERMS_CHANGED = "terms_changed"
    # A late amendment's effect on the targets of the vacancies already oriented (per share).
    TARGET_ADJUSTMENT = "target_adjustment"


def append(
    session: Session,
    actor: Actor,
    kind: Kind,
    effective_date: date,
    *,
    payload: dict[str, Any] | None = None,
    **columns: Any,
) -> JournalEntry:
    """Add one entry, stamped with who recorded it; the caller commits."""
    entry = JournalEntry(**_stamped(actor, kind, effective_date, payload, columns))
    session.add(entry)
    session.flush()
    return entry


def _stamped(
    actor: Actor,
    kind: Kind,
    effective_date: date,
    payload: dict[str, Any] | None,
    columns: dict[str, Any],
) -> dict[str, Any]:
    """An entry's columns, stamped with who recorded it."""
    return {
        "kind": str(kind),
        "effective_date": effective_date,
        "actor_user_id": actor.user_id,
        "actor_organisation_id": actor.organisation_id,
        "request_id": actor.request_id,
        "payload": payload or {},
        **columns,
    }


_TABLE = JournalEntry.__table__
_INSERT = sa.insert(_TABLE).returning(_TABLE.c.id)
_COLUMNS = tuple(c.name for c in _TABLE.c if c.name not in ("id", "kind", "effective_date"))


def insert(
    session: Session,
    actor: Actor,
    kind: Kind,
    effective_date: date,
    *,
    payload: dict[str, Any] | None = None,
    **columns: Any,
) -> JournalEntry:
    """As `append`, in one Core statement instead of a unit-of-work flush (the decision path:
    a third of its time went to the ORM's flush of two entries).

    The entry returned is not in the session: it is what was written, for the caller to read.
    The ORM's flush hooks do not see it, so the caller notifies (``notifications.for_entries``)
    and folds it into the scope's cached state (``allocation_book.record``) itself.
    """
    values = dict.fromkeys(_COLUMNS)  # every column, so that one compiled INSERT serves all
    values.update(recorded_at=utcnow(), **_stamped(actor, kind, effective_date, payload, columns))
    entry_id = session.connection().execute(_INSERT, values).scalar_one()
    return JournalEntry(id=entry_id, **values)


def reserver_shares(organisation_id: int | None) -> sa.Select[Any]:
    """The ids of a reserver's shares, in all its conventions."""
    return (
        sa.select(Share.id)
        .join(Convention, Share.convention_id == Convention.id)
        .where(Convention.reserver_id == organisation_id)
    )


def vacancies_oriented_to(organisation_id: int | None) -> sa.Select[Any]:
    """The ids of the vacancies ever oriented (or re-oriented) to one of a reserver's shares."""
    return sa.select(JournalEntry.vacancy_id).where(
        JournalEntry.kind.in_([Kind.ORIENTATION, Kind.OVERRIDE]),
        JournalEntry.share_id.in_(reserver_shares(organisation_id)),
    )


def visible_entries(actor: Actor) -> sa.ColumnElement[bool]:
    """Entries the caller may read: a landlord its own scopes', prefecture staff their
    département's, a reserver those of vacancies ever oriented to its shares, an admin all."""
    if actor.is_admin:
        return sa.true()
    if actor.role is Role.LANDLORD:
        return JournalEntry.landlord_id == actor.organisation_id
    if actor.role is Role.PREFECTURE:
        return JournalEntry.departement_code == actor.departement
    if actor.role is Role.RESERVER:
        shares = reserver_shares(actor.organisation_id)
        oriented = vacancies_oriented_to(actor.organisation_id)
        # Its vacancies' entries, except those about another reserver's share (after an
        # override away from it, for instance).
        # Plus the carry-over entries of its own shares (they concern no vacancy).
        return sa.or_(
            sa.and_(
                sa.or_(JournalEntry.id.in_(oriented), JournalEntry.vacancy_id.in_(oriented)),
                sa.or_(JournalEntry.share_id.is_(None), JournalEntry.share_id.in_(shares)),
            ),
            sa.and_(JournalEntry.vacancy_id.is_(None), JournalEntry.share_id.in_(shares)),
        )
    return sa.false()


def visible_audit(actor: Actor) -> sa.ColumnElement[bool]:
    """Audit records an admin reads all of; anyone else, its own organisation's writes."""
    if actor.is_admin:
        return sa.true()
    return AuditRecord.organisation_id == actor.organisation_id


REDACTED_FOR_RESERVERS = ("explanation", "eligible", "units")  # units: a late amendment's


def readable_payload(actor: Actor, entry: JournalEntry) -> dict:
    """An entry's payload as the caller may read it: a reserver does not see the other shares'
    figures (the explanation, the eligible set)."""
    if actor.role is not Role.RESERVER:
        return entry.payload
    return {k: v for k, v in entry.payload.items() if k not in REDACTED_FOR_RESERVERS}
