from __future__ import annotations

import marshmallow as ma

from flux.api.common import ORG_REF_METADATA, QueryOrganisationRef
from flux.reporting.annual import PART_KEYS
from flux.reporting.render import FORMATS


class AnnualQuerySchema(ma.Schema):
    year = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(2000, 2100),
        metadata={"description": "Année du bilan"},
    )
    landlord = QueryOrganisationRef(**ORG_REF_METADATA)
    reserver = QueryOrganisationRef(**ORG_REF_METADATA)
    departement = ma.fields.String(
        validate=ma.validate.Regexp(
            r"^[0-9][0-9AB][0-9]?$",
            error="Code de département invalide (par ex. « 31 », « 2A », « 974 »).",
        ),
        metadata={"description": "Code du département (consolidation préfectorale)"},
    )
    format = ma.fields.String(
        load_default="json",
        validate=ma.validate.OneOf(FORMATS),
        metadata={
            "description": "json (défaut) ; csv (un fichier en sections, pour un tableur "
            "français ; avec part=, une partie seule au format « tidy »), xlsx, pdf, ou zip "
            "(toutes les parties en CSV « tidy », une par fichier)"
        },
    )
    part = ma.fields.String(
        validate=ma.validate.OneOf(PART_KEYS),
        metadata={
            "description": "Avec format=csv : une partie seule, pour un programme : une ligne "
            "d'en-tête (les clés des colonnes), une ligne par enregistrement, identifiants et "
            "codes en colonnes ; séparateur « , », UTF-8 sans BOM, nombres à point décimal, "
            "dates ISO 8601 (lisible tel quel par pandas.read_csv). Parties : "
            + ", ".join(PART_KEYS)
        },
    )

    @ma.validates_schema
    def _part_needs_csv(self, data: dict, **kwargs: object) -> None:
        if "part" in data and data.get("format") != "csv":
            raise ma.ValidationError("part ne s'emploie qu'avec format=csv.", "part")


class ColumnSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "Champ des lignes (snake_case)"})
    label = ma.fields.String(metadata={"description": "Intitulé français de la colonne"})
    machine = ma.fields.Boolean(
        metadata={"description": "Identifiant ou code pour les programmes (absent du PDF)"}
    )
    kind = ma.fields.String(
        metadata={
            "description": "integer (nombre), dwellings (logements, chaîne à deux décimales), "
            "percent (chaîne en points de pourcentage, « 25.00 »), date (ISO 8601), text"
        }
    )


class PartSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": ", ".join(PART_KEYS)})
    title = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    columns = ma.fields.List(ma.fields.Nested(ColumnSchema))
    rows = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "Une ligne par objet, clés des colonnes"}
    )
    total = ma.fields.Dict(
        allow_none=True, metadata={"description": "Ligne de total (somme des lignes), ou null"}
    )


class MetaSchema(ma.Schema):
    title = ma.fields.String()
    year = ma.fields.Integer()
    issued_on = ma.fields.Date(metadata={"description": "Date d'édition"})
    landlord = ma.fields.String(allow_none=True)
    reserver = ma.fields.String(allow_none=True)
    departement = ma.fields.String(allow_none=True)
    closed = ma.fields.Boolean(
        metadata={"description": "Toutes les années du bilan sont clôturées (chiffres définitifs)"}
    )
    generated_by = ma.fields.String()
    filters = ma.fields.Dict(metadata={"description": "Les filtres demandés"})


class AnnualReportSchema(ma.Schema):
    meta = ma.fields.Nested(MetaSchema)
    parts = ma.fields.List(ma.fields.Nested(PartSchema))


class ReportJobSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String(
        metadata={"description": "pending (en attente), running (en cours), done, failed"}
    )
    format = ma.fields.String()
    location = ma.fields.String(metadata={"description": "L'adresse à interroger"})
