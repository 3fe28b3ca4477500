"""Users and API tokens: creation and authentication by bearer token."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, object_session
from werkzeug.security import check_password_hash, generate_password_hash

from flux.domain.reference import OrganisationKind, Role
from flux.models import ApiToken, Organisation, User
from flux.models.types import utcnow
from flux.services.access import Actor, sees_user, visible_users
from flux.services.errors import Conflict, InvalidInput, NotFound, Unauthenticated

TOKEN_PREFIX = "flux_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedUser:
    user_id: int
    email: str
    token: str  # shown once, never stored


def _organisation_for_role(
    session: Session, role: Role, org_code: str | None
) -> Organisation | None:
    if role is Role.ADMIN:
        if org_code is None:
            return None
    elif org_code is None:
        raise _bad_organisation(f"Le rôle « {role} » exige une organisation (--org).")
    org = session.scalar(sa.select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise _bad_organisation(f"Organisation « {org_code} » inconnue.")
    expected = {
        Role.LANDLORD: OrganisationKind.LANDLORD,
        Role.RESERVER: OrganisationKind.RESERVER,
        Role.PREFECTURE: OrganisationKind.RESERVER,
    }.get(role)
    if expected is not None and org.kind is not expected:
        raise _bad_organisation(
            f"Le rôle « {role} » ne convient pas à l'organisation « {org_code} »."
        )
    if role is Role.PREFECTURE and (org.category != "etat" or org.departement_code is None):
        raise _bad_organisation(
            "Le rôle « prefecture » exige une organisation État d'un département."
        )
    return org


def _bad_organisation(message: str) -> InvalidInput:
    """A user's organisation is input (a body field, a --org option): 422 naming the field."""
    return InvalidInput(message, errors={"json": {"organisation": [message]}})


def create_user(
    session: Session,
    *,
    email: str,
    role: Role,
    org_code: str | None = None,
    password: str | None = None,
    can_write: bool = True,
    token_label: str | None = None,
    token_days: int | None = 90,
) -> CreatedUser:
    """Create a user with one API token (valid `token_days`, None: no expiry); the caller
    commits."""
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            f"Un utilisateur « {email} » existe déjà.",
            errors={"json": {"email": ["Adresse déjà utilisée."]}},
        )
    org = _organisation_for_role(session, role, org_code)
    user = User(
        email=email, role=role, organisation_id=org.id if org else None, can_write=can_write
    )
    session.add(user)
    session.flush()
    if password:
        set_password(session, user, password)
    token = issue_token(session, user, token_label, expiry_in(token_days))
    return CreatedUser(user.id, email, token)


def issue_token(
    session: Session, user: User, label: str | None = None, expires_at: datetime | None = None
) -> str:
    """A new token for the user; its secret is returned once and only its hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, token_hash=hash_token(secret), label=label, expires_at=expires_at)
    )
    session.flush()
    return secret


def actor_for_token(session: Session, secret: str) -> Actor | None:
    """The actor a bearer token stands for, or None if unknown, expired, revoked or inactive."""
    return _actor_and_expiry(session, hash_token(secret))[0]


def _actor_and_expiry(session: Session, token_hash: str) -> tuple[Actor | None, datetime | None]:
    row = session.execute(
        sa.select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash)
    ).one_or_none()
    if row is None:
        return None, None
    token, user = row
    now = utcnow()
    if token.revoked_at is not None or not user.active:
        return None, None
    if token.expires_at is not None and token.expires_at <= now:
        return None, None
    departement = None
    if user.role is Role.PREFECTURE and user.organisation is not None:
        departement = user.organisation.departement_code
    actor = Actor(
        user_id=user.id,
        role=user.role,
        organisation_id=user.organisation_id,
        departement=departement,
        can_write=user.can_write,
    )
    return actor, token.expires_at


# --- a short per-process memory of verified tokens ---------------------------------------
# An ERP sends many requests in a row with one token: reading the token and its user at each
# one is a statement (and two ORM objects) of every request. A verified token is kept for
# TOKEN_CACHE_SECONDS (never beyond its expiry); any write to users or tokens through this
# process forgets them all at once, so a revocation here takes effect at the next request,
# and one made through another process (another gunicorn worker, the command line) within
# TOKEN_CACHE_SECONDS. Unknown or refused tokens are never kept.
#
# Threaded workers: a request may read a token while another one, in the same process, is
# revoking it and has not committed yet; the reader sees the token still valid. So the memory
# is forgotten again when the writer commits, and a reader keeps what it read only if nothing
# was forgotten while it was reading (the generation below has not moved).
_VERIFIED: dict[str, tuple[float, Actor]] = {}
_VERIFIED_MAX = 4_096
_verified_lock = threading.Lock()
_generation = [0]  # moved by every forgetting
_WROTE_ACCESS = "flux_wrote_users_or_tokens"  # session.info: forget again at its commit


def actor_for_token_cached(session: Session, secret: str, seconds: float) -> Actor | None:
    """As ``actor_for_token``, from this process's memory for at most ``seconds``."""
    if seconds <= 0:
        return actor_for_token(session, secret)
    key = hash_token(secret)
    now = time.monotonic()
    hit = _VERIFIED.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    generation = _generation[0]
    actor, expires_at = _actor_and_expiry(session, key)
    with _verified_lock:
        if actor is None:
            _VERIFIED.pop(key, None)
        elif generation != _generation[0]:
            pass  # a write to users or tokens happened while reading: do not keep it
        else:
            until = now + seconds
            if expires_at is not None:
                until = min(until, now + (expires_at - utcnow()).total_seconds())
            if len(_VERIFIED) >= _VERIFIED_MAX:
                _VERIFIED.clear()
            _VERIFIED[key] = (until, actor)
    return actor


def forget_verified_tokens(*_args: object) -> None:
    """Forget every verified token (after any write to users or tokens)."""
    with _verified_lock:
        _generation[0] += 1
        _VERIFIED.clear()


def _forget_on_write(_mapper: Any, _connection: Any, target: Any) -> None:
    forget_verified_tokens()
    session = object_session(target)
    if session is not None:
        session.info[_WROTE_ACCESS] = True


for _model in (User, ApiToken):
    for _action in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _action, _forget_on_write)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_writes(state: ORMExecuteState) -> None:
    """UPDATE or DELETE statements on users or tokens (not seen by the mapper events)."""
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in (User, ApiToken) for mapper in state.all_mappers
    ):
        forget_verified_tokens()
        state.session.info[_WROTE_ACCESS] = True


@event.listens_for(Session, "after_commit")
def _forget_at_commit(session: Session) -> None:
    """What another thread of this process read before this commit may be stale: forget."""
    # A mark left by a rolled-back write only costs one more forgetting, at the next commit.
    if not session.in_nested_transaction() and session.info.pop(_WROTE_ACCESS, False):
        forget_verified_tokens()


# --- administration, login, revocation ------------------------------------------------------

DEFAULT_TOKEN_DAYS = 90  # tokens for scripts and ERPs (create_user's default too)
LOGIN_TOKEN_HOURS = 12  # tokens obtained with a password, for the web pages


@dataclass(frozen=True)
class IssuedToken:
    token_id: int
    token: str  # shown once
    expires_at: datetime | None


def expiry_in(days: int | None) -> datetime | None:
    return None if not days else utcnow() + timedelta(days=days)


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    """A user the caller may manage: itself, or anyone for an admin (404 otherwise)."""
    user = session.get(User, user_id)
    if user is None or not sees_user(actor, user_id):
        raise NotFound(f"Utilisateur {user_id} introuvable.")
    return user


def list_users(session: Session, actor: Actor) -> sa.Select[tuple[User]]:
    """The users the caller sees: all of them for an admin, itself for anyone else."""
    return sa.select(User).where(visible_users(actor)).order_by(User.id)


def new_token(
    session: Session, actor: Actor, user_id: int, label: str | None, days: int | None
) -> IssuedToken:
    user = get_user(session, actor, user_id)
    secret = issue_token(session, user, label, expiry_in(days))
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    return IssuedToken(token.id, secret, token.expires_at)


def tokens_of(session: Session, actor: Actor, user_id: int) -> list[ApiToken]:
    get_user(session, actor, user_id)
    return list(
        session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
        )
    )


def revoke(session: Session, actor: Actor, token_id: int) -> None:
    """Revoke one token (its owner or an admin); revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or not sees_user(actor, token.user_id):
        raise NotFound(f"Jeton {token_id} introuvable.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    session.flush()


def revoke_all(session: Session, email: str) -> int:
    """Revoke every live token of a user (command line); returns how many."""
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        raise NotFound(f"Utilisateur « {email} » inconnu.")
    now = utcnow()
    live = session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    count = 0
    for token in live:
        token.revoked_at = now
        count += 1
    session.flush()
    return count


def login(session: Session, email: str, password: str) -> IssuedToken:
    """A short-lived token for a user's email and password (401 on any mismatch)."""
    user = session.scalar(sa.select(User).where(User.email == email))
    # Check a hash even for an unknown user, so timing does not tell which emails exist.
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
    valid = check_password_hash(stored, password)
    if user is None or not user.active or not user.password_hash or not valid:
        raise Unauthenticated("Adresse ou mot de passe incorrect.")
    secret = issue_token(session, user, "connexion", utcnow() + timedelta(hours=LOGIN_TOKEN_HOURS))
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    return IssuedToken(token.id, secret, token.expires_at)


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < 12:
        raise InvalidInput(
            "Mot de passe trop court (12 caractères au moins).",
            errors={"json": {"password": ["12 caractères au moins."]}},
        )
    user.password_hash = generate_password_hash(password, method="scrypt")
    session.flush()


_DUMMY_HASH = generate_password_hash("not-a-password-of-anyone", method="scrypt")
