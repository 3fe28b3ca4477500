"""The journal and the audit records, for audit: filtered, paginated, as each caller may see."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.api.conventions.schemas import SANE_DATES
from flux.models import AuditRecord, JournalEntry
from flux.services.journal import Kind, readable_payload, visible_audit, visible_entries

blp = Blueprint(
    "journal", __name__, url_prefix="", description="Journal des écritures et traces d'audit"
)


class JournalFilterSchema(ma.Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf([str(k) for k in Kind]))
    vacancy = ma.fields.Integer()
    dwelling = ma.fields.Integer()
    landlord = ma.fields.Integer()
    departement = ma.fields.String()
    year = ma.fields.Integer(validate=ma.validate.Range(2000, 2100))
    date_from = ma.fields.Date(validate=SANE_DATES, data_key="from")
    date_to = ma.fields.Date(validate=SANE_DATES, data_key="to")
    request_id = ma.fields.String()


class JournalEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    effective_date = ma.fields.Date()
    recorded_at = ma.fields.DateTime()
    actor_user_id = ma.fields.Integer(allow_none=True)
    actor_organisation_id = ma.fields.Integer(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    landlord_id = ma.fields.Integer(allow_none=True)
    departement = ma.fields.String(attribute="departement_code", allow_none=True)
    period = ma.fields.Integer(allow_none=True)
    dwelling_id = ma.fields.Integer(allow_none=True)
    vacancy_id = ma.fields.Integer(allow_none=True)
    convention_id = ma.fields.Integer(allow_none=True)
    share_id = ma.fields.Integer(allow_none=True)
    reverses_id = ma.fields.Integer(allow_none=True)
    payload = ma.fields.Dict()


class AuditFilterSchema(ma.Schema):
    table = ma.fields.String()
    user = ma.fields.Integer()
    request_id = ma.fields.String()


class AuditRecordSchema(ma.Schema):
    id = ma.fields.Integer()
    recorded_at = ma.fields.DateTime()
    user_id = ma.fields.Integer(allow_none=True)
    organisation_id = ma.fields.Integer(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    action = ma.fields.String()
    table = ma.fields.String(attribute="table_name")
    row_key = ma.fields.String()
    changes = ma.fields.Dict()


@blp.route("/journal")
class Journal(MethodView):
    @blp.arguments(JournalFilterSchema, location="query")
    @blp.response(200, JournalEntrySchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Les écritures du journal (ajout seul) que l'appelant peut voir, dans l'ordre où
        elles ont été enregistrées, avec leur auteur, leur organisation et leur requête."""
        stmt = (
            sa.select(JournalEntry)
            .where(visible_entries(current_actor()))
            .order_by(JournalEntry.id)
        )
        for key, column in (
            ("kind", JournalEntry.kind),
            ("dwelling", JournalEntry.dwelling_id),
            ("landlord", JournalEntry.landlord_id),
            ("departement", JournalEntry.departement_code),
            ("year", JournalEntry.period),
            ("request_id", JournalEntry.request_id),
        ):
            if key in filters:
                stmt = stmt.where(column == filters[key])
        if "vacancy" in filters:
            stmt = stmt.where(
                sa.or_(
                    JournalEntry.id == filters["vacancy"],
                    JournalEntry.vacancy_id == filters["vacancy"],
                )
            )
        if "date_from" in filters:
            stmt = stmt.where(JournalEntry.effective_date >= filters["date_from"])
        if "date_to" in filters:
            stmt = stmt.where(JournalEntry.effective_date <= filters["date_to"])
        actor = current_actor()
        return [
            {
                **{c.key: getattr(e, c.key) for c in sa.inspect(JournalEntry).column_attrs},
                "payload": readable_payload(actor, e),
            }
            for e in page_of(stmt, pagination_parameters)
        ]


@blp.route("/audit")
class Audit(MethodView):
    @blp.arguments(AuditFilterSchema, location="query")
    @blp.response(200, AuditRecordSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Les traces d'audit des écritures hors journal (organisations, patrimoine,
        conventions, utilisateurs, jetons) : toutes pour un administrateur, celles de son
        organisation pour les autres. Les secrets n'y figurent jamais."""
        stmt = sa.select(AuditRecord).where(visible_audit(current_actor())).order_by(AuditRecord.id)
        for key, column in (
            ("table", AuditRecord.table_name),
            ("user", AuditRecord.user_id),
            ("request_id", AuditRecord.request_id),
        ):
            if key in filters:
                stmt = stmt.where(column == filters[key])
        return page_of(stmt, pagination_parameters)
