from __future__ import annotations

import marshmallow as ma

from flux.services.notifications import DELIVERIES


class NotificationSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(
        metadata={
            "description": "oriented, deadline_soon, deadline_passed, carence, take_back, "
            "cal_refusal, bilan_issued, alert"
        }
    )
    subject = ma.fields.String()
    body = ma.fields.String()
    vacancy_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)
    read = ma.fields.Method("_read")
    email_status = ma.fields.String(
        metadata={"description": "pending, sending, sent, not_sent (courriel désactivé)"}
    )

    def _read(self, notification) -> bool:
        return notification.read_at is not None


class NotificationFilterSchema(ma.Schema):
    unread = ma.fields.Boolean(
        metadata={"description": "Seulement les non lues (true) ou les lues (false)"}
    )


class MarkedSchema(ma.Schema):
    marked = ma.fields.Integer(metadata={"description": "Notifications marquées lues"})


class PreferencesSchema(ma.Schema):
    delivery = ma.fields.String(
        validate=ma.validate.OneOf(DELIVERIES),
        metadata={
            "description": "immediate : un courriel par notification ; digest : un résumé par jour"
        },
    )
    reminder_days = ma.fields.Integer(
        validate=ma.validate.Range(0, 60),
        metadata={"description": "Rappel N jours avant l'échéance de désignation (défaut 5)"},
    )
    email = ma.fields.Boolean(metadata={"description": "Recevoir les notifications par courriel"})
