"""Users and their tokens (administrators; each user for its own tokens), and password login."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.db import db
from flux.models import Organisation
from flux.services import users
from flux.services.access import require_admin
from flux.services.errors import InvalidInput

from .schemas import (
    CreatedUserSchema,
    IssuedTokenSchema,
    LoginSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)

blp = Blueprint("users", __name__, url_prefix="", description="Utilisateurs, jetons, connexion")


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    @paginated(blp)
    def get(self, pagination_parameters):
        """Les utilisateurs : tous pour un administrateur, soi-même pour les autres."""
        return page_of(users.list_users(db.session, current_actor()), pagination_parameters)

    @blp.arguments(UserSchema)
    @blp.response(201, CreatedUserSchema)
    @blp.alt_response(403, description="Réservé aux administrateurs")
    @blp.alt_response(409, description="Adresse déjà utilisée")
    def post(self, data):
        """Créer un utilisateur et son premier jeton (administrateurs). Le secret du jeton
        n'est montré qu'une fois ; Flux n'en garde que l'empreinte."""
        require_admin(current_actor())
        org = data["organisation"]
        if isinstance(org, int):
            found = db.session.get(Organisation, org)
            if found is None:
                raise InvalidInput(
                    "Organisation inconnue.",
                    errors={"json": {"organisation": ["Organisation inconnue."]}},
                )
            org = found.code
        created = users.create_user(
            db.session,
            email=data["email"],
            role=data["role"],
            org_code=org,
            password=data["password"],
            can_write=not data["read_only"],
            token_days=data["token_days"],
            token_label="api",
        )
        db.session.commit()
        return {
            "user": users.get_user(db.session, current_actor(), created.user_id),
            "token": created.token,
        }


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """Un utilisateur (soi-même, ou tout utilisateur pour un administrateur)."""
        return users.get_user(db.session, current_actor(), user_id)


@blp.route("/users/<int:user_id>/tokens")
class UserTokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self, user_id):
        """Les jetons d'un utilisateur, sans leurs secrets."""
        return users.tokens_of(db.session, current_actor(), user_id)

    @blp.arguments(TokenRequestSchema)
    @blp.response(201, IssuedTokenSchema)
    def post(self, data, user_id):
        """Émettre un nouveau jeton (son secret n'est montré qu'une fois)."""
        issued = users.new_token(db.session, current_actor(), user_id, data["label"], data["days"])
        db.session.commit()
        return issued


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @blp.response(204)
    def delete(self, token_id):
        """Révoquer un jeton (son titulaire ou un administrateur) ; il est refusé dès lors."""
        users.revoke(db.session, current_actor(), token_id)
        db.session.commit()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self):
        """L'utilisateur du jeton présenté."""
        return users.get_user(db.session, current_actor(), current_actor().user_id or 0)


@blp.route("/auth/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(201, IssuedTokenSchema)
    @blp.alt_response(401, description="Adresse ou mot de passe incorrect")
    @blp.alt_response(
        429,
        description="Trop de tentatives pour ce compte ou depuis cette adresse",
        headers={
            "Retry-After": {"description": "Secondes à attendre", "schema": {"type": "integer"}}
        },
    )
    @blp.doc(security=[])
    def post(self, data):
        """Se connecter par adresse et mot de passe : un jeton valable 12 heures."""
        issued = users.login(db.session, data["email"], data["password"])
        db.session.commit()
        return issued
