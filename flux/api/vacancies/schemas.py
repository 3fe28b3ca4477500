from __future__ import annotations

import marshmallow as ma

from flux.api.common import (
    ID_SCHEMA,
    MAX_JOURNAL_ID,
    ORG_REF_METADATA,
    OrganisationRef,
    QueryOrganisationRef,
    check_id,
    id_field,
)
from flux.api.conventions.schemas import SANE_DATES
from flux.domain.lifecycle import Event, Stage
from flux.domain.reference import DeductionCategory, Letting
from flux.services.references import numeric_or_code
from flux.services.vacancy_lists import SORTS


class QueryShareRef(ma.fields.Field):
    """A share in a query string: its id, or « <convention reference>/<share code> »."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value or len(value) > 200:
            raise ma.ValidationError("Identifiant ou « référence/code » de part attendu.")
        return check_id(numeric_or_code(value))


class QueryConventionRef(ma.fields.Field):
    """A convention in a query string: its id or its reference."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value or len(value) > 100:
            raise ma.ValidationError("Identifiant ou référence de convention attendu.")
        return check_id(numeric_or_code(value))


SHARE_REF_METADATA = {
    "metadata": {
        "oneOf": [ID_SCHEMA, {"type": "string", "enum": ["landlord"]}],
        "description": "Identifiant de la part, ou « landlord » pour la part non réservée",
    }
}


class ShareRefField(ma.fields.Field):
    """A share id, or "landlord" for the landlord's non-reserved part."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "landlord":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ma.ValidationError("Identifiant de part ou « landlord » attendu.")
        return check_id(value)


class NewVacancySchema(ma.Schema):
    dwelling = id_field(metadata={"description": "Identifiant du logement"})
    rpls_id = ma.fields.String(metadata={"description": "Ou son numéro RPLS"})
    landlord = OrganisationRef(**ORG_REF_METADATA)
    available_on = ma.fields.Date(
        required=True, validate=SANE_DATES, metadata={"description": "Date de disponibilité"}
    )
    letting = ma.fields.Enum(Letting, by_value=True, load_default=Letting.RELETTING)
    deduction = ma.fields.Enum(
        DeductionCategory,
        by_value=True,
        allow_none=True,
        load_default=None,
        metadata={
            "description": "Motif de déduction du flux (le logement n'est orienté vers personne)"
        },
    )
    orient_to = ShareRefField(
        allow_none=True,
        load_default=None,
        metadata={
            **SHARE_REF_METADATA["metadata"],
            "description": "Orienter ailleurs que la proposition (motif obligatoire)",
        },
    )
    reason = ma.fields.String(validate=ma.validate.Length(max=1000), load_default=None)
    notified_on = ma.fields.Date(
        validate=SANE_DATES,
        metadata={
            "description": "Jour où le titulaire a été informé (défaut : le jour de "
            "l'enregistrement) ; le délai de désignation court de ce jour, jamais d'une date "
            "déjà passée"
        },
    )

    @ma.validates_schema
    def _one_dwelling(self, data, **kwargs):
        if ("dwelling" in data) == ("rpls_id" in data):
            raise ma.ValidationError(
                "Indiquez le logement (dwelling) ou son numéro RPLS.", "dwelling"
            )
        if "notified_on" in data and data["notified_on"] < data["available_on"]:
            raise ma.ValidationError(
                "Le titulaire ne peut pas être informé avant la date de disponibilité.",
                "notified_on",
            )
        if data.get("deduction") and data.get("orient_to") is not None:
            raise ma.ValidationError(
                "Un logement déduit du flux n'est orienté vers personne.", "orient_to"
            )


class HouseholdSchema(ma.Schema):
    """Household flags, without personal data."""

    dalo = ma.fields.Boolean(required=True)
    prioritaire = ma.fields.Boolean(required=True, metadata={"description": "L.441-1 CCH"})
    first_quartile = ma.fields.Boolean(
        required=True, metadata={"description": "Premier quartile de revenus"}
    )
    first_quartile_arrete_year = ma.fields.Integer(
        validate=ma.validate.Range(2017, 2100),
        metadata={
            "description": "Année de l'arrêté ministériel fixant le seuil du premier quartile "
            "appliqué (L.441-1)"
        },
    )


EVENT_TYPES = [str(e) for e in Event] + ["correction"]
_FIELDS_BY_TYPE = {
    "designation": {"candidates"},
    "cal_attribution": {"rank", "household"},
    "override": {"share", "reason"},
    "withdrawal": {"reason"},
    "correction": {"corrects", "reason"},
}
_OPTIONAL_BY_TYPE = {
    "designation": {"dalo", "insufficient_candidates"},
    "carence": set(),
    "take_back": set(),
}


class EventSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(EVENT_TYPES))
    date = ma.fields.Date(required=True, validate=SANE_DATES)
    candidates = ma.fields.Integer(validate=ma.validate.Range(1, 50))
    dalo = ma.fields.Boolean(
        metadata={"description": "Désignation DALO (moins de 3 candidats admis)"}
    )
    insufficient_candidates = ma.fields.String(
        validate=ma.validate.Length(min=1, max=1000),
        metadata={
            "description": "Motif de l'insuffisance du nombre des candidats (R.441-3) : moins "
            "de candidats que requis admis"
        },
    )
    rank = ma.fields.Integer(validate=ma.validate.Range(1, 50))
    household = ma.fields.Nested(HouseholdSchema)
    share = ShareRefField(**SHARE_REF_METADATA)
    reason = ma.fields.String(validate=ma.validate.Length(min=1, max=1000))
    corrects = id_field(
        maximum=MAX_JOURNAL_ID, metadata={"description": "Écriture du journal à annuler"}
    )

    @ma.validates_schema
    def _fields_of_type(self, data, **kwargs):
        kind = data.get("type")
        required = _FIELDS_BY_TYPE.get(kind, set())
        allowed = required | _OPTIONAL_BY_TYPE.get(kind, set()) | {"type", "date"}
        errors = {
            name: ["Champ requis pour ce type d'événement."]
            for name in sorted(required - data.keys())
        }
        errors |= {
            name: [f"Champ sans objet pour un événement « {kind} »."]
            for name in sorted(data.keys() - allowed)
        }
        if errors:
            raise ma.ValidationError(errors)


class ExplanationLineSchema(ma.Schema):
    share = ma.fields.Raw(metadata={"description": "Part (id) ou « landlord »"})
    share_id = ma.fields.Integer(allow_none=True)
    landlord_part = ma.fields.Boolean()
    label = ma.fields.String()
    convention_id = ma.fields.Integer(allow_none=True)
    convention_reference = ma.fields.String(allow_none=True)
    reserver = ma.fields.Dict(allow_none=True)
    basis_points = ma.fields.Integer(metadata={"description": "Pourcentage en points de base"})
    percent = ma.fields.String(metadata={"description": 'Pourcentage ("25.00")'})
    target_dwellings = ma.fields.String(metadata={"description": "Objectif en logements"})
    deficit_dwellings = ma.fields.String(metadata={"description": "Retard en logements"})
    carry_in = ma.fields.Integer(metadata={"description": "Report, en unités (10 000 = 1)"})
    target = ma.fields.Integer(
        metadata={"description": "Objectif, en unités (10 000 = 1 logement)"}
    )
    realised = ma.fields.Integer()
    deficit = ma.fields.Integer(metadata={"description": "Retard, en unités"})
    priority = ma.fields.String()
    candidate = ma.fields.Boolean()
    deadline = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "Règle de Tijdeman : libérations avant que la part ne sorte "
            "de sa borne si elle n'est pas servie"
        },
    )
    chosen = ma.fields.Boolean()
    sub_deficits = ma.fields.List(ma.fields.Dict())


class OrientationSchema(ma.Schema):
    entry_id = ma.fields.Integer()
    proposed = ma.fields.Raw()
    chosen = ma.fields.Raw()
    override = ma.fields.Boolean()
    reason = ma.fields.String(allow_none=True)
    rule = ma.fields.String()
    rule_version = ma.fields.String()
    explanation = ma.fields.List(ma.fields.Nested(ExplanationLineSchema))
    summary = ma.fields.String(
        metadata={
            "description": "L'orientation en une phrase : la part choisie et pourquoi (plus "
            "grand retard ; sous-objectif et moyenne utilisée ; dérogation, par qui et pourquoi)"
        }
    )


class VacancyEventSchema(ma.Schema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    date = ma.fields.Date()
    recorded_at = ma.fields.DateTime()
    share_id = ma.fields.Integer(allow_none=True)
    reverses = ma.fields.Integer(allow_none=True)
    reversed = ma.fields.Boolean()
    details = ma.fields.Dict()


class HoldSchema(ma.Schema):
    until_close_of = ma.fields.Integer(
        metadata={"description": "L'année dont la clôture orientera le logement"}
    )
    message = ma.fields.String()


class VacancySchema(ma.Schema):
    id = ma.fields.Integer()
    dwelling_id = ma.fields.Integer()
    dwelling = ma.fields.Dict()
    landlord_id = ma.fields.Integer()
    departement = ma.fields.String()
    available_on = ma.fields.Date()
    letting = ma.fields.String()
    deduction = ma.fields.String(allow_none=True)
    recorded_at = ma.fields.DateTime()
    stage = ma.fields.String(metadata={"enum": [str(s) for s in Stage]})
    stage_label = ma.fields.String()
    held = ma.fields.Nested(
        HoldSchema,
        allow_none=True,
        metadata={
            "description": "Étape `held` : libération enregistrée, orientée à la clôture de "
            "l'année précédente (avec son report) ; le délai de désignation court du jour de "
            "l'orientation"
        },
    )
    holder = ma.fields.Dict(allow_none=True)
    orientation = ma.fields.Nested(OrientationSchema, allow_none=True)
    designation_deadline = ma.fields.Date(allow_none=True)
    redesignation_deadline = ma.fields.Date(allow_none=True)
    allowed_events = ma.fields.List(ma.fields.String())
    events = ma.fields.List(ma.fields.Nested(VacancyEventSchema))
    deadline = ma.fields.Date(
        allow_none=True,
        metadata={"description": "Délai en cours pour les candidats du titulaire (listes)"},
    )
    days_left = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Jours restants avant ce délai (négatif : dépassé ; listes)"},
    )
    overdue = ma.fields.Boolean(metadata={"description": "Délai dépassé (listes)"})
    dwelling_details = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "Pour choisir des candidats : adresse, nom de la commune, étage, "
            "surface (m²), pièces, loyer et charges (euros), PMR, ascenseur, contact du "
            "bailleur. Montré au bailleur et au réservataire titulaire seulement ; jamais de "
            "données de ménage."
        },
    )


class VacancyFilterSchema(ma.Schema):
    """Work-list filters: every one narrows the list; codes are accepted wherever ids are."""

    landlord = QueryOrganisationRef(
        metadata={**ORG_REF_METADATA["metadata"], "description": "Bailleur (identifiant ou code)"}
    )
    departement = ma.fields.String(metadata={"description": "Département (code)"})
    commune = ma.fields.String(
        validate=ma.validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$"),
        metadata={"description": "Commune du logement (code INSEE)"},
    )
    dwelling = ma.fields.Integer(metadata={"description": "Logement (identifiant)"})
    year = ma.fields.Integer(validate=ma.validate.Range(2000, 2100))
    available_from = ma.fields.Date(
        validate=SANE_DATES, metadata={"description": "Disponible à partir du"}
    )
    available_to = ma.fields.Date(
        validate=SANE_DATES, metadata={"description": "Disponible au plus tard le"}
    )
    stage = ma.fields.List(
        ma.fields.Enum(Stage, by_value=True),
        metadata={"description": "Étape(s) du logement (paramètre répétable)"},
    )
    share = QueryShareRef(
        metadata={
            "oneOf": [ID_SCHEMA, {"type": "string"}],
            "description": "Part titulaire : identifiant, ou « <référence de convention>/<code "
            "de part> »",
        }
    )
    convention = QueryConventionRef(
        metadata={
            "oneOf": [ID_SCHEMA, {"type": "string"}],
            "description": "Convention de la part titulaire : identifiant ou référence",
        }
    )
    reserver = QueryOrganisationRef(
        metadata={
            **ORG_REF_METADATA["metadata"],
            "description": "Réservataire titulaire (identifiant ou code)",
        }
    )
    landlord_part = ma.fields.Boolean(
        metadata={"description": "Seulement (true) ou sauf (false) la part non réservée"}
    )
    deadline_before = ma.fields.Date(
        validate=SANE_DATES,
        metadata={"description": "Candidats attendus au plus tard le (délai en cours ≤ date)"},
    )
    deadline_after = ma.fields.Date(
        validate=SANE_DATES,
        metadata={"description": "Candidats attendus au plus tôt le (délai en cours ≥ date)"},
    )
    overdue = ma.fields.Boolean(
        metadata={"description": "Délai de désignation (ou de nouvelle désignation) dépassé"}
    )
    to_fill = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "« À pourvoir » : orientés vers une part de réservataire et en "
            "attente de ses candidats, avec les jours restants (pour un réservataire : ses "
            "parts)"
        },
    )
    compact = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "Liste allégée : sans les lignes d'explication de l'orientation "
            "(`orientation.explanation`) ni les écritures (`events`) ; la phrase "
            "`orientation.summary`, l'étape et les délais restent. Le détail d'une libération "
            "reste sur `GET /vacancies/{id}`"
        },
    )
    sort = ma.fields.String(
        load_default="id",
        validate=ma.validate.OneOf(SORTS),
        metadata={
            "description": "Tri : id, available_on, deadline (délai en cours ; « - » devant "
            "pour l'ordre décroissant)"
        },
    )


class VacancyImportQuerySchema(ma.Schema):
    landlord = QueryOrganisationRef(
        metadata={
            "type": "string",
            "description": "Bailleur, par son identifiant ou son code (administrateurs) ; "
            "par défaut le vôtre",
        }
    )
    dry_run = ma.fields.Boolean(
        load_default=False, metadata={"description": "Tout décider et rapporter, rien écrire"}
    )
    all_or_nothing = ma.fields.Boolean(
        load_default=True,
        metadata={
            "description": "Une ligne refusée et rien n'est écrit (défaut) ; sinon les "
            "bonnes lignes sont gardées et les autres listées"
        },
    )


class VacancyImportFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
