from __future__ import annotations

import marshmallow as ma

from flux.domain.conventions import ReserverCategory
from flux.domain.reference import OrganisationKind


class OrganisationSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[a-z0-9][a-z0-9-]{1,63}$", error="Code : minuscules, chiffres et tirets."
        ),
    )
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    kind = ma.fields.Enum(OrganisationKind, by_value=True, required=True)
    category = ma.fields.Enum(ReserverCategory, by_value=True, allow_none=True, load_default=None)
    territory_code = ma.fields.String(
        data_key="territory",
        allow_none=True,
        load_default=None,
        validate=ma.validate.Length(min=2, max=9),
        metadata={
            "description": "Territoire représenté : code du département (État, "
            "département), code INSEE (commune) ou SIREN (EPCI, EPT)"
        },
    )
    departement_code = ma.fields.String(dump_only=True, allow_none=True)


class OrganisationFilterSchema(ma.Schema):
    kind = ma.fields.Enum(OrganisationKind, by_value=True)
    category = ma.fields.Enum(ReserverCategory, by_value=True)


class OrganisationUpdateSchema(ma.Schema):
    """What an administrator may change: the name. Code, kind, category and territory are
    what conventions, perimeters and the journal refer to: an organisation that changes them
    is a new organisation."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
