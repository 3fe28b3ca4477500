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
# Ids are 32-bit integer columns: the document declares these bounds on every id a request
# carries (bodies and query strings) and the schemas enforce them (422 naming the field).
MAX_ID = 2**31 - 1
ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
ID_ERROR = f"Identifiant attendu : un entier de 1 à {MAX_ID}."


MAX_JOURNAL_ID = 2**63 - 1  # journal entries have 64-bit ids


def id_field(*, maximum: int = MAX_ID, **kwargs: Any) -> ma.fields.Integer:
    """An integer id in a request: 1 to `maximum`, declared so in the OpenAPI document."""
    error = f"Identifiant attendu : un entier de 1 à {maximum}."
    return ma.fields.Integer(validate=ma.validate.Range(1, maximum, error=error), **kwargs)


def check_id(value: int | str) -> int | str:
    """An id-or-code already parsed: an integer must be a possible id."""
    if isinstance(value, int) and not 1 <= value <= MAX_ID:
        raise ma.ValidationError(ID_ERROR)
    return value


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
        return check_id(value)


class QueryOrganisationRef(OrganisationRef):
    """An organisation in a query string, where every value is text: digits give its id."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | str:
        ref = super()._deserialize(value, attr, data, **kwargs)
        return check_id(
            int(ref) if isinstance(ref, str) and ref.isascii() and ref.isdigit() else ref
        )


ORG_REF_METADATA = {
    "metadata": {
        "oneOf": [ID_SCHEMA, {"type": "string"}],
        "description": "Identifiant numérique ou code de l'organisation",
    }
}
