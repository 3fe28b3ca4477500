from __future__ import annotations

import re
from decimal import Decimal

import marshmallow as ma

from flux.api.common import ORG_REF_METADATA, OrganisationRef, QueryOrganisationRef
from flux.domain.reference import Financing, OutOfFluxReason, Typology

_YEARS = ma.validate.Range(min=1800, max=2100, error="Année entre 1800 et 2100.")
_YES = {True, "true", "True", "1", "oui", "Oui", "OUI"}
_NO = {False, "false", "False", "0", "non", "Non", "NON"}


class Hundredths(ma.fields.Field):
    """An amount with two decimals ("512.30" euros, "65.40" m²), held as an integer number of
    hundredths (no float); "," is accepted as the decimal mark (French CSV files)."""

    def __init__(self, *, maximum: int, **kwargs):
        super().__init__(**kwargs)
        self.maximum = maximum

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value // 100}.{value % 100:02d}"

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ma.ValidationError('Montant attendu sous forme de chaîne, par ex. "512.30".')
        text = str(value).strip().replace(",", ".")
        if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,2})?", text, re.ASCII):
            raise ma.ValidationError("Nombre positif à deux décimales au plus attendu.")
        hundredths = int((Decimal(text) * 100).to_integral_value())
        if hundredths > self.maximum:
            raise ma.ValidationError(f"Valeur trop grande (au plus {self.maximum // 100}).")
        return hundredths


def _hundredths(description: str, maximum: int) -> Hundredths:
    return Hundredths(
        maximum=maximum,
        allow_none=True,
        metadata={
            "type": "string",
            "pattern": r"^[0-9]+([.,][0-9]{1,2})?$",
            "description": description,
        },
    )


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
    # What a réservataire needs to choose candidates (optional; never household data).
    address = ma.fields.String(
        allow_none=True, validate=ma.validate.Length(max=300), metadata={"description": "Adresse"}
    )
    floor = ma.fields.Integer(
        allow_none=True,
        strict=False,
        validate=ma.validate.Range(-5, 100),
        metadata={"description": "Étage (0 : rez-de-chaussée)"},
    )
    surface = _hundredths("Surface habitable en m² (deux décimales)", 10_000 * 100)
    rooms = ma.fields.Integer(
        allow_none=True,
        strict=False,
        validate=ma.validate.Range(1, 20),
        metadata={"description": "Nombre de pièces"},
    )
    rent = _hundredths("Loyer mensuel hors charges, en euros", 100_000 * 100)
    charges = _hundredths("Charges mensuelles, en euros", 100_000 * 100)
    pmr = ma.fields.Boolean(
        allow_none=True,
        truthy=_YES,
        falsy=_NO,
        metadata={"description": "Accessible aux personnes à mobilité réduite"},
    )
    lift = ma.fields.Boolean(
        allow_none=True, truthy=_YES, falsy=_NO, metadata={"description": "Ascenseur"}
    )
    landlord_contact = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=300),
        metadata={
            "description": "Contact du bailleur pour la désignation (service, courriel, téléphone)"
        },
    )
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
        if isinstance(dwelling, dict):
            return dwelling["out_of_flux"] is None and dwelling.get("sold_on") is None
        return dwelling.out_of_flux is None and getattr(dwelling, "sold_on", None) is None

    @ma.post_load
    def _names(self, data, **kwargs):
        # Services speak the API's names (commune, qpv), not the column names.
        if "commune_insee" in data:
            data["commune"] = data.pop("commune_insee")
        if "qpv_code" in data:
            data["qpv"] = data.pop("qpv_code") or None
        return data

    @ma.pre_dump
    def _attributes(self, dwelling, **kwargs):
        # The columns hold cents and hundredths of m²: the API speaks euros and m².
        if isinstance(dwelling, dict):
            return dwelling
        return {
            **{c.key: getattr(dwelling, c.key) for c in dwelling.__table__.columns},
            "surface": dwelling.surface_m2_x100,
            "rent": dwelling.rent_cents,
            "charges": dwelling.charges_cents,
            "out_of_flux": dwelling.out_of_flux,
        }


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


class DwellingTransferSchema(ma.Schema):
    """The sale of a dwelling to another landlord (an RPLS id belongs to one at a time)."""

    landlord = OrganisationRef(required=True, **ORG_REF_METADATA)
    on = ma.fields.Date(required=True, metadata={"description": "Date de la cession"})
