"""The préfet's derogations to the État's caps (R.441-5-2 I al.2): dated arrêtés, at most one
year each, that lift the 30 % / 5 % caps for a landlord in a département during their period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain import conventions as rules
from flux.domain.reference import OrganisationKind, Role
from flux.models import Departement, EtatDerogation, Organisation
from flux.services.access import Actor, require_writer, visible_derogations
from flux.services.errors import Forbidden, InvalidInput, NotFound


def listing(session: Session, actor: Actor) -> list[EtatDerogation]:
    return list(
        session.scalars(
            sa.select(EtatDerogation).where(visible_derogations(actor)).order_by(EtatDerogation.id)
        )
    )


def in_force(session: Session, landlord_id: int, departement: str) -> list[rules.Derogation]:
    """Every derogation of the landlord in the département, as the cap check reads them."""
    return [
        as_terms(row)
        for row in session.scalars(
            sa.select(EtatDerogation)
            .where(
                EtatDerogation.landlord_id == landlord_id,
                EtatDerogation.departement_code == departement,
            )
            .order_by(EtatDerogation.starts_on)
        )
    ]


def as_terms(row: EtatDerogation) -> rules.Derogation:
    return rules.Derogation(
        row.arrete_reference, row.starts_on, row.ends_on, row.etat_cap_bp, row.agents_cap_bp
    )


def create(session: Session, actor: Actor, data: Mapping[str, Any]) -> EtatDerogation:
    """Record a préfet's arrêté (prefecture staff of the département, or an admin)."""
    require_writer(actor)
    landlord = session.get(Organisation, data["landlord"])
    if landlord is None or landlord.kind is not OrganisationKind.LANDLORD:
        raise NotFound("Bailleur introuvable.")
    if session.get(Departement, data["departement"]) is None:
        raise InvalidInput(
            f"Département « {data['departement']} » inconnu.",
            errors={"json": {"departement": ["Département inconnu."]}},
        )
    if not actor.is_admin and not (
        actor.role is Role.PREFECTURE and actor.departement == data["departement"]
    ):
        raise Forbidden(
            "Seule la préfecture du département (ou un administrateur) enregistre un arrêté "
            "de dérogation aux plafonds de l'État."
        )
    row = EtatDerogation(
        landlord_id=landlord.id,
        departement_code=data["departement"],
        arrete_reference=data["arrete_reference"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        etat_cap_bp=data["etat_cap"],
        agents_cap_bp=data["agents_cap"],
        created_by_user_id=actor.user_id,
    )
    try:
        rules.check_derogation(as_terms(row))
    except rules.ConventionRuleViolation as error:
        raise InvalidInput(
            error.message,
            errors={"json": {error.field or "ends_on": [error.message]}},
            extra={"rule": error.rule, **error.figures},
        ) from error
    session.add(row)
    session.flush()
    return row
