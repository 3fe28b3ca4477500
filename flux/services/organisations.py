"""Organisations: landlords and reservers."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.conventions import ReserverCategory
from flux.domain.reference import OrganisationKind
from flux.models import Commune, Departement, Epci, Organisation
from flux.services.access import Actor, require_admin
from flux.services.errors import Conflict, InvalidInput, NotFound

# Categories whose territory has one organisation at most (the bilans' recipients).
_ONE_PER_TERRITORY = {ReserverCategory.EPCI, ReserverCategory.EPT}


@dataclass(frozen=True)
class NewOrganisation:
    code: str
    name: str
    kind: OrganisationKind
    category: ReserverCategory | None = None
    territory_code: str | None = None


def get_by_ref(session: Session, ref: int | str, field: str) -> Organisation:
    """An organisation by numeric id or code; InvalidInput naming `field` if unknown."""
    column = Organisation.id if isinstance(ref, int) else Organisation.code
    org = session.scalar(sa.select(Organisation).where(column == ref))
    if org is None:
        raise InvalidInput(
            f"Organisation « {ref} » inconnue.",
            errors={"json": {field: ["Organisation inconnue."]}},
        )
    return org


def get(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"Organisation {organisation_id} introuvable.")
    return org


def _territory_departement(session: Session, data: NewOrganisation) -> str | None:
    """The département a reserver's territory lies in (None for national reservers)."""
    code, category = data.territory_code, data.category
    if code is None:
        if category in {
            ReserverCategory.ETAT,
            ReserverCategory.COMMUNE,
            ReserverCategory.EPCI,
            ReserverCategory.EPT,
            ReserverCategory.DEPARTEMENT,
            ReserverCategory.METROPOLE_LYON,
            ReserverCategory.VILLE_PARIS,
        }:
            raise InvalidInput(
                f"Un réservataire « {category} » doit indiquer son territoire.",
                errors={"json": {"territory": ["Champ requis pour cette catégorie."]}},
            )
        return None
    lookup = {
        ReserverCategory.ETAT: (Departement, lambda d: d.code),
        ReserverCategory.DEPARTEMENT: (Departement, lambda d: d.code),
        ReserverCategory.COMMUNE: (Commune, lambda c: c.departement_code),
        ReserverCategory.EPCI: (Epci, lambda e: e.departement_code),
        ReserverCategory.EPT: (Epci, lambda e: e.departement_code),
        ReserverCategory.METROPOLE_LYON: (Epci, lambda e: e.departement_code),
        ReserverCategory.VILLE_PARIS: (Commune, lambda c: c.departement_code),
    }.get(category)
    if lookup is None:
        return None
    model, departement_of = lookup
    row = session.get(model, code)
    if row is None:
        raise InvalidInput(
            f"Territoire « {code} » inconnu pour un réservataire « {category} ».",
            errors={"json": {"territory": ["Territoire inconnu."]}},
        )
    return departement_of(row)


def create(session: Session, actor: Actor, data: NewOrganisation) -> Organisation:
    """Create an organisation (admins and command-line loads only); the caller commits."""
    require_admin(actor)
    if (data.kind is OrganisationKind.RESERVER) != (data.category is not None):
        raise InvalidInput(
            "Un réservataire a une catégorie ; un bailleur n'en a pas.",
            errors={"json": {"category": ["Catégorie incohérente avec le type."]}},
        )
    if session.scalar(sa.select(Organisation.id).where(Organisation.code == data.code)):
        raise Conflict(
            f"Le code d'organisation « {data.code} » est déjà pris.",
            errors={"json": {"code": ["Code déjà utilisé."]}},
        )
    if data.category in _ONE_PER_TERRITORY and session.scalar(
        sa.select(Organisation.code).where(
            Organisation.category == data.category,
            Organisation.territory_code == data.territory_code,
        )
    ):
        # The bilans of an EPCI's or EPT's territory go to the organisation that represents
        # it (R.441-5-1): two of them would split what it receives.
        raise Conflict(
            f"Le territoire « {data.territory_code} » a déjà son organisation de catégorie "
            f"« {data.category} ».",
            errors={"json": {"territory": ["Territoire déjà représenté."]}},
        )
    org = Organisation(
        code=data.code,
        name=data.name,
        kind=data.kind,
        category=data.category,
        territory_code=data.territory_code,
        departement_code=_territory_departement(session, data),
    )
    session.add(org)
    session.flush()
    return org


def rename(session: Session, actor: Actor, organisation_id: int, name: str) -> Organisation:
    """Change an organisation's name (administrators). Its code, kind, category and territory
    stay: conventions, perimeters, users and the journal are keyed on them. Audited like every
    write of an organisation; the caller commits."""
    require_admin(actor)
    org = get(session, organisation_id)
    name = name.strip()
    if not name:
        raise InvalidInput(
            "Le nom ne peut pas être vide.", errors={"json": {"name": ["Champ requis."]}}
        )
    org.name = name
    session.flush()
    return org
