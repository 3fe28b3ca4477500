from __future__ import annotations

import marshmallow as ma

from flux import clock
from flux.api.conventions.schemas import SANE_DATES

YEARS = ma.validate.Range(2000, 2100)


class ShareFiltersSchema(ma.Schema):
    """The filters /balances and /balances/monthly share (within what the caller may see)."""

    landlord = ma.fields.Integer(metadata={"description": "Bailleur (identifiant)"})
    departement = ma.fields.String(metadata={"description": "Département (code)"})
    reserver = ma.fields.Integer(metadata={"description": "Réservataire (identifiant)"})
    convention = ma.fields.Integer(metadata={"description": "Convention (identifiant)"})
    share = ma.fields.Integer(metadata={"description": "Part (identifiant)"})


class BalanceQuerySchema(ShareFiltersSchema):
    as_of = ma.fields.Date(
        load_default=clock.today,  # Paris time, as every business date
        validate=SANE_DATES,
        metadata={"description": "Date d'arrêté (défaut : aujourd'hui)"},
    )
    year = ma.fields.Integer(
        validate=YEARS,
        metadata={"description": "Année (défaut : celle de as_of)"},
    )


class SeriesQuerySchema(ShareFiltersSchema):
    year = ma.fields.Integer(
        validate=YEARS, metadata={"description": "Année (défaut : l'année en cours)"}
    )


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


class ShareIdentitySchema(ma.Schema):
    share_id = ma.fields.Integer(allow_none=True)
    landlord_part = ma.fields.Boolean()
    label = ma.fields.String()
    convention_id = ma.fields.Integer()
    convention_reference = ma.fields.String()
    reserver = ma.fields.Dict()
    landlord_id = ma.fields.Integer()
    departement = ma.fields.String()
    year = ma.fields.Integer()


class BalanceSchema(ShareIdentitySchema, FiguresSchema):
    as_of = ma.fields.Date()
    sub_targets = ma.fields.List(ma.fields.Nested(SubTargetSchema))


class MonthPointSchema(FiguresSchema):
    month = ma.fields.String(metadata={"description": "Mois (AAAA-MM)"})
    as_of = ma.fields.Date(
        metadata={"description": "Dernier jour du mois ; aujourd'hui pour le mois en cours"}
    )


class BalanceSeriesSchema(ShareIdentitySchema):
    months = ma.fields.List(
        ma.fields.Nested(MonthPointSchema),
        metadata={"description": "Cumul depuis le 1er janvier, fin de mois par fin de mois"},
    )
