from __future__ import annotations

import marshmallow as ma

from flux.api.common import ORG_REF_METADATA, OrganisationRef
from flux.domain.reference import Role


class UserSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=254))
    role = ma.fields.Enum(Role, by_value=True, required=True)
    organisation = OrganisationRef(load_only=True, load_default=None, **ORG_REF_METADATA)
    organisation_id = ma.fields.Integer(dump_only=True, allow_none=True)
    read_only = ma.fields.Boolean(
        load_default=False, metadata={"description": "Compte bailleur en lecture seule"}
    )
    can_write = ma.fields.Boolean(dump_only=True)
    active = ma.fields.Boolean(dump_only=True)
    password = ma.fields.String(
        load_only=True,
        load_default=None,
        validate=ma.validate.Length(min=12, max=200),
        metadata={
            "description": "Mot de passe (12 caractères au moins) pour la connexion aux pages web"
        },
    )
    token_days = ma.fields.Integer(
        load_only=True, load_default=90, validate=ma.validate.Range(1, 3650)
    )
    created_at = ma.fields.DateTime(dump_only=True)


class CreatedUserSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    token = ma.fields.String(
        metadata={"description": "Le secret du jeton : affiché cette seule fois"}
    )


class TokenRequestSchema(ma.Schema):
    label = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    days = ma.fields.Integer(
        load_default=90,
        validate=ma.validate.Range(1, 3650),
        metadata={"description": "Durée de validité, en jours"},
    )


class TokenSchema(ma.Schema):
    id = ma.fields.Integer()
    label = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class IssuedTokenSchema(ma.Schema):
    id = ma.fields.Integer(attribute="token_id")
    token = ma.fields.String(metadata={"description": "Le secret : affiché cette seule fois"})
    expires_at = ma.fields.DateTime(allow_none=True)


class LoginSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(min=3, max=254))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
