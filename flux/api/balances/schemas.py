from __future__ import annotations

import marshmallow as ma

from flux import clock
from flux.api.common import ID_SCHEMA, QueryOrganisationRef
from flux.api.conventions.schemas import SANE_DATES
from flux.api.vacancies.schemas import QueryConventionRef, QueryShareRef

YEARS = ma.validate.Range(2000, 2100)


_REF = {"oneOf": [ID_SCHEMA, {"type": "string"}]}


class ShareFiltersSchema(ma.Schema):
    """The filters /balances and /balances/monthly share (within what the caller may see);
    codes are accepted wherever ids are."""

    landlord = QueryOrganisationRef(
        metadata={**_REF, "description": "Bailleur (identifiant ou code)"}
    )
    departement = ma.fields.String(metadata={"description": "Département (code)"})
    reserver = QueryOrganisationRef(
        metadata={**_REF, "description": "Réservataire (identifiant ou code)"}
    )
    convention = QueryConventionRef(
        metadata={**_REF, "description": "Convention (identifiant ou référence)"}
    )
    share = QueryShareRef(
        metadata={**_REF, "description": "Part (identifiant, ou « référence/code »)"}
    )


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


class BilanFiguresSchema(ma.Schema):
    """The bilan's figures beside the engine's (equal to the annual report's, share by share)."""

    proposed = ma.fields.Integer(
        metadata={"description": "Logements mis à disposition (orientation ou réorientation)"}
    )
    attributions = ma.fields.Integer(metadata={"description": "Attribués en CALEOL"})
    leases = ma.fields.Integer(metadata={"description": "Baux signés"})
    taken_back_counted = ma.fields.Integer(
        metadata={"description": "Repris par le bailleur (carence, reprise), comptés"}
    )
    taken_back_not_counted = ma.fields.Integer(
        metadata={"description": "Repris par le bailleur, non comptés"}
    )
    counting_event = ma.fields.String(
        metadata={"description": "Fait générateur : orientation, attribution ou lease"}
    )
    counted = ma.fields.Integer(metadata={"description": "Réalisé compté selon le fait générateur"})
    gap_counted = ma.fields.String(metadata={"description": "Réalisé compté − objectif"})
    gap_counted_units = ma.fields.Integer(metadata={"description": "Idem, en unités (10 000 = 1)"})
    completion_rate = ma.fields.String(
        allow_none=True,
        metadata={"description": "Réalisé compté / objectif, en % à deux décimales"},
    )


class PercentPointSchema(ma.Schema):
    from_ = ma.fields.Date(data_key="from", attribute="from")
    basis_points = ma.fields.Integer()
    percent = ma.fields.String()


class BalanceSchema(ShareIdentitySchema, FiguresSchema, BilanFiguresSchema):
    as_of = ma.fields.Date()
    landlord = ma.fields.Dict(metadata={"description": "Bailleur : id, code, nom"})
    share_code = ma.fields.String(allow_none=True)
    basis_points = ma.fields.Integer(allow_none=True)
    percent = ma.fields.String(
        allow_none=True, metadata={"description": "Pourcentage en vigueur à la date d'arrêté"}
    )
    percent_history = ma.fields.List(
        ma.fields.Nested(PercentPointSchema),
        metadata={"description": "Pourcentages successifs dans l'année (avenants), datés"},
    )
    sub_targets = ma.fields.List(ma.fields.Nested(SubTargetSchema))


class TotalSchema(ma.Schema):
    shares = ma.fields.Integer(metadata={"description": "Parts additionnées"})
    target = ma.fields.String()
    target_units = ma.fields.Integer()
    realised = ma.fields.Integer()
    proposed = ma.fields.Integer()
    attributions = ma.fields.Integer()
    leases = ma.fields.Integer()
    taken_back_counted = ma.fields.Integer()
    taken_back_not_counted = ma.fields.Integer()
    counted = ma.fields.Integer()
    gap_counted = ma.fields.String()
    completion_rate = ma.fields.String(allow_none=True)


class ReserverTotalSchema(TotalSchema):
    reserver = ma.fields.Dict()


class LandlordTotalSchema(TotalSchema):
    landlord = ma.fields.Dict()


class TotalsSchema(ma.Schema):
    reservers = ma.fields.List(ma.fields.Nested(ReserverTotalSchema))
    landlords = ma.fields.List(
        ma.fields.Nested(LandlordTotalSchema),
        metadata={"description": "Parts et part non réservée de chaque bailleur"},
    )


class MonthPointSchema(FiguresSchema, BilanFiguresSchema):
    month = ma.fields.String(metadata={"description": "Mois (AAAA-MM)"})
    basis_points = ma.fields.Integer(allow_none=True)
    percent = ma.fields.String(
        allow_none=True, metadata={"description": "Pourcentage en vigueur ce jour-là"}
    )
    as_of = ma.fields.Date(
        metadata={"description": "Dernier jour du mois ; aujourd'hui pour le mois en cours"}
    )


class BalanceSeriesSchema(ShareIdentitySchema):
    share_code = ma.fields.String(allow_none=True)
    months = ma.fields.List(
        ma.fields.Nested(MonthPointSchema),
        metadata={"description": "Cumul depuis le 1er janvier, fin de mois par fin de mois"},
    )
