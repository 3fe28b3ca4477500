"""The pages' forms: validation of what was typed only; the rules stay in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

REQUIRED = "Ce champ est obligatoire."


def options(pairs) -> list[SelectChoice]:
    """Choices of a select or radio field from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class SignInForm(FlaskForm):
    email = EmailField(
        "Adresse électronique",
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        "Mot de passe",
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        "Nouveau mot de passe",
        description="12 caractères au moins.",
        validators=[
            DataRequired(REQUIRED),
            Length(min=12, max=200, message="12 caractères au moins."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirmation du nouveau mot de passe",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("new", message="Les deux mots de passe diffèrent."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


DEDUCTION_LABELS = {
    "internal_transfer": "Mutation interne d'un locataire",
    "urban_renewal": "Relogement pour une opération de renouvellement urbain",
    "degraded_condo": "Relogement pour une opération de copropriété dégradée (ORCOD)",
    "unfit_housing": "Relogement au titre de l'habitat indigne",
    "sale": "Relogement causé par la vente de logements sociaux",
}


class DeclareForm(FlaskForm):
    rpls_id = StringField(
        "Numéro RPLS ou adresse du logement",
        description="Son identifiant au répertoire RPLS (par exemple R0000123) ou des mots de "
        "son adresse (par exemple 12 rue des Lilas).",
        validators=[DataRequired(REQUIRED), Length(max=100)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    # Offered only when the reference designates several dwellings (choices set by the view).
    dwelling = RadioField(
        "Logement",
        choices=[],
        validate_choice=False,
        validators=[Optional()],
    )
    available_on = DateField(
        "Date de disponibilité",
        description="Le jour où le logement peut être reloué.",
        validators=[InputRequired("Indiquez une date valide.")],
    )
    letting = RadioField(
        "Nature de la mise en location",
        choices=options(
            [
                ("reletting", "Relocation après le départ d'un locataire"),
                ("first_letting", "Première mise en location d'un programme neuf"),
            ]
        ),
        default="reletting",
        validators=[InputRequired(REQUIRED)],
    )
    deduction = SelectField(
        "Logement soustrait du flux",
        description="Seulement si le logement sert à un relogement que la loi retire du flux.",
        choices=options(
            [
                ("", "Non : le logement entre dans le flux"),
                ("internal_transfer", "Mutation interne d'un locataire"),
                ("urban_renewal", "Relogement pour une opération de renouvellement urbain"),
                ("degraded_condo", "Relogement pour une opération de copropriété dégradée (ORCOD)"),
                ("unfit_housing", "Relogement au titre de l'habitat indigne"),
                ("sale", "Relogement causé par la vente de logements sociaux"),
            ]
        ),
        default="",
        validators=[Optional()],
    )


class EventForm(FlaskForm):
    """One event on a vacancy; which fields count depends on its type (checked by the service
    and the form's `payload`)."""

    type = SelectField("Événement", validators=[DataRequired(REQUIRED)], choices=[])
    date = DateField("Date de l'événement", validators=[InputRequired("Indiquez une date valide.")])
    candidates = IntegerField(
        "Nombre de candidats proposés",
        validators=[Optional(), NumberRange(1, 50, "Entre 1 et 50.")],
    )
    dalo = BooleanField("Désignation DALO (moins de 3 candidats admis)")
    rank = IntegerField(
        "Rang du candidat retenu", validators=[Optional(), NumberRange(1, 50, "Entre 1 et 50.")]
    )
    household_dalo = BooleanField("Ménage reconnu DALO")
    household_prioritaire = BooleanField("Ménage prioritaire (L.441-1)")
    household_first_quartile = BooleanField("Ménage du premier quartile de revenus")
    share = SelectField("Nouvelle part", choices=[], validators=[Optional()])
    reason = TextAreaField("Motif", validators=[Optional(), Length(max=1000)])


class DesignationForm(FlaskForm):
    date = DateField(
        "Date de la désignation", validators=[InputRequired("Indiquez une date valide.")]
    )
    candidates = IntegerField(
        "Nombre de candidats proposés",
        description="Trois au moins, sauf désignation DALO.",
        validators=[InputRequired(REQUIRED), NumberRange(1, 50, "Entre 1 et 50.")],
    )
    dalo = BooleanField("Désignation DALO (moins de 3 candidats admis)")


class AsOfForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter: it changes nothing

    as_of = DateField(
        "Situation au",
        description="Au plus tard aujourd'hui.",
        validators=[Optional()],
        name="au",
    )


class ImportForm(FlaskForm):
    file = FileField(
        "Fichier CSV du patrimoine",
        description="Séparateur « ; », encodage UTF-8 ; colonnes rpls_id, commune, qpv, "
        "typology, financing, construction_year.",
        validators=[FileRequired("Choisissez un fichier.")],
    )
    dry_run = BooleanField("Essai à blanc : vérifier sans rien enregistrer", default=True)


class NewUserForm(FlaskForm):
    email = EmailField("Adresse électronique", validators=[DataRequired(REQUIRED), Length(max=254)])
    role = SelectField(
        "Rôle",
        choices=options(
            [
                ("landlord", "Bailleur"),
                ("reserver", "Réservataire"),
                ("prefecture", "Préfecture"),
                ("admin", "Administrateur"),
            ]
        ),
    )
    organisation = SelectField("Organisation", choices=[], validators=[Optional()])
    password = PasswordField(
        "Mot de passe initial",
        description="12 caractères au moins.",
        validators=[
            DataRequired(REQUIRED),
            Length(min=12, max=200, message="12 caractères au moins."),
        ],
    )
    read_only = BooleanField("Lecture seule")


RESERVER_CATEGORY_LABELS = {
    "etat": "État (préfet)",
    "action_logement": "Action Logement",
    "commune": "Commune",
    "epci": "EPCI",
    "ept": "Établissement public territorial",
    "departement": "Département",
    "region": "Région",
    "metropole_lyon": "Métropole de Lyon",
    "ville_paris": "Ville de Paris",
    "employeur": "Employeur",
    "organisme_desinteresse": "Organisme à but non lucratif",
    "autre": "Autre réservataire",
}


class OrganisationForm(FlaskForm):
    """What is typed; the API's own schema then checks it (flux/web/admin/views.py)."""

    code = StringField(
        "Code",
        description="Minuscules, chiffres et tirets, par exemple oph-haute-garonne.",
        validators=[DataRequired(REQUIRED), Length(max=64)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    name = StringField("Nom", validators=[DataRequired(REQUIRED), Length(max=200)])
    kind = SelectField(
        "Type",
        choices=options([("landlord", "Bailleur"), ("reserver", "Réservataire")]),
        validators=[DataRequired(REQUIRED)],
    )
    category = SelectField(
        "Catégorie de réservataire",
        description="Seulement pour un réservataire.",
        choices=options([("", "Aucune (bailleur)"), *RESERVER_CATEGORY_LABELS.items()]),
        default="",
        validators=[Optional()],
    )
    territory = StringField(
        "Territoire représenté",
        description="Code du département (État, département), code INSEE (commune, Ville de "
        "Paris) ou SIREN (EPCI, EPT, Métropole de Lyon) ; vide pour un réservataire national.",
        validators=[Optional(), Length(max=9)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "Nouveau mot de passe",
        description="12 caractères au moins.",
        validators=[
            DataRequired(REQUIRED),
            Length(min=12, max=200, message="12 caractères au moins."),
        ],
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


EVENT_LABELS = {
    "designation": "Désignation de candidats",
    "cal_attribution": "Attribution en CALEOL",
    "cal_refusal": "Refus de la CALEOL",
    "carence": "Carence du réservataire (délai de désignation échu)",
    "take_back": "Reprise après refus de la CALEOL",
    "lease": "Bail signé",
    "withdrawal": "Retrait (le logement n'est finalement pas reloué)",
    "override": "Réorienter vers une autre part",
}
# The fields each event type takes (as the API's EventSchema), all others being ignored.
EVENT_FIELDS = {
    "designation": ("candidates", "dalo"),
    "cal_attribution": ("rank", "household"),
    "override": ("share", "reason"),
    "withdrawal": ("reason",),
}


def event_payload(form: EventForm) -> tuple[dict, dict[str, str]]:
    """The service's event data from the form, or the missing fields (name -> message)."""
    kind = form.type.data
    data: dict = {"type": kind, "date": form.date.data}
    missing: dict[str, str] = {}
    for name in EVENT_FIELDS.get(kind, ()):
        if name == "household":
            data["household"] = {
                "dalo": form.household_dalo.data,
                "prioritaire": form.household_prioritaire.data,
                "first_quartile": form.household_first_quartile.data,
            }
        elif name == "dalo":
            data["dalo"] = bool(form.dalo.data)
        else:
            value = getattr(form, name).data
            if value in (None, ""):
                missing[name] = REQUIRED
            else:
                data[name] = value.strip() if isinstance(value, str) else value
    if "share" in data and data["share"] != "landlord":
        data["share"] = int(data["share"])
    return data, missing


class RenameOrganisationForm(FlaskForm):
    """An organisation's new name (its code, kind and territory do not change)."""

    name = StringField("Nouveau nom", validators=[DataRequired(REQUIRED), Length(max=200)])
