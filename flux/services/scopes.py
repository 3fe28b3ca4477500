"""Allocation scopes (a landlord in a département) and their choice of rule."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.allocation import Rule
from flux.domain.eligibility import tijdeman_refusal
from flux.domain.reference import Role
from flux.models import AllocationScope, Commune, Convention, Departement, Organisation
from flux.services import allocation_book, scope_conventions
from flux.services.access import Actor, require_writer
from flux.services.allocation_book import Scope
from flux.services.errors import Forbidden, InvalidInput, NotFound


def visible(actor: Actor) -> sa.ColumnElement[bool]:
    if actor.is_admin:
        return sa.true()
    if actor.role is Role.LANDLORD:
        return Convention.landlord_id == actor.organisation_id
    if actor.role is Role.PREFECTURE:
        return Convention.departement_code == actor.departement
    return sa.false()


def list_scopes(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Scopes where the caller's landlord(s) have conventions, with their rule."""
    pairs = session.execute(
        sa.select(Convention.landlord_id, Convention.departement_code)
        .where(visible(actor))
        .distinct()
        .order_by(Convention.landlord_id, Convention.departement_code)
    ).all()
    rules = {
        (s.landlord_id, s.departement_code): s.rule
        for s in session.scalars(sa.select(AllocationScope))
    }
    return [
        {
            "landlord_id": landlord,
            "departement": departement,
            "rule": Rule(rules.get((landlord, departement), Rule.LARGEST_DEFICIT.value)),
        }
        for landlord, departement in pairs
    ]


def set_rule(
    session: Session, actor: Actor, landlord_id: int, departement: str, rule: Rule
) -> dict[str, Any]:
    """Choose the scope's allocation rule; Tijdeman's only where its bound can hold."""
    require_writer(actor)
    if (
        session.get(Organisation, landlord_id) is None
        or session.get(Departement, departement) is None
    ):
        raise NotFound("Périmètre d'allocation introuvable.")
    if not actor.is_admin and not (
        actor.role is Role.LANDLORD and actor.organisation_id == landlord_id
    ):
        if actor.role is Role.LANDLORD:
            raise NotFound("Périmètre d'allocation introuvable.")
        raise Forbidden("Seul le bailleur choisit la règle d'orientation de son périmètre.")
    scope = Scope(landlord_id, departement)
    allocation_book.lock(session, scope)
    if rule is Rule.TIJDEMAN:
        views = scope_conventions.load(session, landlord_id, departement).views
        communes = frozenset(
            session.scalars(sa.select(Commune.insee).where(Commune.departement_code == departement))
        )
        reason = tijdeman_refusal(views, communes)
        if reason:
            raise InvalidInput(reason, errors={"json": {"rule": [reason]}})
    row = session.get_one(AllocationScope, (landlord_id, departement))
    row.rule = rule.value  # through the ORM, so that the change is audited
    session.flush()
    return {"landlord_id": landlord_id, "departement": departement, "rule": rule}
