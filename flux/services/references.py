"""Codes accepted wherever ids are: an organisation by its code, a convention by its reference,
a share by « <référence de convention>/<code de part> ».

An unknown code is bad input (422, naming the field), never an empty list: a typo must not read
as "nothing to do".
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.models import Convention, Organisation, Share
from flux.services.errors import InvalidInput


def _unknown(field: str, what: str, ref: str, location: str) -> InvalidInput:
    message = f"{what} inconnu(e) : « {ref} »."
    return InvalidInput(message, errors={location: {field: [message]}})


def organisation_id(
    session: Session, ref: int | str | None, field: str, location: str = "query"
) -> int | None:
    """An organisation's id from its id or its code (e.g. "action-logement")."""
    if ref is None or isinstance(ref, int):
        return ref
    found = session.scalar(sa.select(Organisation.id).where(Organisation.code == ref))
    if found is None:
        raise _unknown(field, "Organisation", ref, location)
    return found


def convention_id(
    session: Session, ref: int | str | None, field: str = "convention", location: str = "query"
) -> int | None:
    """A convention's id from its id or its reference."""
    if ref is None or isinstance(ref, int):
        return ref
    found = session.scalar(sa.select(Convention.id).where(Convention.reference == ref))
    if found is None:
        raise _unknown(field, "Convention", ref, location)
    return found


def share_id(
    session: Session, ref: int | str | None, field: str = "share", location: str = "query"
) -> int | None:
    """A share's id from its id or « <convention reference>/<share code> »."""
    if ref is None or isinstance(ref, int):
        return ref
    reference, _, code = ref.rpartition("/")
    found = session.scalar(
        sa.select(Share.id)
        .join(Convention, Share.convention_id == Convention.id)
        .where(Convention.reference == reference, Share.code == code)
    )
    if found is None:
        raise _unknown(field, "Part", ref, location)
    return found


def numeric_or_code(value: str | int) -> int | str:
    """A query-string value: digits give an id, anything else is a code."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value
