"""Errors raised by services; the API turns each into a problem document (RFC 9457)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal with an HTTP-independent meaning; `status` is the natural HTTP mapping."""

    status = 400
    slug = "requete-invalide"
    title = "Requête invalide"

    def __init__(
        self,
        detail: str,
        *,
        errors: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}
        self.extra = extra or {}


class Unauthenticated(ServiceError):
    status = 401
    slug = "authentification"
    title = "Authentification requise"


class NotFound(ServiceError):
    """The object does not exist, or the caller may not see it (never reveal which)."""

    status = 404
    slug = "introuvable"
    title = "Ressource introuvable"


class Forbidden(ServiceError):
    status = 403
    slug = "interdit"
    title = "Action non autorisée"


class Conflict(ServiceError):
    status = 409
    slug = "conflit"
    title = "Conflit avec l'état existant"


class InvalidInput(ServiceError):
    status = 422
    slug = "donnees-invalides"
    title = "Données invalides"


class PreconditionFailed(ServiceError):
    status = 412
    slug = "version-perimee"
    title = "La ressource a été modifiée entre-temps"


class PreconditionRequired(ServiceError):
    status = 428
    slug = "if-match-requis"
    title = "En-tête If-Match requis"
