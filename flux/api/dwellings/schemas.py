from __future__ import annotations

import marshmallow as ma

from flux.api.common import ORG_REF_METADATA, OrganisationRef, QueryOrganisationRef
from flux.domain.reference import Financing, OutOfFluxReason, Typology

_YEARS = ma.validate.Range(min=1800, max=2100, error="Année entre 1800 et 2100.")


class DwellingSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    landlord = OrganisationRef(load_only=True, **ORG_REF_METADATA)
    landlord_id = ma.fields.Integer(dump_only=True)
    rpls_id = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[A-Za-z0-9]{1,20}$", error="Identifiant RPLS : 1 à 20 lettres ou chiffres."
        ),
    )
    commune = ma.fields.String(
        required=True,
        attribute="commune_insee",
        data_key="commune",
        validate=ma.validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$", error="Code INSEE invalide."),
    )
    qpv = ma.fields.String(attribute="qpv_code", data_key="qpv", allow_none=True, load_default=None)
    typology = ma.fields.Enum(Typology, by_value=True, required=True)
    financing = ma.fields.Enum(Financing, by_value=True, required=True)
    construction_year = ma.fields.Integer(required=True, strict=False, validate=_YEARS)
    out_of_flux = ma.fields.Enum(OutOfFluxReason, by_value=True, allow_none=True, load_default=None)
    in_flux = ma.fields.Method("_in_flux", dump_only=True)
    sold_on = ma.fields.Date(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Date de cession à un autre bailleur (hors du patrimoine) ; "
            "absent si le logement n'a pas été cédé"
        },
    )

    @ma.post_dump
    def _sold_only(self, data, **kwargs):
        if data.get("sold_on", "") is None:
            del data["sold_on"]
        return data

    def _in_flux(self, dwelling) -> bool:
        return dwelling.out_of_flux is None and getattr(dwelling, "sold_on", None) is None

    @ma.post_load
    def _names(self, data, **kwargs):
        # Services speak the API's names (commune, qpv), not the column names.
        if "commune_insee" in data:
            data["commune"] = data.pop("commune_insee")
        if "qpv_code" in data:
            data["qpv"] = data.pop("qpv_code") or None
        return data


class DwellingUpdateSchema(DwellingSchema):
    class Meta:
        exclude = ("landlord", "rpls_id")


class DwellingFilterSchema(ma.Schema):
    landlord = ma.fields.Integer()
    commune = ma.fields.String()
    qpv = ma.fields.String(metadata={"description": "Code QPV, ou « aucun » hors QPV"})
    in_flux = ma.fields.Boolean()
    rpls_id = ma.fields.String()


class ImportQuerySchema(ma.Schema):
    landlord = QueryOrganisationRef(
        metadata={
            "type": "string",
            "description": "Bailleur, par son identifiant ou son code (administrateurs) ; "
            "par défaut le vôtre",
        }
    )
    dry_run = ma.fields.Boolean(
        load_default=False, metadata={"description": "Valider sans rien écrire"}
    )


class ImportFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportReportSchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    dry_run = ma.fields.Boolean()


class DwellingTransferSchema(ma.Schema):
    """The sale of a dwelling to another landlord (an RPLS id belongs to one at a time)."""

    landlord = OrganisationRef(required=True, **ORG_REF_METADATA)
    on = ma.fields.Date(required=True, metadata={"description": "Date de la cession"})
