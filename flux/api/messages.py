"""French default messages for marshmallow's validation errors (users are French public bodies)."""

from __future__ import annotations

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
}


def install() -> None:
    for field_class, messages in _FIELD_MESSAGES.items():
        field_class.default_error_messages = {**field_class.default_error_messages, **messages}
    ma.Schema._default_error_messages = {
        **ma.Schema._default_error_messages,
        "type": "Objet JSON attendu.",
        "unknown": "Champ inconnu.",
    }


install()
