"""Alerts raised by scheduled work, each once per subject, read by whoever the subject
concerns (issue 6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.models import Alert
from flux.services.access import Actor, visible_alerts


@dataclass(frozen=True)
class Draft:
    key: str  # the subject: the same subject never raises two alerts
    kind: str
    message: str  # French
    landlord_id: int | None = None
    reserver_id: int | None = None
    departement: str | None = None
    convention_id: int | None = None
    share_id: int | None = None
    figures: dict[str, Any] = field(default_factory=dict)


def raise_all(session: Session, drafts: list[Draft], job_run_id: int | None) -> int:
    """Insert the drafts whose subject has no alert yet; returns how many were new."""
    if not drafts:
        return 0
    known = set(session.scalars(sa.select(Alert.key).where(Alert.key.in_([d.key for d in drafts]))))
    new = 0
    for draft in drafts:
        if draft.key in known:
            continue
        known.add(draft.key)
        session.add(
            Alert(
                key=draft.key,
                kind=draft.kind,
                job_run_id=job_run_id,
                landlord_id=draft.landlord_id,
                reserver_id=draft.reserver_id,
                departement_code=draft.departement,
                convention_id=draft.convention_id,
                share_id=draft.share_id,
                message=draft.message,
                figures=draft.figures,
            )
        )
        new += 1
    session.flush()
    return new


def listing(
    session: Session, actor: Actor, kind: str | None = None, departement: str | None = None
) -> sa.Select[Any]:
    stmt = sa.select(Alert).where(visible_alerts(actor)).order_by(Alert.id.desc())
    if kind is not None:
        stmt = stmt.where(Alert.kind == kind)
    if departement is not None:
        stmt = stmt.where(Alert.departement_code == departement)
    return stmt
