"""Users and API tokens: creation and authentication by bearer token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from flux.domain.reference import OrganisationKind, Role
from flux.models import ApiToken, Organisation, User
from flux.models.types import utcnow
from flux.services.access import Actor
from flux.services.errors import Conflict, InvalidInput, NotFound

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
        raise InvalidInput(f"Le rôle « {role} » exige une organisation (--org).")
    org = session.scalar(sa.select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise NotFound(f"Organisation « {org_code} » inconnue.")
    expected = {
        Role.LANDLORD: OrganisationKind.LANDLORD,
        Role.RESERVER: OrganisationKind.RESERVER,
        Role.PREFECTURE: OrganisationKind.RESERVER,
    }.get(role)
    if expected is not None and org.kind is not expected:
        raise InvalidInput(f"Le rôle « {role} » ne convient pas à l'organisation « {org_code} ».")
    if role is Role.PREFECTURE and (org.category != "etat" or org.departement_code is None):
        raise InvalidInput("Le rôle « prefecture » exige une organisation État d'un département.")
    return org


def create_user(
    session: Session,
    *,
    email: str,
    role: Role,
    org_code: str | None = None,
    password: str | None = None,
    can_write: bool = True,
    token_label: str | None = None,
) -> CreatedUser:
    """Create a user with one API token; the caller commits."""
    if session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"Un utilisateur « {email} » existe déjà.")
    org = _organisation_for_role(session, role, org_code)
    user = User(
        email=email,
        role=role,
        organisation_id=org.id if org else None,
        can_write=can_write,
        password_hash=generate_password_hash(password, method="scrypt") if password else None,
    )
    session.add(user)
    session.flush()
    return CreatedUser(user.id, email, issue_token(session, user, token_label))


def issue_token(
    session: Session, user: User, label: str | None = None, expires_at: datetime | None = None
) -> str:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, token_hash=hash_token(secret), label=label, expires_at=expires_at)
    )
    session.flush()
    return secret


def actor_for_token(session: Session, secret: str) -> Actor | None:
    """The actor a bearer token stands for, or None if unknown, expired, revoked or inactive."""
    row = session.execute(
        sa.select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(secret))
    ).one_or_none()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    departement = None
    if user.role is Role.PREFECTURE and user.organisation is not None:
        departement = user.organisation.departement_code
    return Actor(
        user_id=user.id,
        role=user.role,
        organisation_id=user.organisation_id,
        departement=departement,
        can_write=user.can_write,
    )
