"""Declarative files (TOML, CSV) → the API's schemas → the services.

Files are validated with exactly the schemas the API uses, so a file and a request
are refused for the same reasons; every error names the file and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import marshmallow as ma
from sqlalchemy.orm import Session

from flux.api.conventions.schemas import ConventionInputSchema
from flux.api.dwellings.schemas import DwellingSchema
from flux.api.organisations.schemas import OrganisationSchema
from flux.domain.errors import DomainError
from flux.services import conventions, dwellings, organisations, territories
from flux.services.access import SYSTEM, Actor
from flux.services.errors import ServiceError
from flux.services.organisations import NewOrganisation


class FileError(Exception):
    """A declarative file is refused: the message names the file and the field (in French)."""


def _plain(value: Any) -> Any:
    """TOML gives dates as date objects; the API receives ISO strings: load both the same way."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return _plain(tomllib.load(handle))
    except tomllib.TOMLDecodeError as error:
        raise FileError(f"{path} : TOML invalide ({error}).") from error


def _flatten(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        return [
            line
            for key, value in messages.items()
            for line in _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return [f"{prefix} : {' '.join(messages)}"]
    if isinstance(messages, list):
        return [
            line
            for index, item in enumerate(messages)
            for line in _flatten(item, f"{prefix}[{index}]")
        ]
    return [f"{prefix} : {messages}"]


def _describe(error: Exception) -> str:
    if isinstance(error, ma.ValidationError):
        return "; ".join(_flatten(error.messages))
    if isinstance(error, ServiceError):
        fields = "; ".join(_flatten(error.errors.get("json", error.errors))) if error.errors else ""
        return f"{error.detail}{' (' + fields + ')' if fields else ''}"
    if isinstance(error, DomainError):
        field = getattr(error, "field", None)
        return f"{field} : {error.message}" if field else error.message
    raise error


def load_conventions(session: Session, directory: Path, actor: Actor = SYSTEM) -> list[str]:
    """Load every *.toml convention of a directory; the caller commits (all or nothing)."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise FileError(f"{directory} : aucun fichier de convention (*.toml).")
    loaded, schema = [], ConventionInputSchema()
    for path in files:
        try:
            saved = conventions.create(session, actor, schema.load(read_toml(path)))
        except (ma.ValidationError, ServiceError, DomainError) as error:
            raise FileError(f"{path.name} : {_describe(error)}") from error
        for warning in saved.warnings:
            loaded.append(f"{path.name} : avertissement : {warning.message}")
        loaded.append(f"{path.name} : convention {saved.convention.reference} chargée")
    return loaded


def load_territory(session: Session, path: Path) -> dict[str, int]:
    try:
        return territories.load_territory(session, read_toml(path))
    except (KeyError, ValueError, ServiceError) as error:
        raise FileError(f"{path.name} : {error}") from error


def load_organisations(session: Session, path: Path, actor: Actor = SYSTEM) -> int:
    schema = OrganisationSchema()
    entries = read_toml(path).get("organisation", [])
    for index, entry in enumerate(entries):
        try:
            organisations.create(session, actor, NewOrganisation(**schema.load(entry)))
        except (ma.ValidationError, ServiceError) as error:
            raise FileError(f"{path.name} : organisation[{index}] : {_describe(error)}") from error
    return len(entries)


def import_dwellings(
    session: Session,
    path: Path,
    landlord: str | None,
    actor: Actor = SYSTEM,
    progress: Callable[[int, int | None], None] | None = None,
) -> dwellings.ImportReport:
    """Import a dwellings CSV file, read as it comes (see ``dwellings.import_csv``)."""
    schema = DwellingSchema(exclude=("landlord",))
    try:
        with path.open("rb") as stream:
            return dwellings.import_csv(
                session, actor, stream, landlord, schema.load, progress=progress
            )
    except ServiceError as error:
        lines = error.errors.get("files", {}).get("file", {})
        details = "; ".join(
            f"ligne {line} : {'; '.join(_flatten(fields))}"
            for line, fields in list(lines.items())[:20]
        )
        raise FileError(f"{path.name} : {error.detail} {details}".strip()) from error
