from __future__ import annotations

from datetime import date

import marshmallow as ma

from flux.api.common import (
    ORG_REF_METADATA,
    PERCENT_METADATA,
    OrganisationRef,
    Percent,
    id_field,
)
from flux.domain.conventions import SharePurpose
from flux.domain.reference import CountingEvent, PerimeterKind

# Business dates outside this range are typing mistakes, not conventions.
SANE_DATES = ma.validate.Range(
    min=date(2000, 1, 1), max=date(2100, 12, 31), error="Date hors de la plage admise (2000–2100)."
)


class PerimeterSchema(ma.Schema):
    kind = ma.fields.Enum(PerimeterKind, by_value=True, required=True)
    code = ma.fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "Code du département ou SIREN de l'EPCI"},
    )
    communes = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={"description": "Codes INSEE (périmètre « communes »)"},
    )

    @ma.validates_schema
    def _coherent(self, data, **kwargs):
        if data["kind"] is PerimeterKind.COMMUNES and not data["communes"]:
            raise ma.ValidationError("Liste de communes requise.", "communes")
        if data["kind"] is not PerimeterKind.COMMUNES and data["communes"]:
            raise ma.ValidationError(
                "Communes données pour un périmètre non explicite.", "communes"
            )


class PoliciesSchema(ma.Schema):
    """Per-convention policies (domain.md §5–6); omitted ones take their default."""

    designation_deadline_days = ma.fields.Integer(
        validate=ma.validate.Range(1, 365),
        metadata={"description": "Délai de désignation des candidats, en jours (défaut 30)"},
    )
    candidates_per_designation = ma.fields.Integer(
        validate=ma.validate.Range(1, 10),
        metadata={"description": "Nombre de candidats à proposer (défaut 3)"},
    )
    carence_counts = ma.fields.Boolean(
        metadata={
            "description": "Un logement repris pour carence compte-t-il pour le "
            "réservataire (défaut oui)"
        }
    )
    cal_refusal_delay_days = ma.fields.Integer(
        validate=ma.validate.Range(1, 365),
        metadata={
            "description": "Délai pour une nouvelle désignation après refus CALEOL (défaut 15)"
        },
    )
    cal_refusal_counts = ma.fields.Boolean(
        metadata={"description": "Un logement repris après refus CALEOL compte-t-il (défaut oui)"}
    )
    counting_event = ma.fields.Enum(
        CountingEvent,
        by_value=True,
        metadata={"description": "Événement qui fait compter le logement (défaut orientation)"},
    )
    carry_over = ma.fields.Boolean(metadata={"description": "Report des écarts (défaut oui)"})
    first_lettings_counted = ma.fields.Boolean(
        metadata={"description": "Premières mises en location comptées (défaut oui)"}
    )
    etat_uniform_by_commune = ma.fields.Boolean(
        metadata={"description": "État : part uniforme dans chaque commune (défaut oui)"}
    )
    etat_hors_qpv_minimum = ma.fields.Boolean(
        metadata={"description": "État : au moins 30 % hors QPV (défaut oui)"}
    )
    spread_by_typology = ma.fields.Boolean(
        metadata={"description": "Répartir la part par typologie (défaut non)"}
    )
    spread_by_qpv = ma.fields.Boolean(
        metadata={"description": "Répartir la part entre QPV et hors QPV (défaut non)"}
    )


POLICY_DEFAULTS = {
    "designation_deadline_days": 30,
    "candidates_per_designation": 3,
    "carence_counts": True,
    "cal_refusal_delay_days": 15,
    "cal_refusal_counts": True,
    "counting_event": CountingEvent.ORIENTATION,
    "carry_over": True,
    "first_lettings_counted": True,
    "etat_uniform_by_commune": True,
    "etat_hors_qpv_minimum": True,
    "spread_by_typology": False,
    "spread_by_qpv": False,
}


class ShareInputSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(
            r"^[a-z0-9][a-z0-9_-]{0,49}$", error="Code : minuscules, chiffres, - et _."
        ),
    )
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    percent = Percent(required=True, **PERCENT_METADATA)
    purpose = ma.fields.Enum(SharePurpose, by_value=True, load_default=SharePurpose.GENERAL)
    guarantee_backed = ma.fields.Boolean(load_default=False)
    ends_on = ma.fields.Date(
        allow_none=True,
        load_default=None,
        validate=SANE_DATES,
        metadata={"description": "Dernier jour de la part ; déduit de `loan_repaid_on` si omis"},
    )
    loan_repaid_on = ma.fields.Date(
        allow_none=True,
        load_default=None,
        validate=SANE_DATES,
        metadata={
            "description": "Part liée à une garantie : dernière échéance de l'emprunt garanti ; "
            "la part prend fin cinq ans après (R.441-6)"
        },
    )


class AmendmentInputSchema(ma.Schema):
    effective_from = ma.fields.Date(required=True, validate=SANE_DATES)
    note = ma.fields.String(
        validate=ma.validate.Length(max=1000), metadata={"description": "Objet de l'avenant"}
    )
    valid_until = ma.fields.Date(allow_none=True, validate=SANE_DATES)
    perimeter = ma.fields.Nested(PerimeterSchema)
    policies = ma.fields.Nested(PoliciesSchema)
    shares = ma.fields.List(
        ma.fields.Nested(ShareInputSchema),
        required=True,
        validate=ma.validate.Length(min=1),
        metadata={"description": "Toutes les parts en vigueur à cette date"},
    )
    ends_shares = ma.fields.List(
        ma.fields.String(),
        load_default=list,
        metadata={
            "description": "Codes des parts qui prennent fin à cette date ; une part omise de "
            "`shares` sans figurer ici est refusée (422)"
        },
    )


class ConventionInputSchema(ma.Schema):
    reference = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    label = ma.fields.String(validate=ma.validate.Length(max=300))
    landlord = OrganisationRef(required=True, **ORG_REF_METADATA)
    reserver = OrganisationRef(required=True, **ORG_REF_METADATA)
    departement = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=3))
    valid_from = ma.fields.Date(required=True, validate=SANE_DATES)
    valid_until = ma.fields.Date(allow_none=True, load_default=None, validate=SANE_DATES)
    note = ma.fields.String(validate=ma.validate.Length(max=1000))
    imposed_by_arrete = ma.fields.String(
        validate=ma.validate.Length(min=1, max=200),
        metadata={
            "description": "Référence de l'arrêté du préfet fixant ces termes, à défaut de "
            "convention signée (R.441-5-2 IV)"
        },
    )
    imposed_on = ma.fields.Date(validate=SANE_DATES, metadata={"description": "Date de cet arrêté"})
    perimeter = ma.fields.Nested(PerimeterSchema, required=True)
    policies = ma.fields.Nested(PoliciesSchema, load_default=dict)
    shares = ma.fields.List(
        ma.fields.Nested(ShareInputSchema), required=True, validate=ma.validate.Length(min=1)
    )
    amendments = ma.fields.List(
        ma.fields.Nested(AmendmentInputSchema),
        load_default=list,
        metadata={"description": "Avenants déjà signés (historique)"},
    )

    @ma.validates_schema
    def _imposed(self, data, **kwargs):
        if ("imposed_by_arrete" in data) != ("imposed_on" in data):
            raise ma.ValidationError(
                "Un arrêté se donne avec sa référence et sa date.", "imposed_on"
            )

    @ma.post_load
    def _defaults(self, data, **kwargs):
        data["policies"] = {**POLICY_DEFAULTS, **data["policies"]}
        return data


class ConventionLabelSchema(ma.Schema):
    label = ma.fields.String(required=True, allow_none=True, validate=ma.validate.Length(max=300))


# --- output --------------------------------------------------------------------------------


class OrganisationSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    category = ma.fields.String(allow_none=True)


class ShareOutputSchema(ma.Schema):
    id = ma.fields.Integer(attribute="share_id")
    code = ma.fields.Function(lambda terms: terms.share.code)
    label = ma.fields.String()
    percent = Percent(attribute="basis_points", **PERCENT_METADATA)
    purpose = ma.fields.Function(lambda terms: str(terms.share.purpose))
    guarantee_backed = ma.fields.Boolean()
    ends_on = ma.fields.Date(allow_none=True)
    loan_repaid_on = ma.fields.Date(allow_none=True)


class PoliciesOutputSchema(PoliciesSchema):
    pass


class VersionSchema(ma.Schema):
    number = ma.fields.Integer()
    effective_from = ma.fields.Date()
    valid_from = ma.fields.Date()
    valid_until = ma.fields.Date(allow_none=True)
    note = ma.fields.String(allow_none=True)
    perimeter = ma.fields.Method("_perimeter")
    policies = ma.fields.Method("_policies")
    shares = ma.fields.List(ma.fields.Nested(ShareOutputSchema), attribute="share_terms")

    def _perimeter(self, version):
        return {
            "kind": str(version.perimeter_kind),
            "code": version.perimeter_code,
            "communes": [c.commune_insee for c in version.communes],
        }

    def _policies(self, version):
        return PoliciesOutputSchema().dump({k: getattr(version, k) for k in POLICY_DEFAULTS})


class WarningSchema(ma.Schema):
    rule = ma.fields.String()
    message = ma.fields.String()
    figures = ma.fields.Dict()


class ConventionSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    landlord = ma.fields.Nested(OrganisationSummarySchema)
    reserver = ma.fields.Nested(OrganisationSummarySchema)
    departement = ma.fields.String(attribute="departement_code")
    revision = ma.fields.Integer()
    status = ma.fields.String(
        metadata={
            "description": "« signed », « imposed_by_arrete » (R.441-5-2 IV) ou « terminated »"
        }
    )
    imposed_by_arrete = ma.fields.String(allow_none=True)
    imposed_on = ma.fields.Date(allow_none=True)
    terminated_on = ma.fields.Date(allow_none=True)
    termination_reference = ma.fields.String(allow_none=True)
    formal_notice_on = ma.fields.Date(allow_none=True)
    current = ma.fields.Nested(
        VersionSchema, metadata={"description": "Version en vigueur ce jour"}
    )
    versions = ma.fields.List(
        ma.fields.Nested(VersionSchema), metadata={"description": "Toutes les versions (avenants)"}
    )


class SavedConventionSchema(ConventionSchema):
    warnings = ma.fields.List(
        ma.fields.Nested(WarningSchema),
        metadata={"description": "Avertissements (règles non bloquantes)"},
    )


class ConventionFilterSchema(ma.Schema):
    landlord = ma.fields.Integer()
    reserver = ma.fields.Integer()
    departement = ma.fields.String()
    in_force_on = ma.fields.Date(
        validate=SANE_DATES, metadata={"description": "En vigueur à cette date"}
    )


class DerogationInputSchema(ma.Schema):
    landlord = id_field(required=True, metadata={"description": "Id du bailleur"})
    departement = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=3))
    arrete_reference = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    starts_on = ma.fields.Date(required=True, validate=SANE_DATES)
    ends_on = ma.fields.Date(
        required=True,
        validate=SANE_DATES,
        metadata={"description": "Dernier jour ; au plus un an après le début (R.441-5-2 I)"},
    )
    etat_cap = Percent(required=True, **PERCENT_METADATA)
    agents_cap = Percent(required=True, **PERCENT_METADATA)


class DerogationSchema(ma.Schema):
    id = ma.fields.Integer()
    landlord = ma.fields.Integer(attribute="landlord_id")
    departement = ma.fields.String(attribute="departement_code")
    arrete_reference = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    etat_cap = Percent(attribute="etat_cap_bp", **PERCENT_METADATA)
    agents_cap = Percent(attribute="agents_cap_bp", **PERCENT_METADATA)


class TerminationSchema(ma.Schema):
    terminated_on = ma.fields.Date(
        required=True,
        validate=SANE_DATES,
        metadata={"description": "Dernier jour en vigueur de la convention résiliée"},
    )
    reference = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "Référence de la résiliation (courrier, arrêté)"},
    )
    formal_notice_on = ma.fields.Date(
        validate=SANE_DATES,
        metadata={
            "description": "Date de la mise en demeure, au moins deux mois avant (requise "
            "pour l'État : R.441-5-2 IV)"
        },
    )
