"""Allocation scopes (a landlord in a département) and their choice of rule."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.allocation import Rule
from flux.domain.eligibility import tijdeman_refusal
from flux.domain.reference import OrganisationKind
from flux.models import AllocationScope, Commune, Convention, Departement, Organisation
from flux.services import allocation_book, scope_conventions
from flux.services.access import Actor, check_scope_write, visible_conventions, visible_scope
from flux.services.allocation_book import Scope
from flux.services.errors import InvalidInput, NotFound


def list_scopes(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The scopes of the conventions the caller sees, with their rule."""
    pairs = session.execute(
        sa.select(Convention.landlord_id, Convention.departement_code)
        .where(visible_conventions(actor))
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
    """Choose the scope's allocation rule; Tijdeman's only where its bound can hold.

    404 for a scope the caller does not see (or that cannot exist: no such landlord or
    département), 403 for one it sees but may not change.
    """
    landlord = session.get(Organisation, landlord_id)
    if (
        landlord is None
        or landlord.kind is not OrganisationKind.LANDLORD
        or session.get(Departement, departement) is None
        or not session.scalar(sa.select(visible_scope(actor, landlord_id, departement)))
    ):
        raise NotFound("Périmètre d'allocation introuvable.")
    check_scope_write(actor, landlord_id)
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
