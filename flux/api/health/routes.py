"""GET /health: is the service up and its database reachable."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.db import db

blp = Blueprint("health", __name__, url_prefix="/health", description="État du service")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)
    database = ma.fields.String(required=True)


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="Base de données injoignable")
    @blp.doc(security=[])
    def get(self):
        """État du service et de sa base de données (sans authentification)."""
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return {"status": "degraded", "database": "unreachable"}, 503
        return {"status": "ok", "database": "ok"}
