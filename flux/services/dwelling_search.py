"""Finding dwellings by what a person types: an RPLS number, words of an address, a commune.

Only among the dwellings the caller sees (the policy's `visible_dwellings`: a landlord its own
stock, a prefecture its département's, an admin all). Each question is answered in a bounded
number of statements, whatever the number of dwellings found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.models import Commune, Dwelling, Organisation
from flux.services.access import Actor, visible_dwellings

PAGE_SIZE = 50
MAX_CHOICES = 20  # dwellings offered to choose from when a typed reference is ambiguous
_MAX_WORDS = 8


@dataclass(frozen=True)
class Found:
    """A dwelling as a list shows it."""

    dwelling: Dwelling
    commune: str  # its commune's name
    landlord: str  # its landlord's name


@dataclass(frozen=True)
class DwellingPage:
    rows: list[Found]
    total: int
    page: int
    pages: int


def _words(text: str) -> list[str]:
    """The typed words, lower-cased, LIKE's wildcards escaped."""
    cleaned = text.strip().lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
    return [w for w in cleaned.replace(",", " ").split() if w][:_MAX_WORDS]


def _listing(actor: Actor) -> sa.Select[Any]:
    return (
        sa.select(Dwelling, Commune.name, Organisation.name)
        .join(Commune, Commune.insee == Dwelling.commune_insee)
        .join(Organisation, Organisation.id == Dwelling.landlord_id)
        .where(visible_dwellings(actor))
    )


def _matching(stmt: sa.Select[Any], words: list[str], with_commune: bool) -> sa.Select[Any]:
    """Every typed word is in the RPLS number, the address or (if asked) the commune's name."""
    for word in words:
        like = f"%{word}%"
        columns = [
            sa.func.lower(Dwelling.rpls_id).like(like, escape="\\"),
            sa.func.lower(sa.func.coalesce(Dwelling.address, "")).like(like, escape="\\"),
        ]
        if with_commune:
            columns += [
                sa.func.lower(Commune.name).like(like, escape="\\"),
                Dwelling.commune_insee == word.upper(),
            ]
        stmt = stmt.where(sa.or_(*columns))
    return stmt


def search(session: Session, actor: Actor, text: str, page: int) -> DwellingPage:
    """Patrimoine's list: the visible dwellings whose RPLS number, address or commune contains
    every typed word (all of them without words), 50 a page ordered by RPLS number; two
    statements (the count, the page)."""
    stmt = _matching(_listing(actor), _words(text), with_commune=True)
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = session.execute(
        stmt.order_by(Dwelling.rpls_id, Dwelling.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return DwellingPage(
        [Found(d, commune, landlord) for d, commune, landlord in rows], total, page, pages
    )


def candidates(session: Session, actor: Actor, text: str) -> list[Found]:
    """The dwellings a freed-dwelling form's reference designates among the caller's: those
    whose RPLS number is exactly the text if any, otherwise those whose RPLS number or address
    contains every typed word; at most MAX_CHOICES + 1 (more means: type more). One statement,
    or two when no RPLS number is exactly the text."""
    reference = text.strip()
    if not reference:
        return []
    base = _listing(actor).order_by(Dwelling.rpls_id, Dwelling.id)
    exact = session.execute(
        base.where(sa.func.upper(Dwelling.rpls_id) == reference.upper()).limit(MAX_CHOICES + 1)
    ).all()
    rows = (
        exact
        or session.execute(
            _matching(base, _words(reference), with_commune=False).limit(MAX_CHOICES + 1)
        ).all()
    )
    return [Found(d, commune, landlord) for d, commune, landlord in rows]


def one(session: Session, actor: Actor, dwelling_id: int) -> Found | None:
    """One dwelling the caller sees, by id (None if it does not see it); one statement."""
    row = session.execute(_listing(actor).where(Dwelling.id == dwelling_id)).first()
    return Found(*row) if row else None
