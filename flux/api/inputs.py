"""Input that no field can hold: NUL characters.

PostgreSQL text cannot store a NUL character (SQLite can): without this check the same
request would be stored on one engine and fail on the other. No code, name, label or reason
contains one, so every request argument (JSON body, query string, form) holding a NUL
character is refused with 422 naming the field, and a path segment holding one matches no
route (404). Installed before the blueprints are declared (their decorators take the parser).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask
from flask_smorest import abort
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import UnicodeConverter

NUL = "\x00"
MESSAGE = "Caractère nul (U+0000) interdit."


def nul_errors(data: Any) -> Any:
    """marshmallow-shaped errors for every string (or key) holding a NUL character, or None."""
    if isinstance(data, str):
        return [MESSAGE] if NUL in data else None
    if isinstance(data, Mapping):
        errors = {}
        getlist = getattr(data, "getlist", None)
        for key in data:
            values = getlist(key) if getlist else [data[key]]
            found = [MESSAGE] if isinstance(key, str) and NUL in key else None
            for value in values:
                found = found or nul_errors(value)
            if found:
                errors[key.replace(NUL, "\\0") if isinstance(key, str) else key] = found
        return errors or None
    if isinstance(data, list | tuple):
        errors = {index: nul_errors(item) for index, item in enumerate(data)}
        return {index: found for index, found in errors.items() if found} or None
    return None


class FluxParser(FlaskParser):
    """webargs' Flask parser, refusing NUL characters before the schema loads the data, and a
    body that is not JSON where JSON is expected (415, not a list of missing fields)."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req) and req.get_data(cache=True):
            abort(
                415,
                message="Corps de requête attendu en JSON (en-tête « Content-Type: "
                f"application/json ») ; reçu : « {req.mimetype or 'aucun type'} ».",
            )
        return super()._raw_load_json(req)

    def _load_location_data(self, *, schema: ma.Schema, req: Any, location: str) -> Any:
        data = super()._load_location_data(schema=schema, req=req, location=location)
        errors = nul_errors(data)
        if errors:
            raise ma.ValidationError(errors)
        return data


class PathSegmentConverter(UnicodeConverter):
    """`<string:…>` path parameters: one segment, without NUL characters."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]", 1)


def install_converters(app: Flask) -> None:
    app.url_map.converters["default"] = PathSegmentConverter
    app.url_map.converters["string"] = PathSegmentConverter


flask_smorest.Blueprint.ARGUMENTS_PARSER = FluxParser()
