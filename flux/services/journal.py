"""Appending to the journal, the book of record (design.md §3)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from flux.models import JournalEntry
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
    entry = JournalEntry(
        kind=str(kind),
        effective_date=effective_date,
        actor_user_id=actor.user_id,
        actor_organisation_id=actor.organisation_id,
        request_id=actor.request_id,
        payload=payload or {},
        **columns,
    )
    session.add(entry)
    session.flush()
    return entry
