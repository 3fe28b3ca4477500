"""French default messages for marshmallow's validation errors (users are French public bodies)."""

from __future__ import annotations

import re
from datetime import date

import marshmallow as ma

_FIELD_MESSAGES = {
    ma.fields.Field: {
        "required": "Champ requis.",
        "null": "Ce champ ne peut pas être nul.",
        "validator_failed": "Valeur invalide.",
    },
    ma.fields.String: {"invalid": "Chaîne de caractères attendue."},
    ma.fields.Integer: {"invalid": "Nombre entier attendu.", "too_large": "Nombre trop grand."},
    ma.fields.Number: {"invalid": "Nombre attendu.", "too_large": "Nombre trop grand."},
    ma.fields.Boolean: {"invalid": "Booléen attendu (true ou false)."},
    ma.fields.Date: {
        "invalid": "Date attendue au format AAAA-MM-JJ.",
        "format": "Date attendue au format AAAA-MM-JJ.",
    },
    ma.fields.DateTime: {"invalid": "Date et heure ISO 8601 attendues."},
    ma.fields.List: {"invalid": "Liste attendue."},
    ma.fields.Nested: {"type": "Objet attendu."},
    ma.fields.Dict: {"invalid": "Objet attendu."},
    ma.fields.Enum: {"unknown": "Valeur inconnue ; valeurs admises : {choices}."},
    ma.fields.Email: {"invalid": "Adresse électronique invalide."},
}


def _validators() -> None:
    range_ = ma.validate.Range
    range_.message_min = "Doit être {min_op} {{min}}."
    range_.message_max = "Doit être {max_op} {{max}}."
    range_.message_all = "Doit être {min_op} {{min}} et {max_op} {{max}}."
    range_.message_gte, range_.message_gt = "supérieur ou égal à", "supérieur à"
    range_.message_lte, range_.message_lt = "inférieur ou égal à", "inférieur à"
    length = ma.validate.Length
    length.message_min = "Trop court : {min} caractères ou éléments au moins."
    length.message_max = "Trop long : {max} caractères ou éléments au plus."
    length.message_all = "Longueur attendue entre {min} et {max}."
    length.message_equal = "Longueur attendue : {equal}."
    ma.validate.Email.default_message = "Adresse électronique invalide."
    ma.validate.OneOf.default_message = "Valeur non admise ; valeurs possibles : {choices}."
    ma.validate.Regexp.default_message = "Format invalide."


_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


def _iso_date(value: str) -> date:
    """An ISO date; a well-formed date that does not exist (30 February) is called impossible,
    not badly formatted."""
    found = _ISO_DAY.fullmatch(value) if isinstance(value, str) else None
    if found is not None:
        year, month, day = (int(part) for part in found.groups())
        try:
            return date(year, month, day)
        except ValueError:
            raise ma.ValidationError(
                f"Date impossible : le {day:02d}/{month:02d}/{year:04d} n'existe pas."
            ) from None
    return date.fromisoformat(value)


def install() -> None:
    _validators()
    ma.fields.Date.DESERIALIZATION_FUNCS = {
        **ma.fields.Date.DESERIALIZATION_FUNCS,
        "iso": _iso_date,
        "iso8601": _iso_date,
    }
    for field_class, messages in _FIELD_MESSAGES.items():
        field_class.default_error_messages = {**field_class.default_error_messages, **messages}
    ma.Schema._default_error_messages = {
        **ma.Schema._default_error_messages,
        "type": "Objet JSON attendu.",
        "unknown": "Champ inconnu.",
    }


install()
