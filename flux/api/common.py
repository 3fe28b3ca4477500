"""Fields and helpers shared by the API's schemas and views."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from flux.db import db
from flux.domain.conventions import format_percent, parse_percent

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def paginated(blp: Blueprint):
    return blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)


def page_of(stmt: sa.Select[Any], pagination_parameters: Any) -> list[Any]:
    """Run a SELECT for one page, telling flask-smorest the total for X-Pagination."""
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
    )
    pagination_parameters.item_count = total
    page = stmt.limit(pagination_parameters.page_size).offset(pagination_parameters.first_item)
    return list(db.session.scalars(page))


class Percent(ma.fields.Field):
    """A percentage as a string with two decimals ("25.00"), held as integer basis points."""

    def _serialize(self, value: int | None, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_percent(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ma.ValidationError('Pourcentage attendu sous forme de chaîne, par ex. "25.00".')
        try:
            return parse_percent(str(value))
        except ValueError as error:
            raise ma.ValidationError(str(error)) from error


PERCENT_METADATA = {
    "metadata": {"type": "string", "pattern": r"^\d{1,3}(\.\d{1,2})?$", "example": "25.00"}
}


class OrganisationRef(ma.fields.Field):
    """An organisation given by its numeric id or its code (e.g. "etat-35")."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise ma.ValidationError("Identifiant numérique ou code d'organisation attendu.")
        return value


class QueryOrganisationRef(OrganisationRef):
    """An organisation in a query string, where every value is text: digits give its id."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | str:
        ref = super()._deserialize(value, attr, data, **kwargs)
        return int(ref) if isinstance(ref, str) and ref.isascii() and ref.isdigit() else ref


ORG_REF_METADATA = {
    "metadata": {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "description": "Identifiant numérique ou code de l'organisation",
    }
}
