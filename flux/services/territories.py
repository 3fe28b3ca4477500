"""Territories: loading the reference file and answering perimeter questions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.reference import EpciKind, PerimeterKind
from flux.models import Commune, Departement, Epci, Qpv
from flux.services.errors import InvalidInput


def _scope_conventions():  # imported late: scope_conventions imports this module
    from flux.services import scope_conventions

    return scope_conventions


def load_territory(session: Session, data: dict[str, Any]) -> dict[str, int]:
    """Upsert a territory file (see conventions/README.md); the caller commits."""
    dep = data.get("departement") or {}
    if not dep.get("code") or not dep.get("name"):
        raise InvalidInput("Le fichier de territoire doit décrire [departement] code et name.")
    _lock_scopes(session, dep["code"])
    session.merge(Departement(code=dep["code"], name=dep["name"]))
    for epci in data.get("epci", []):
        session.merge(
            Epci(
                siren=epci["siren"],
                name=epci["name"],
                kind=EpciKind(epci["kind"]),
                departement_code=dep["code"],
            )
        )
    for commune in data.get("commune", []):
        session.merge(
            Commune(
                insee=commune["insee"],
                name=commune["name"],
                departement_code=dep["code"],
                epci_siren=commune.get("epci"),
            )
        )
    session.flush()
    for qpv in data.get("qpv", []):
        row = session.merge(Qpv(code=qpv["code"], name=qpv["name"]))
        row.communes = [session.get_one(Commune, insee) for insee in qpv.get("communes", [])]
    session.flush()
    _load_reform_epcis(session, data.get("reform_epci", []))
    _scope_conventions().clear_cache()  # perimeters resolve against the territory tables
    return {
        "epci": len(data.get("epci", [])),
        "communes": len(data.get("commune", [])),
        "qpv": len(data.get("qpv", [])),
    }


def _load_reform_epcis(session: Session, rows: list[dict[str, Any]]) -> None:
    """The EPCIs subject to the attribution reform, per year, with their quartile rates
    (L.441-1; defaults 25 % outside QPV, 50 % inside)."""
    from flux.domain.conventions import parse_percent
    from flux.models import ReformEpci

    for row in rows:
        try:
            first = parse_percent(str(row.get("first_quartile", "25")))
            other = parse_percent(str(row.get("other_quartiles", "50")))
        except ValueError as error:
            raise InvalidInput(f"[[reform_epci]] {row.get('siren')} : {error}") from error
        if session.get(Epci, row.get("siren")) is None:
            raise InvalidInput(f"[[reform_epci]] : EPCI « {row.get('siren')} » inconnu.")
        for year in row.get("years", []):
            session.merge(
                ReformEpci(
                    year=int(year),
                    epci_siren=row["siren"],
                    first_quartile_bp=first,
                    other_quartiles_bp=other,
                )
            )
    session.flush()


def _lock_scopes(session: Session, departement: str) -> None:
    """Perimeters resolve against these tables: take the lock of every scope of the département
    that decides with them (issue 15), in a fixed order, before changing them."""
    from flux.models import Convention
    from flux.services import allocation_book

    session.flush()
    landlords = session.scalars(
        sa.select(Convention.landlord_id)
        .where(Convention.departement_code == departement)
        .distinct()
        .order_by(Convention.landlord_id)
    ).all()
    for landlord_id in landlords:
        allocation_book.lock(session, allocation_book.Scope(landlord_id, departement))


def perimeter_communes(
    session: Session, kind: PerimeterKind, code: str | None, communes: Iterable[str] = ()
) -> frozenset[str]:
    """Resolve a perimeter to the INSEE codes of its communes."""
    if kind is PerimeterKind.DEPARTEMENT:
        stmt = sa.select(Commune.insee).where(Commune.departement_code == code)
    elif kind is PerimeterKind.EPCI:
        stmt = sa.select(Commune.insee).where(Commune.epci_siren == code)
    else:
        return frozenset(communes)
    return frozenset(session.scalars(stmt))


def reserver_territory(
    session: Session, category: str, territory_code: str | None
) -> frozenset[str] | None:
    """INSEE codes of a territorial reserver's own territory (commune, EPCI, EPT, Métropole de
    Lyon, Ville de Paris), else None."""
    if territory_code is None:
        return None
    if category in ("commune", "ville_paris"):
        return frozenset({territory_code})
    if category in ("epci", "ept", "metropole_lyon"):
        return perimeter_communes(session, PerimeterKind.EPCI, territory_code)
    return None
