from __future__ import annotations

import marshmallow as ma


class DepartementSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class EpciSchema(ma.Schema):
    siren = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    departement_code = ma.fields.String(required=True)


class CommuneSchema(ma.Schema):
    insee = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    departement_code = ma.fields.String(required=True)
    epci_siren = ma.fields.String(allow_none=True)
    qpv_codes = ma.fields.Method("_qpv_codes")

    def _qpv_codes(self, commune) -> list[str]:
        return [qpv.code for qpv in commune.qpvs]


class QpvSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    communes = ma.fields.Method("_communes")

    def _communes(self, qpv) -> list[str]:
        return [commune.insee for commune in qpv.communes]


class EpciFilterSchema(ma.Schema):
    departement = ma.fields.String()


class CommuneFilterSchema(ma.Schema):
    departement = ma.fields.String()
    epci = ma.fields.String()


class QpvFilterSchema(ma.Schema):
    commune = ma.fields.String()
