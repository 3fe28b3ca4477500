"""Write requests take the database's write lock up front (SQLite), and numbers beyond what
the database can hold are refused as bad input, never a 500."""

from __future__ import annotations

import contextlib
import logging
import re

import sqlalchemy as sa
from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter

from flux.db import begin_immediate, db

from .common import MAX_ID  # the widest id column is a 32-bit integer (journal ids are 64-bit)
from .problems import problem

log = logging.getLogger(__name__)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# The one-active-landlord-per-RPLS index, as PostgreSQL and SQLite name it when it refuses.
_ACTIVE_RPLS = re.compile(r"uq_dwellings_rpls_active|UNIQUE constraint failed: dwellings\.rpls_id$")


class IdConverter(IntegerConverter):
    """`<int:…>` path parameters: an id too large for the database is simply not found."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def install_converter(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter


def register(app: Flask) -> None:
    @app.before_request
    def _write_lock() -> None:
        # SQLite cannot upgrade a transaction that has read (the token lookup) into a writer
        # while another writer works: it fails at once with "database is locked". A write
        # request therefore starts its transaction with BEGIN IMMEDIATE, which waits its turn.
        if request.method in WRITE_METHODS and request.path.startswith("/api/"):
            begin_immediate(db.session)

    @app.errorhandler(OverflowError)
    @app.errorhandler(sa.exc.DataError)
    def _out_of_range(_error: Exception) -> Response:
        db.session.rollback()
        return problem(
            422,
            detail="Une valeur dépasse ce que la base de données peut enregistrer "
            "(identifiant ou nombre trop grand, texte invalide).",
            slug="valeur-hors-limites",
        )

    @app.errorhandler(sa.exc.IntegrityError)
    def _conflict(error: sa.exc.IntegrityError) -> Response:
        # The services check before writing; a concurrent request can still have written in
        # between, and a uniqueness constraint then refuses the second: a 409, never a 500.
        # Any other integrity violation (NOT NULL, foreign key, CHECK) is a bug: a logged 500.
        with contextlib.suppress(sa.exc.DBAPIError):
            db.session.rollback()
        if not _unique_violation(error):
            log.error("Unhandled integrity error", exc_info=error)
            return problem(500)
        if _ACTIVE_RPLS.search(str(error.orig)):
            message = (
                "Ce numéro RPLS vient d'être enregistré chez un autre bailleur : un logement "
                "cédé s'enregistre par une cession (POST /api/v1/dwellings/{id}/transfer)."
            )
            return problem(409, detail=message, errors={"json": {"rpls_id": [message]}})
        return problem(
            409,
            detail="La requête contredit une écriture enregistrée entre-temps : "
            "relisez l'état puis réessayez.",
        )


def _unique_violation(error: sa.exc.IntegrityError) -> bool:
    """PostgreSQL's unique_violation (SQLSTATE 23505) or SQLite's UNIQUE constraint."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return True
    return str(orig).startswith("UNIQUE constraint failed")
