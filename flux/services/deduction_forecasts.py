"""Deduction forecasts: the landlord declares, for a year and a département, how many vacancies it
expects to deduct from the flux base in each category (domain.md §3); the reservers holding a
convention with it there, the prefecture and the bilan read them.

A figure declared again replaces the one in force (the audit records keep the earlier ones);
declaring the figures in force again changes nothing. Once the year is closed for the scope its
forecasts are frozen with its bilan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import deduction_forecasts as rules
from flux.domain.reference import DeductionCategory, OrganisationKind, Role
from flux.models import (
    Commune,
    Convention,
    DeductionForecast,
    Departement,
    Dwelling,
    Organisation,
)
from flux.models.types import utcnow
from flux.services import allocation_book, organisations
from flux.services.access import Actor, check_declaration_write, visible_declarations
from flux.services.allocation_book import Scope
from flux.services.errors import Conflict, InvalidInput

CATEGORIES = ", ".join(category.value for category in DeductionCategory)


@dataclass(frozen=True)
class NewForecasts:
    departement: str
    year: int
    forecasts: Mapping[str, int]  # category value -> dwellings
    landlord: int | str | None = None  # id or code; by default the calling landlord


@dataclass(frozen=True)
class Declared:
    rows: list[DeductionForecast]  # every category declared for the landlord × département × year
    changed: list[DeductionCategory]  # what this declaration changed (empty: nothing)


@dataclass(frozen=True)
class ForecastFilters:
    year: int | None = None
    landlord: int | None = None
    departement: str | None = None
    category: DeductionCategory | None = None


def declare(
    session: Session,
    actor: Actor,
    data: NewForecasts,
    today: date | None = None,
    declared_at: datetime | None = None,
) -> Declared:
    """Record a landlord's forecasts for a year in a département; the caller commits.

    ``declared_at`` (UTC, default now, never later than now): when the figures reached the
    reservers, for a history loaded after the fact (the demo's declarations of January); the
    ``late`` flag is read from it.

    403 unless the caller is the landlord (a writer) or an admin; 422, changing nothing, for an
    unknown landlord, département or category, a negative count, a year out of range, or a
    département where the landlord has neither dwellings nor conventions; 409 for a change to a
    year already closed for the scope.
    """
    landlord = _landlord(session, actor, data.landlord)
    declared = _checked(session, landlord, data, today or clock.today())
    scope = Scope(landlord.id, data.departement)
    allocation_book.lock(session, scope)  # serialises with the year close and other declarations
    current = {row.category: row for row in _rows(session, scope, data.year)}
    changed = rules.changes(declared, {c: row.forecast for c, row in current.items()})
    if changed and allocation_book.closed_through(session, scope, data.year) is not None:
        raise Conflict(
            f"L'année {data.year} est clôturée pour ce bailleur dans ce département : ses "
            "prévisions de logements soustraits du flux sont arrêtées avec son bilan.",
            extra={"year": data.year, "changed": [c.value for c in changed]},
        )
    now = utcnow() if declared_at is None else min(declared_at, utcnow())
    for category, forecast in changed.items():
        row = current.get(category)
        if row is None:
            row = DeductionForecast(
                landlord_id=landlord.id,
                departement_code=data.departement,
                year=data.year,
                category=category,
            )
            session.add(row)
        row.forecast, row.declared_by, row.declared_at = forecast, actor.user_id, now
    session.flush()
    return Declared(_rows(session, scope, data.year), list(changed))


def visible_query(actor: Actor, filters: ForecastFilters) -> sa.Select[tuple[DeductionForecast]]:
    """The forecasts the caller may read, filtered, by year, landlord, département, category."""
    stmt = sa.select(DeductionForecast).where(
        visible_declarations(
            actor, DeductionForecast.landlord_id, DeductionForecast.departement_code
        )
    )
    if filters.year is not None:
        stmt = stmt.where(DeductionForecast.year == filters.year)
    if filters.landlord is not None:
        stmt = stmt.where(DeductionForecast.landlord_id == filters.landlord)
    if filters.departement is not None:
        stmt = stmt.where(DeductionForecast.departement_code == filters.departement)
    if filters.category is not None:
        stmt = stmt.where(DeductionForecast.category == filters.category)
    return stmt.order_by(
        DeductionForecast.year,
        DeductionForecast.landlord_id,
        DeductionForecast.departement_code,
        _law_order(),
    )


def visible(session: Session, actor: Actor, filters: ForecastFilters) -> list[DeductionForecast]:
    """Landlord: its own; reserver: those of the landlords × départements where it holds a
    convention; prefecture: its département's; admin: all."""
    return list(session.scalars(visible_query(actor, filters)))


def forecasts(session: Session, landlord_id: int, departement: str, year: int) -> dict[str, int]:
    """The figures in force for a scope's year, by category value; a category never declared is
    absent (not zero). No access check: the caller (the bilan) has made its own."""
    rows = session.execute(
        sa.select(DeductionForecast.category, DeductionForecast.forecast).where(
            DeductionForecast.landlord_id == landlord_id,
            DeductionForecast.departement_code == departement,
            DeductionForecast.year == year,
        )
    )
    return {DeductionCategory(category).value: forecast for category, forecast in rows}


def is_late(row: DeductionForecast) -> bool:
    """Whether the figure in force reached the reservers after the deadline (Paris date)."""
    return rules.is_late(row.year, row.declared_at.astimezone(clock.PARIS).date())


# --- helpers ---------------------------------------------------------------------------------


def _landlord(session: Session, actor: Actor, ref: int | str | None) -> Organisation:
    if ref is None and actor.role is Role.LANDLORD:
        ref = actor.organisation_id
    landlord = None if ref is None else organisations.get_by_ref(session, ref, "landlord")
    check_declaration_write(actor, landlord.id if landlord is not None else None)
    if landlord is None:  # an admin must say whose forecasts these are
        raise InvalidInput(
            "Indiquez le bailleur.", errors={"json": {"landlord": ["Champ requis."]}}
        )
    if landlord.kind is not OrganisationKind.LANDLORD:
        raise InvalidInput(
            f"« {landlord.code} » n'est pas un bailleur.",
            errors={"json": {"landlord": ["Ce n'est pas un bailleur."]}},
        )
    return landlord


def _checked(
    session: Session, landlord: Organisation, data: NewForecasts, today: date
) -> dict[DeductionCategory, int]:
    """The declared figures by category, or InvalidInput naming every faulty field."""
    errors: dict[str, Any] = {}
    if session.get(Departement, data.departement) is None:
        errors["departement"] = [f"Département « {data.departement} » inconnu."]
    elif not _present(session, landlord.id, data.departement):
        errors["departement"] = ["Ce bailleur n'a ni logement ni convention dans ce département."]
    refusal = rules.year_refusal(data.year, today)
    if refusal:
        errors["year"] = [refusal]
    declared: dict[DeductionCategory, int] = {}
    by_category: dict[str, list[str]] = {}
    for key, forecast in data.forecasts.items():
        try:
            category = DeductionCategory(key)
        except ValueError:
            by_category[str(key)] = [f"Catégorie inconnue ; catégories : {CATEGORIES}."]
            continue
        refusal = rules.count_refusal(forecast)
        if refusal:
            by_category[category.value] = [refusal]
        else:
            declared[category] = forecast
    if by_category:
        errors["forecasts"] = by_category
    elif not data.forecasts:
        errors["forecasts"] = [f"Au moins une catégorie : {CATEGORIES}."]
    if errors:
        raise InvalidInput("Prévision invalide : rien n'a été enregistré.", errors={"json": errors})
    return declared


def _present(session: Session, landlord_id: int, departement: str) -> bool:
    """Whether the landlord has dwellings or conventions in the département."""
    dwellings = (
        sa.select(Dwelling.id)
        .join(Commune, Commune.insee == Dwelling.commune_insee)
        .where(Dwelling.landlord_id == landlord_id, Commune.departement_code == departement)
    )
    conventions = sa.select(Convention.id).where(
        Convention.landlord_id == landlord_id, Convention.departement_code == departement
    )
    return bool(session.scalar(sa.select(sa.or_(dwellings.exists(), conventions.exists()))))


def _rows(session: Session, scope: Scope, year: int) -> list[DeductionForecast]:
    return list(
        session.scalars(
            sa.select(DeductionForecast)
            .where(
                DeductionForecast.landlord_id == scope.landlord_id,
                DeductionForecast.departement_code == scope.departement,
                DeductionForecast.year == year,
            )
            .order_by(_law_order())
        )
    )


def _law_order() -> sa.Case[int]:
    """Categories in the order of the law's list (domain.md §3), not alphabetically."""
    return sa.case(
        {category: index for index, category in enumerate(DeductionCategory)},
        value=DeductionForecast.category,
    )
