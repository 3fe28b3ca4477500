from __future__ import annotations

from typing import Any

import marshmallow as ma

from flux.api.common import ID_SCHEMA, OrganisationRef
from flux.domain.deduction_forecasts import MAX_FORECAST
from flux.domain.reference import DeductionCategory
from flux.services import deduction_forecasts

CATEGORY_LIST = ", ".join(category.value for category in DeductionCategory)
YEARS = ma.validate.Range(2000, 2100)
DEPARTEMENT = ma.validate.Regexp(
    r"^[0-9][0-9AB][0-9]?$", error="Code de département invalide (par ex. « 31 », « 2A », « 974 »)."
)


def _count(description: str) -> ma.fields.Integer:
    return ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(0, MAX_FORECAST),
        metadata={"description": description},
    )


class ForecastFiguresSchema(ma.Schema):
    """Logements que le bailleur prévoit de soustraire du flux, par catégorie (domain.md §3)."""

    internal_transfer = _count("Mutations internes dans le patrimoine du bailleur")
    urban_renewal = _count("Relogements d'opérations de renouvellement urbain (ANRU, NPNRU)")
    degraded_condo = _count("Relogements d'opérations ORCOD (copropriétés dégradées)")
    unfit_housing = _count("Relogements au titre de l'habitat indigne (L.521-3-1 à L.521-3-3)")
    sale = _count("Relogements liés à la vente de logements sociaux")

    class Meta:
        unknown = ma.EXCLUDE  # unknown categories are named below, with the other errors

    @ma.validates_schema(pass_original=True, skip_on_field_errors=False)
    def _known_categories(self, _data: Any, original: Any, **kwargs: Any) -> None:
        if isinstance(original, dict):
            unknown = [key for key in original if key not in self.fields]
            if unknown:
                raise ma.ValidationError(
                    {
                        str(key): [f"Catégorie inconnue ; catégories : {CATEGORY_LIST}."]
                        for key in unknown
                    }
                )


class NewForecastsSchema(ma.Schema):
    landlord = OrganisationRef(
        load_default=None,
        metadata={
            "oneOf": [ID_SCHEMA, {"type": "string"}],
            "description": "Bailleur, par son identifiant ou son code (administrateurs) ; "
            "par défaut le vôtre",
        },
    )
    departement = ma.fields.String(required=True, validate=DEPARTEMENT)
    year = ma.fields.Integer(
        required=True,
        strict=True,
        validate=YEARS,
        metadata={"description": "Année prévue (de 2020 à l'année prochaine)"},
    )
    forecasts = ma.fields.Nested(
        ForecastFiguresSchema,
        required=True,
        validate=ma.validate.Length(min=1, error=f"Au moins une catégorie : {CATEGORY_LIST}."),
        metadata={
            "description": "Nombre de logements par catégorie ; une catégorie absente garde sa "
            "prévision (ou reste non déclarée)"
        },
    )


class ForecastSchema(ma.Schema):
    id = ma.fields.Integer()
    landlord_id = ma.fields.Integer()
    departement = ma.fields.String(attribute="departement_code")
    year = ma.fields.Integer()
    category = ma.fields.Enum(DeductionCategory, by_value=True)
    forecast = ma.fields.Integer(metadata={"description": "Logements prévus"})
    declared_by = ma.fields.Integer(
        allow_none=True, metadata={"description": "Utilisateur de la dernière déclaration"}
    )
    declared_at = ma.fields.DateTime(metadata={"description": "Dernière déclaration (UTC)"})
    late = ma.fields.Function(
        deduction_forecasts.is_late,
        metadata={
            "type": "boolean",
            "description": "Chiffre en vigueur déclaré après le 28 février de l'année",
        },
    )


class ForecastFilterSchema(ma.Schema):
    year = ma.fields.Integer(validate=YEARS)
    landlord = ma.fields.Integer()
    departement = ma.fields.String()
    category = ma.fields.Enum(DeductionCategory, by_value=True)
