"""Every error leaves as an RFC 9457 problem document (application/problem+json)."""

from __future__ import annotations

import contextlib
import http
import logging
import re
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from apispec import BasePlugin
from flask import Flask, Response, current_app, json, request
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from flux.api.common import MAX_ID
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
    429: "Trop de tentatives",
    500: "Erreur interne",
    503: "Service momentanément indisponible",
}
_DETAILS = {
    401: "Fournissez un jeton valide : « Authorization: Bearer <jeton> ».",
    404: "Aucune ressource à cette adresse, ou vous n'y avez pas accès.",
    412: "Relisez la ressource (GET) et renvoyez sa nouvelle ETag dans If-Match.",
    413: "Le corps de la requête dépasse la taille maximale autorisée.",
    422: "Certains champs sont invalides : voir « errors ».",
    428: "Relisez la ressource (GET) et renvoyez son ETag dans l'en-tête If-Match.",
    429: "Trop de tentatives de connexion : réessayez après le délai indiqué (Retry-After).",
    500: "Une erreur inattendue est survenue ; elle a été journalisée.",
    503: "La base de données ne répond pas ; réessayez dans quelques secondes.",
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


class IntegerBounds(BasePlugin):
    """Declare the maximum of every integer query parameter that has none (ids, pages)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema") if isinstance(parameter, dict) else None
                if (
                    parameter.get("in") == "query"
                    and isinstance(schema, dict)
                    and schema.get("type") == "integer"
                ):
                    # MAX_ID, the widest integer the id and count columns hold: declared as
                    # the maximum of every integer query parameter, enforced by
                    # check_integer_bounds()
                    schema.setdefault("maximum", MAX_ID)


_RULE_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def _query_bounds(app: Flask) -> dict[tuple[str, str], dict[str, int | None]]:
    """(method, OpenAPI path) -> integer query parameter -> maximum, from the document the
    API serves (computed once per app)."""
    found = app.extensions.get("flux_query_bounds")
    if found is None:
        found = {}
        api = app.extensions.get("flux_api")
        document = api.spec.to_dict() if api is not None else {"paths": {}}
        for path, item in document["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict):
                    continue
                bounds = {
                    p["name"]: p["schema"].get("maximum")
                    for p in operation.get("parameters", [])
                    if p.get("in") == "query" and p.get("schema", {}).get("type") == "integer"
                }
                if bounds:
                    found[(method.upper(), path)] = bounds
        app.extensions["flux_query_bounds"] = found
    return found


def check_integer_bounds() -> Response | None:
    """Integer query parameters beyond the bounds the document declares: 422 (the database
    could not hold them; SQLite and PostgreSQL answered differently)."""
    if request.url_rule is None or not request.args:
        return None
    path = _RULE_ARGUMENT.sub(r"{\1}", request.url_rule.rule)
    bounds = _query_bounds(current_app).get((request.method, path))
    if not bounds:
        return None
    errors: dict[str, list[str]] = {}
    for name, maximum in bounds.items():
        for raw in request.args.getlist(name):
            try:
                value = int(raw.strip())
            except ValueError:
                continue  # not an integer: the parameter's schema says so (422)
            if maximum is not None and value > maximum:  # minima: the schemas' validators
                errors[name] = [f"Doit être au plus {maximum}."]
    if errors:
        return problem(422, errors={"query": errors}, slug="donnees-invalides")
    return None


class FluxApi(Api):
    """flask-smorest's Api with problem documents instead of its own error payload."""

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *, extra_plugins=None, **options):
        plugins = [*(extra_plugins or ()), ProblemResponses(), IntegerBounds()]
        super()._init_spec(extra_plugins=plugins, **options)

    def init_app(self, app, *, spec_kwargs=None):
        super().init_app(app, spec_kwargs=spec_kwargs)
        app.extensions["flux_api"] = self  # the document, for checks that follow it

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
        headers = dict(data.get("headers") or {})
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110 §15.5.6
        return problem(
            error.code or 500,
            detail=data.get("message") if error.code != 500 else None,
            errors=_translated(errors),
            headers=headers,
            slug="donnees-invalides" if error.code == 422 else None,
        )


def register(app: Flask) -> None:
    register_limits(app)
    register_unavailable(app)

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


# --- limits on JSON bodies, checked before any parser sees them ----------------------------

# Brackets outside strings give the nesting depth; strings are skipped whole (escapes included).
_JSON_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)


def json_depth(body: bytes, limit: int) -> int:
    """The nesting depth of a JSON text, counted without parsing it (stops past `limit`)."""
    depth = deepest = 0
    for match in _JSON_TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def check_json_limits() -> Response | None:
    """Refuse a JSON body too large (413) or too deeply nested (400) before it is parsed:
    Python's parser would recurse until it fails, costing a 500 and a long traceback."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not _is_json(request.mimetype):
        return None
    max_bytes = current_app.config["JSON_MAX_BYTES"]
    max_depth = current_app.config["JSON_MAX_DEPTH"]
    if request.content_length is not None and request.content_length > max_bytes:
        return _refused_json(413, f"Corps JSON de plus de {max_bytes} octets.")
    body = request.get_data(cache=True)  # kept: the parser reads it from the cache
    if len(body) > max_bytes:
        return _refused_json(413, f"Corps JSON de plus de {max_bytes} octets.")
    if json_depth(body, max_depth) > max_depth:
        return _refused_json(
            400, f"Corps JSON imbriqué sur plus de {max_depth} niveaux.", slug="json-trop-profond"
        )
    return None


def _refused_json(status: int, detail: str, slug: str | None = None) -> Response:
    log.warning(
        "JSON body refused (%s): %s %s, %s bytes declared",
        status,
        request.method,
        request.path,
        request.content_length,
    )
    return problem(status, detail=detail, slug=slug, errors={"json": {"_schema": [detail]}})


def _requires_json_body() -> bool:
    """Whether the endpoint reads a required JSON body (flask-smorest's `arguments`)."""
    view = current_app.view_functions.get(request.endpoint or "")
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None) or view
    parameters = getattr(method, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(p.get("in") == "json" and p.get("required") for p in parameters)


def check_required_body() -> Response | None:
    """A required body that is missing is a 400, even where every field is optional (webargs
    would read a missing body as {}): the OpenAPI document says the body is required."""
    if request.method not in ("POST", "PUT", "PATCH") or request.content_length:
        return None
    if not _requires_json_body() or request.get_data(cache=True):
        return None
    detail = "Corps de requête JSON requis."
    return problem(400, detail=detail, errors={"json": {"_schema": [detail]}})


def register_limits(app: Flask) -> None:
    """JSON limits (before authentication: unauthenticated callers are refused as early) and
    a fallback for a parser that still recursed too deep."""
    app.before_request(check_json_limits)
    app.before_request(check_required_body)
    app.before_request(check_integer_bounds)

    @app.errorhandler(RecursionError)
    def _too_deep(_error: RecursionError) -> Response:
        log.warning("Request refused: nesting too deep (%s %s)", request.method, request.path)
        return problem(
            400, detail="Données imbriquées trop profondément.", slug="json-trop-profond"
        )


# --- the database unreachable: 503, not 500 ----------------------------------------------


def _unreachable(error: Exception) -> bool:
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError)


def register_unavailable(app: Flask) -> None:
    """A database that does not answer (down, restarting, connection cut) gives 503 with
    Retry-After, logged in one line; any other database error stays a 500 (a bug)."""

    @app.errorhandler(sa.exc.DBAPIError)
    def _database_error(error: sa.exc.DBAPIError) -> Response:
        if not _unreachable(error):
            log.error("Unhandled database error", exc_info=error)
            return problem(500)
        from flux.db import db

        with contextlib.suppress(sa.exc.DBAPIError):
            db.session.rollback()
        log.warning(
            "Database unreachable (%s %s): %s",
            request.method,
            request.path,
            str(error.orig or error).splitlines()[0] if str(error.orig or error) else "",
        )
        retry = str(current_app.config.get("RETRY_AFTER_SECONDS", 5))
        return problem(503, slug="base-indisponible", headers={"Retry-After": retry})
