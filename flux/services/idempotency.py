"""Safe retries: the first response to a request sent with an Idempotency-Key is kept, and a
retry with the same key and the same body gets it back (200) without doing anything twice; the
same key with another body is a conflict (409).

The caller checks under the scope lock, so that concurrent retries are serialised: the second
one finds the first one's committed response. The unique (owner, key) constraint is the last
guard.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.models import IdempotentRequest
from flux.services.access import Actor
from flux.services.errors import Conflict


def owner_of(actor: Actor) -> str:
    """Keys are the caller's organisation's (an admin's are its own)."""
    if actor.organisation_id is not None and not actor.is_admin:
        return f"org:{actor.organisation_id}"
    return f"user:{actor.user_id}"


def fingerprint(target: str, body: Any) -> str:
    """What makes two requests the same: their target and their body, key order aside."""
    text = json.dumps([target, body], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def earlier(session: Session, owner: str, key: str, print_: str) -> IdempotentRequest | None:
    """The first response to this key, if any; Conflict if the key came with another body."""
    found = session.scalar(
        sa.select(IdempotentRequest).where(
            IdempotentRequest.owner == owner, IdempotentRequest.key == key
        )
    )
    if found is not None and found.fingerprint != print_:
        raise Conflict(
            "Cette clé d'idempotence a déjà servi pour une autre requête.",
            errors={"headers": {"Idempotency-Key": ["Clé déjà utilisée pour un autre corps."]}},
        )
    return found


def remember(
    session: Session, owner: str, key: str, print_: str, status: int, response: dict[str, Any]
) -> None:
    """Keep the response, in the transaction that did the work (the caller commits)."""
    session.add(
        IdempotentRequest(
            owner=owner, key=key, fingerprint=print_, status=status, response=response
        )
    )
    session.flush()


__all__ = ["earlier", "fingerprint", "owner_of", "remember"]
