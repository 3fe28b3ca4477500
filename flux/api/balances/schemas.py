from __future__ import annotations

from datetime import date

import marshmallow as ma

from flux.api.conventions.schemas import SANE_DATES


class BalanceQuerySchema(ma.Schema):
    as_of = ma.fields.Date(
        load_default=date.today,
        validate=SANE_DATES,
        metadata={"description": "Date d'arrêté (défaut : aujourd'hui)"},
    )
    year = ma.fields.Integer(
        validate=ma.validate.Range(2000, 2100),
        metadata={"description": "Année (défaut : celle de as_of)"},
    )
    landlord = ma.fields.Integer()
    departement = ma.fields.String()
    reserver = ma.fields.Integer()
    convention = ma.fields.Integer()
    share = ma.fields.Integer()


class FiguresSchema(ma.Schema):
    eligible = ma.fields.Integer(
        metadata={"description": "Libérations pour lesquelles la part était éligible"}
    )
    target = ma.fields.String(metadata={"description": "Objectif (logements, deux décimales)"})
    target_units = ma.fields.Integer(metadata={"description": "Objectif exact (10 000 = 1)"})
    realised = ma.fields.Integer(metadata={"description": "Orientations comptées"})
    gap = ma.fields.String(metadata={"description": "Réalisé − objectif"})
    carry_in = ma.fields.String(metadata={"description": "Report de l'année précédente"})


class SubTargetSchema(FiguresSchema):
    key = ma.fields.String(metadata={"description": "commune:INSEE, typology:T3, qpv:in|out"})


class BalanceSchema(FiguresSchema):
    share_id = ma.fields.Integer(allow_none=True)
    landlord_part = ma.fields.Boolean()
    label = ma.fields.String()
    convention_id = ma.fields.Integer()
    convention_reference = ma.fields.String()
    reserver = ma.fields.Dict()
    landlord_id = ma.fields.Integer()
    departement = ma.fields.String()
    year = ma.fields.Integer()
    as_of = ma.fields.Date()
    sub_targets = ma.fields.List(ma.fields.Nested(SubTargetSchema))
