"""Audit records: who changed which reference row, when, in which request (append-only).

The journal records the allocation's facts; every other write (organisations, dwellings,
conventions, users, tokens, scopes) leaves an audit record, written in the same transaction
by mapper events. Secrets never enter it: for a password or token hash only the column name
is recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, object_session

from flux.db import Base
from flux.models.types import BigId, UtcDateTime, utcnow

SECRET_COLUMNS = {"password_hash", "token_hash"}


class AuditRecord(Base):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.Integer)  # no FK: a user row may be audited
    organisation_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(10))  # insert | update | delete
    table_name: Mapped[str] = mapped_column(sa.String(64), index=True)
    row_key: Mapped[str] = mapped_column(sa.String(100))
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _changes(target: Any, action: str) -> dict[str, Any]:
    state = sa.inspect(target)
    result: dict[str, Any] = {}
    for column in state.mapper.column_attrs:
        name = column.key
        if action == "update":
            history = state.attrs[name].history
            if not history.has_changes():
                continue
            value = history.added[0] if history.added else None
        else:
            value = getattr(target, name)
        result[name] = "<secret>" if name in SECRET_COLUMNS else _plain(value)
    return result


def _record(action: str):
    def listener(_mapper: Any, connection: sa.Connection, target: Any) -> None:
        session = object_session(target)
        actor = session.info.get("actor") if session is not None else None
        key = sa.inspect(target).identity or sa.inspect(target).mapper.primary_key_from_instance(
            target
        )
        changes = _changes(target, action)
        if action == "update" and not changes:
            return
        connection.execute(
            sa.insert(AuditRecord).values(
                recorded_at=utcnow(),
                user_id=getattr(actor, "user_id", None),
                organisation_id=getattr(actor, "organisation_id", None),
                request_id=getattr(actor, "request_id", None),
                action=action,
                table_name=target.__tablename__,
                row_key="/".join(str(part) for part in key),
                changes=changes,
            )
        )

    return listener


def audit(model: type) -> None:
    """Record every insert, update and delete of a model's rows."""
    for action in ("insert", "update", "delete"):
        event.listen(model, f"after_{action}", _record(action))
