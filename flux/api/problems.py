"""Every error leaves as an RFC 9457 problem document (application/problem+json)."""

from __future__ import annotations

import http
import logging
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask import Flask, Response, current_app, json
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from flux.domain.errors import DomainError
from flux.services.errors import ServiceError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# French titles for the HTTP errors Werkzeug raises itself.
_TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Action non autorisée",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    409: "Conflit avec l'état existant",
    412: "La ressource a été modifiée entre-temps",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    428: "En-tête If-Match requis",
    500: "Erreur interne",
}
_DETAILS = {
    401: "Fournissez un jeton valide : « Authorization: Bearer <jeton> ».",
    404: "Aucune ressource à cette adresse, ou vous n'y avez pas accès.",
    412: "Relisez la ressource (GET) et renvoyez sa nouvelle ETag dans If-Match.",
    413: "Le corps de la requête dépasse la taille maximale autorisée.",
    422: "Certains champs sont invalides : voir « errors ».",
    428: "Relisez la ressource (GET) et renvoyez son ETag dans l'en-tête If-Match.",
    500: "Une erreur inattendue est survenue ; elle a été journalisée.",
}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every Flux error is returned.

    Some problems carry extension members (the rule broken and its figures, the open
    vacancy...): the schema admits them (unknown = INCLUDE documents additionalProperties).
    """

    class Meta:
        unknown = ma.INCLUDE

    type = ma.fields.String(
        required=True, metadata={"description": "URI identifiant le type d'erreur"}
    )
    title = ma.fields.String(required=True, metadata={"description": "Résumé du type d'erreur"})
    status = ma.fields.Integer(required=True, metadata={"description": "Code HTTP"})
    detail = ma.fields.String(metadata={"description": "Explication propre à cette occurrence"})
    errors = ma.fields.Dict(
        metadata={"description": "Erreurs par emplacement (json, query, headers, files) et champ"}
    )


def problem(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    slug: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:flux:probleme:{slug}" if slug else "about:blank",
        "title": title or _TITLES.get(status, "Erreur"),
        "status": status,
    }
    body["detail"] = detail or _DETAILS.get(status) or _default_detail(status, errors)
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    response.headers.update(headers or {})
    return response


def _default_detail(status: int, errors: dict[str, Any] | None) -> str:
    """Every problem has a `detail` (RFC 9457 makes it optional; users read it first)."""
    if status == 400 and errors:
        return "La requête ne peut pas être lue (par exemple un JSON mal formé) : voir « errors »."
    if errors:
        return "Certaines valeurs sont refusées : voir « errors »."
    return _TITLES.get(status, "Erreur") + "."


# English messages raised by webargs and flask-smorest themselves.
_FRENCH = {
    "Invalid JSON body.": "Corps JSON invalide.",
    "Unknown field.": "Champ inconnu.",
}


def _translated(errors: Any) -> Any:
    if isinstance(errors, dict):
        return {key: _translated(value) for key, value in errors.items()}
    if isinstance(errors, list):
        return [_translated(item) for item in errors]
    if isinstance(errors, str):
        return _FRENCH.get(errors, errors)
    return errors


class ProblemResponses(BasePlugin):
    """Document, on every operation, the errors every route can answer (policy of issue 5):

    - 401 where a bearer token is required (all but the public operations);
    - 404 where the path names an object (it does not exist, or the caller may not see it);
    - 403 on every authenticated write (a read-only account, or a write the caller may not
      make);
    - 400 and 413 where a request body is read (it cannot be parsed; MAX_CONTENT_LENGTH);

    and give every error response documented without a body (``alt_response(403, ...)``) the
    problem document it is sent with.
    """

    WRITES = {"post", "put", "patch", "delete"}

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            secured = operation.get("security") != []
            standard = {
                401: secured,
                404: bool(path and "{" in path),
                403: secured and method in self.WRITES,
                400: "requestBody" in operation,  # a body that cannot be parsed
                413: "requestBody" in operation,
            }
            documented = {str(status) for status in responses}  # int or str keys
            for status, applies in standard.items():
                if applies and str(status) not in documented:
                    responses[str(status)] = http.HTTPStatus(status).name
            for status, response in responses.items():
                if status != "default" and int(status) >= 400 and isinstance(response, dict):
                    response.setdefault("content", {PROBLEM_MEDIA_TYPE: {"schema": "Problem"}})


class FluxApi(Api):
    """flask-smorest's Api with problem documents instead of its own error payload."""

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *, extra_plugins=None, **options):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), ProblemResponses()], **options)

    def _register_pagination_header(self):
        """X-Pagination holds a JSON object: documented as content (application/json), not as
        a header ``schema`` of type object, which would mean "key,value,key,value"."""
        self.spec.components.header(
            "PAGINATION",
            {
                "description": "Métadonnées de pagination (objet JSON)",
                "content": {"application/json": {"schema": PaginationMetadataSchema}},
            },
            lazy=True,
        )

    def _register_responses(self):
        """flask-smorest's error responses, documented with the media type they are sent with
        (application/problem+json, not application/json)."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            media_type = PROBLEM_MEDIA_TYPE if status >= 400 else self.DEFAULT_RESPONSE_CONTENT_TYPE
            prepare_response(response, self.spec, media_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        if error.code == 500:
            original = getattr(error, "original_exception", None)
            if original is not None:
                log.error("Unhandled error", exc_info=original)
        return problem(
            error.code or 500,
            detail=data.get("message") if error.code != 500 else None,
            errors=_translated(errors),
            headers=data.get("headers"),
            slug="donnees-invalides" if error.code == 422 else None,
        )


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        return problem(
            error.status,
            title=error.title,
            detail=error.detail,
            slug=error.slug,
            errors=error.errors,
            **error.extra,
        )

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        field = getattr(error, "field", None)
        message = getattr(error, "message", str(error))
        return problem(
            getattr(error, "status", 422),
            title="Règle de gestion non respectée",
            detail=message,
            slug=f"regle:{getattr(error, 'rule', 'domaine')}",
            errors={"json": {field: [message]}} if field else None,
            rule=getattr(error, "rule", None),
            figures=getattr(error, "figures", {}),
        )
