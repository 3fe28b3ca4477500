"""Who may see and write what: the one policy module (design.md §4 invariant 8).

Services ask it for query filters (what a caller may see) and for write checks;
views never decide access themselves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from flux.domain.conventions import ReserverCategory
from flux.domain.reference import Role
from flux.models import (
    Alert,
    Commune,
    Convention,
    Dwelling,
    EtatDerogation,
    Organisation,
    User,
)
from flux.services.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """The authenticated caller."""

    user_id: int | None
    role: Role
    organisation_id: int | None
    departement: str | None = None  # prefecture staff: the département they serve
    can_write: bool = True
    request_id: str | None = None  # recorded with every journal entry the request writes

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


SYSTEM = Actor(user_id=None, role=Role.ADMIN, organisation_id=None)
"""The actor of command-line loads (demo, conventions load): full rights, no user."""


def require_writer(actor: Actor) -> None:
    if not actor.can_write:
        raise Forbidden("Votre compte est en lecture seule.")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Action réservée aux administrateurs.")


# --- dwellings -------------------------------------------------------------------------


def visible_dwellings(actor: Actor) -> sa.ColumnElement[bool]:
    kind, params = dwelling_visibility(actor)
    return _dwelling_visibility(
        kind, params.get("viewer_organisation"), params.get("viewer_departement")
    )


def dwelling_visibility(actor: Actor) -> tuple[str, dict[str, Any]]:
    """Which dwellings the caller sees, as the kind of rule and its bound parameters: for
    statements built once per kind (``dwelling_visibility_clause``), as the decision path's."""
    if actor.is_admin:
        return "all", {}
    if actor.role is Role.LANDLORD:
        return "landlord", {"viewer_organisation": actor.organisation_id}
    if actor.role is Role.PREFECTURE:
        return "departement", {"viewer_departement": actor.departement}
    return "none", {}


@functools.cache
def dwelling_visibility_clause(kind: str) -> sa.ColumnElement[bool]:
    """The rule of ``dwelling_visibility`` with its values as bound parameters."""
    return _dwelling_visibility(
        kind, sa.bindparam("viewer_organisation"), sa.bindparam("viewer_departement")
    )


def _dwelling_visibility(kind: str, organisation: Any, departement: Any) -> sa.ColumnElement[bool]:
    """In plain Core: a landlord its own stock, prefecture staff their département's, an admin
    all, anyone else none."""
    dwellings = Dwelling.__table__.c
    if kind == "all":
        return sa.true()
    if kind == "landlord":
        return dwellings.landlord_id == organisation
    if kind == "departement":
        communes = Commune.__table__
        return (
            sa.exists()
            .where(
                communes.c.insee == dwellings.commune_insee,
                communes.c.departement_code == departement,
            )
            .correlate_except(communes)  # its own communes, even in a query joining them
        )
    return sa.false()


def check_dwelling_write(actor: Actor, landlord_id: int) -> None:
    """Only the landlord itself (a writer) or an admin writes a landlord's stock."""
    require_writer(actor)
    if actor.is_admin:
        return
    if actor.role is not Role.LANDLORD or actor.organisation_id != landlord_id:
        raise Forbidden("Seul le bailleur peut modifier son patrimoine.")


# --- conventions -----------------------------------------------------------------------


def visible_derogations(actor: Actor) -> sa.ColumnElement[bool]:
    """A préfet's derogations: an admin sees all; prefecture staff their département's; a
    landlord its own; réservataires none."""
    if actor.is_admin:
        return sa.true()
    if actor.role is Role.PREFECTURE:
        return EtatDerogation.departement_code == actor.departement
    if actor.role is Role.LANDLORD:
        return EtatDerogation.landlord_id == actor.organisation_id
    return sa.false()


def visible_conventions(actor: Actor) -> sa.ColumnElement[bool]:
    if actor.is_admin:
        return sa.true()
    if actor.role is Role.LANDLORD:
        return Convention.landlord_id == actor.organisation_id
    if actor.role is Role.RESERVER:
        return Convention.reserver_id == actor.organisation_id
    if actor.role is Role.PREFECTURE:
        return Convention.departement_code == actor.departement
    return sa.false()


def check_convention_write(
    actor: Actor, landlord_id: int, reserver: Organisation, departement: str
) -> None:
    """The landlord writes its conventions; prefecture staff the État's in their département
    (their own organisation's: not the État of another département's)."""
    require_writer(actor)
    if actor.is_admin:
        return
    if actor.role is Role.LANDLORD and actor.organisation_id == landlord_id:
        return
    if (
        actor.role is Role.PREFECTURE
        and reserver.category is ReserverCategory.ETAT
        and reserver.id == actor.organisation_id
        and departement == actor.departement
    ):
        return
    raise Forbidden(
        "Seuls le bailleur signataire, la préfecture (conventions de l'État) ou un "
        "administrateur peuvent écrire cette convention."
    )


# --- allocation scopes (a landlord in a département) ------------------------------------------


def visible_scope(actor: Actor, landlord_id: int, departement: str) -> sa.ColumnElement[bool]:
    """A scope is seen by its landlord and an admin, and by whoever sees one of its conventions
    (a reserver holding a share there, the prefecture of its département)."""
    if actor.is_admin or (actor.role is Role.LANDLORD and actor.organisation_id == landlord_id):
        return sa.true()
    return (
        sa.select(Convention.id)
        .where(
            Convention.landlord_id == landlord_id,
            Convention.departement_code == departement,
            visible_conventions(actor),
        )
        .exists()
    )


def check_scope_write(actor: Actor, landlord_id: int) -> None:
    """Only the landlord (a writer) or an admin chooses the rule of the landlord's scopes."""
    require_writer(actor)
    if actor.is_admin:
        return
    if actor.role is not Role.LANDLORD or actor.organisation_id != landlord_id:
        raise Forbidden("Seul le bailleur choisit la règle d'orientation de son périmètre.")


# --- scheduled work: alerts and issued bilans --------------------------------------------------


def visible_alerts(actor: Actor) -> sa.ColumnElement[bool]:
    """Landlord and reserver: the alerts about them; prefecture: its département's; admin: all."""
    if actor.is_admin:
        return sa.true()
    if actor.role is Role.LANDLORD:
        return Alert.landlord_id == actor.organisation_id
    if actor.role is Role.RESERVER:
        return Alert.reserver_id == actor.organisation_id
    if actor.role is Role.PREFECTURE:
        return Alert.departement_code == actor.departement
    return sa.false()


def sees_bilan(actor: Actor, landlord_id: int, departement: str, reserver_id: int) -> bool:
    """A landlord's bilan for a reserver (or for an EPCI or EPT receiving it: the campaign's
    pairs, ``bilan_recipients``): theirs, their département's prefecture's, an admin's."""
    if actor.is_admin:
        return True
    if actor.role is Role.LANDLORD:
        return landlord_id == actor.organisation_id
    if actor.role is Role.RESERVER:
        return reserver_id == actor.organisation_id
    if actor.role is Role.PREFECTURE:
        return departement == actor.departement
    return False


# --- users and their tokens ----------------------------------------------------------------


def visible_users(actor: Actor) -> sa.ColumnElement[bool]:
    """An admin sees every user; anyone else only itself."""
    if actor.is_admin:
        return sa.true()
    return User.id == actor.user_id


def sees_user(actor: Actor, user_id: int) -> bool:
    """Whether the caller may read (and manage the tokens of) this user."""
    return actor.is_admin or actor.user_id == user_id


# --- a landlord's declarations in a département (deduction forecasts) -----------------------


def visible_declarations(
    actor: Actor, landlord_id: sa.ColumnElement[int], departement: sa.ColumnElement[str]
) -> sa.ColumnElement[bool]:
    """Rows about a landlord in a département (given as columns) are seen by the landlord, the
    reservers holding a convention with it there, the prefecture of the département, admins."""
    if actor.is_admin:
        return sa.true()
    if actor.role is Role.LANDLORD:
        return landlord_id == actor.organisation_id
    if actor.role is Role.PREFECTURE:
        return departement == actor.departement
    if actor.role is Role.RESERVER:
        return (
            sa.select(Convention.id)
            .where(
                Convention.reserver_id == actor.organisation_id,
                Convention.landlord_id == landlord_id,
                Convention.departement_code == departement,
            )
            .exists()
        )
    return sa.false()


def check_declaration_write(actor: Actor, landlord_id: int) -> None:
    """Only the landlord itself (a writer) or an admin declares the landlord's forecasts."""
    require_writer(actor)
    if actor.is_admin:
        return
    if actor.role is not Role.LANDLORD or actor.organisation_id != landlord_id:
        raise Forbidden("Seul le bailleur déclare ses prévisions de logements soustraits du flux.")
