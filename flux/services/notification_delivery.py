"""E-mailing the outbox, from the scheduler process only (never from a web request).

Each notification is claimed (pending -> sending, committed) before it is handed to SMTP, and
marked sent (committed) once SMTP has accepted it. A failure puts it back to pending with its
error, retried with a growing delay (never given up: it stays in the outbox and in the app). A
process that dies after its claim leaves the row « sending »: after CLAIM_TIMEOUT a later run
takes it back. Two runs never send one row twice, since only one can move it from pending to
sending; the one window left (SMTP accepted, the process died before marking it sent) is covered
by a stable Message-ID per notification, by which a receiving server can drop the duplicate.

Per user: each notification at once (« immediate ») or one digest a day (« digest »).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.models import Notification, NotificationPreference, User
from flux.models.types import utcnow
from flux.services.mail import Mail, MailError, Sender, digest_id, message_id

CLAIM_TIMEOUT = timedelta(minutes=15)
MAX_DELAY = timedelta(hours=1)
BATCH = 200


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4... minutes after the n-th failed attempt, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_DELAY)


def send_pending(
    session: Session, sender: Sender, today: date, now: datetime | None = None
) -> dict[str, int]:
    """One delivery run: take back stale claims, then send what is due. Commits as it goes."""
    now = now or utcnow()
    session.commit()
    session.execute(
        sa.update(Notification)
        .where(
            Notification.email_status == "sending",
            Notification.email_claimed_at < now - CLAIM_TIMEOUT,
        )
        .values(email_status="pending")
    )
    session.commit()
    rows = session.execute(
        sa.select(
            Notification,
            User.email,
            User.active,
            NotificationPreference.delivery,
            NotificationPreference.email,
            NotificationPreference.last_digest_on,
        )
        .join(User, Notification.user_id == User.id)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(Notification.email_status == "pending")
        .order_by(Notification.id)
        .limit(BATCH)
    ).all()
    counts = {"sent": 0, "failed": 0, "skipped": 0, "digests": 0}
    digests: dict[int, list[int]] = defaultdict(list)
    work: list[tuple[int, str, str, str]] = []
    for notification, address, active, delivery, email_on, last_digest in rows:
        if not _due(notification, now):
            continue
        if email_on is False or not active:
            _set(session, [notification.id], "pending", email_status="not_sent")
            counts["skipped"] += 1
            continue
        if delivery == "digest":
            if last_digest != today:
                digests[notification.user_id].append(notification.id)
            continue
        work.append((notification.id, address, notification.subject, notification.body))
    session.commit()
    for notification_id, address, subject, body in work:
        if not _claim(session, [notification_id], now):
            continue
        mail = Mail(address, f"[Flux] {subject}", _footer(body), message_id(notification_id))
        counts["sent" if _deliver(session, sender, [notification_id], mail) else "failed"] += 1
    for user_id, ids in digests.items():
        if _send_digest(session, sender, user_id, ids, today, now):
            counts["digests"] += 1
    return counts


def _due(notification: Notification, now: datetime) -> bool:
    if notification.email_attempts == 0 or notification.email_claimed_at is None:
        return True
    return notification.email_claimed_at + retry_delay(notification.email_attempts) <= now


def _claim(session: Session, ids: list[int], now: datetime) -> bool:
    claimed = session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(ids), Notification.email_status == "pending")
        .values(
            email_status="sending",
            email_claimed_at=now,
            email_attempts=Notification.email_attempts + 1,
        )
    ).rowcount
    if claimed != len(ids):  # another run took some: leave them all to it
        session.rollback()
        return False
    session.commit()
    return True


def _deliver(session: Session, sender: Sender, ids: list[int], mail: Mail) -> bool:
    try:
        sender.send(mail)
    except MailError as error:
        _set(session, ids, "sending", email_status="pending", email_error=str(error)[:500])
        session.commit()
        return False
    _set(session, ids, "sending", email_status="sent", email_sent_at=utcnow(), email_error=None)
    session.commit()
    return True


def _set(session: Session, ids: list[int], expected: str, **values: Any) -> None:
    session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(ids), Notification.email_status == expected)
        .values(**values)
    )


def _send_digest(
    session: Session, sender: Sender, user_id: int, ids: list[int], today: date, now: datetime
) -> bool:
    if not _claim(session, ids, now):
        return False
    user = session.get(User, user_id)
    items = session.scalars(
        sa.select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)
    ).all()
    body = "\n\n".join(f"• {n.subject}\n  {n.body}" for n in items)
    mail = Mail(
        user.email,
        f"[Flux] Résumé du {today:%d/%m/%Y} : {len(items)} notification(s)",
        _footer(body),
        digest_id(user_id, today.isoformat()),
    )
    delivered = _deliver(session, sender, ids, mail)
    if delivered:
        preference = session.get(NotificationPreference, user_id)
        if preference is not None:
            preference.last_digest_on = today
        session.commit()
    return delivered


def _footer(body: str) -> str:
    return (
        f"{body}\n\n--\nFlux, gestion en flux des contingents de réservation. Vos préférences "
        "(envoi immédiat ou résumé quotidien, rappel avant échéance) se règlent dans Flux."
    )


__all__ = ["CLAIM_TIMEOUT", "retry_delay", "send_pending"]
