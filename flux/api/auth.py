"""Bearer-token authentication for every /api/v1 endpoint except the public ones."""

from __future__ import annotations

import dataclasses
import uuid

from flask import Flask, Response, current_app, g, request

from flux.db import db
from flux.services.access import Actor
from flux.services.users import actor_for_token_cached

from .problems import problem

# Endpoints anyone may call: health, the OpenAPI document and its browsable docs.
PUBLIC_ENDPOINTS = {
    "health.Health",
    "api-docs.openapi_json",
    "docs_assets.page",
    "users.Login",
    "docs_assets.asset",
}


def current_actor() -> Actor:
    return g.actor


def register(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> Response | None:
        if request.endpoint in PUBLIC_ENDPOINTS or not request.path.startswith("/api/"):
            return None
        if request.endpoint is None:  # unknown URL: let the 404/405 handler answer
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        actor = None
        if scheme.lower() == "bearer" and secret.strip():
            actor = actor_for_token_cached(
                db.session, secret.strip(), current_app.config.get("TOKEN_CACHE_SECONDS", 0)
            )
        if actor is None:
            return problem(401, headers={"WWW-Authenticate": 'Bearer realm="flux"'})
        request_id = g.get("request_id")  # set by flux.ops.logs for every request
        if request_id is None:
            given = request.headers.get("X-Request-Id", "")[:64]
            # recorded as is (journal, audit): a control character would not store everywhere
            request_id = given if given.isprintable() and given else uuid.uuid4().hex
        g.actor = dataclasses.replace(actor, request_id=request_id)
        db.session.info["actor"] = g.actor  # audit records name who wrote
        return None
