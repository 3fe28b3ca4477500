"""The caller's own notifications: read them, mark them read, choose how they are e-mailed."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import paginated
from flux.db import db
from flux.services import notifications

from .schemas import MarkedSchema, NotificationFilterSchema, NotificationSchema, PreferencesSchema

blp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/notifications",
    description="Notifications de l'utilisateur : dans Flux et par courriel",
)


@blp.route("")
class Notifications(MethodView):
    @blp.arguments(NotificationFilterSchema, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Vos notifications, les plus récentes d'abord : logement orienté vers l'une de vos
        parts, délai de désignation proche (N jours, selon vos préférences) ou dépassé,
        carence ou reprise, refus de la CALEOL, bilan émis, alerte. Jamais de données de
        ménage."""
        rows, total = notifications.list_for(
            db.session,
            current_actor(),
            unread=filters.get("unread"),
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return rows


@blp.route("/<int:notification_id>/read")
class NotificationRead(MethodView):
    @blp.response(200, MarkedSchema)
    def post(self, notification_id):
        """Marquer une de vos notifications comme lue."""
        marked = notifications.mark_read(db.session, current_actor(), notification_id)
        db.session.commit()
        return {"marked": marked}


@blp.route("/read")
class NotificationsRead(MethodView):
    @blp.response(200, MarkedSchema)
    def post(self):
        """Marquer toutes vos notifications comme lues."""
        marked = notifications.mark_read(db.session, current_actor())
        db.session.commit()
        return {"marked": marked}


@blp.route("/preferences")
class Preferences(MethodView):
    @blp.response(200, PreferencesSchema)
    def get(self):
        """Vos préférences : envoi immédiat ou résumé quotidien, rappel N jours avant
        l'échéance (5 par défaut), courriel ou non."""
        return notifications.preferences(db.session, current_actor().user_id)

    @blp.arguments(PreferencesSchema)
    @blp.response(200, PreferencesSchema)
    def put(self, data):
        """Changer vos préférences (les champs omis restent inchangés)."""
        chosen = notifications.set_preferences(db.session, current_actor(), data)
        db.session.commit()
        return chosen
