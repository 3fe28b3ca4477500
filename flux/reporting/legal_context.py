"""What the obligation checks need beyond the journal (issue 12): the préfet's derogations to
the État's caps, the EPCIs subject to the attribution reform with their quartile rates, the
rights granted for loan guarantees by commune, and the late amendments of the year. Read once
per report with the catalogue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.conventions import COLLECTIVITES, Derogation
from flux.domain.reference import PerimeterKind
from flux.models import (
    Commune,
    Convention,
    ConventionVersion,
    EtatDerogation,
    JournalEntry,
    Organisation,
    ReformEpci,
    ShareTerms,
    VersionCommune,
)
from flux.services.allocation_book import Scope


@dataclass(frozen=True)
class LegalContext:
    year: int = 0
    derogations: dict[Scope, list[Derogation]] = field(default_factory=dict)
    # SIREN -> (first-quartile rate, other-quartiles rate) in basis points; None: no list
    # loaded for the year (the quartile checks then say so).
    reform_epcis: dict[str, tuple[int, int]] | None = None
    guarantees: dict[Scope, dict[str, int]] = field(default_factory=dict)  # commune -> bp
    late_amendments: dict[Scope, list[dict[str, Any]]] = field(default_factory=dict)


def load(session: Session, scopes: Iterable[Scope], year: int) -> LegalContext:
    scopes = set(scopes)
    if not scopes:
        return LegalContext(year)
    first, last = date(year, 1, 1), date(year, 12, 31)
    landlords = {s.landlord_id for s in scopes}
    departements = {s.departement for s in scopes}
    derogations: dict[Scope, list[Derogation]] = defaultdict(list)
    for row in session.scalars(
        sa.select(EtatDerogation)
        .where(
            EtatDerogation.landlord_id.in_(landlords),
            EtatDerogation.starts_on <= last,
            EtatDerogation.ends_on >= first,
        )
        .order_by(EtatDerogation.starts_on)
    ):
        scope = Scope(row.landlord_id, row.departement_code)
        if scope in scopes:
            derogations[scope].append(
                Derogation(
                    row.arrete_reference,
                    row.starts_on,
                    row.ends_on,
                    row.etat_cap_bp,
                    row.agents_cap_bp,
                )
            )
    reform = {
        siren: (first_bp, other_bp)
        for siren, first_bp, other_bp in session.execute(
            sa.select(
                ReformEpci.epci_siren, ReformEpci.first_quartile_bp, ReformEpci.other_quartiles_bp
            ).where(ReformEpci.year == year)
        )
    }
    return LegalContext(
        year,
        dict(derogations),
        reform or None,
        _guarantees(session, scopes, landlords, departements, first, last),
        _late_amendments(session, scopes, landlords, year),
    )


def _guarantees(
    session: Session,
    scopes: set[Scope],
    landlords: set[int],
    departements: set[str],
    first: date,
    last: date,
) -> dict[Scope, dict[str, int]]:
    """Per scope and commune, the guarantee-backed rights of every collectivité covering it
    (each share at its highest percentage in the year)."""
    rows = session.execute(
        sa.select(
            Convention.landlord_id,
            Convention.departement_code,
            ConventionVersion.id,
            ConventionVersion.perimeter_kind,
            ConventionVersion.perimeter_code,
            ShareTerms.share_id,
            ShareTerms.basis_points,
        )
        .join(ConventionVersion, ConventionVersion.convention_id == Convention.id)
        .join(ShareTerms, ShareTerms.version_id == ConventionVersion.id)
        .join(Organisation, Convention.reserver_id == Organisation.id)
        .where(
            Convention.landlord_id.in_(landlords),
            Convention.departement_code.in_(departements),
            Organisation.category.in_([str(c) for c in COLLECTIVITES]),
            ShareTerms.guarantee_backed.is_(True),
            ConventionVersion.valid_from <= last,
            sa.or_(ConventionVersion.valid_until.is_(None), ConventionVersion.valid_until >= first),
            sa.or_(ShareTerms.ends_on.is_(None), ShareTerms.ends_on >= first),
        )
    ).all()
    best: dict[tuple[Scope, int], tuple[int, frozenset[str]]] = {}
    for landlord, departement, version_id, kind, code, share_id, bp in rows:
        scope = Scope(landlord, departement)
        if scope not in scopes:
            continue
        communes = _communes(session, PerimeterKind(kind), code, version_id, departement)
        if bp > best.get((scope, share_id), (0, frozenset()))[0]:
            best[(scope, share_id)] = (bp, communes)
    totals: dict[Scope, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (scope, _), (bp, communes) in best.items():
        for commune in communes:
            totals[scope][commune] += bp
    return {scope: dict(by_commune) for scope, by_commune in totals.items()}


def _communes(
    session: Session, kind: PerimeterKind, code: str | None, version_id: int, departement: str
) -> frozenset[str]:
    if kind is PerimeterKind.COMMUNES:
        stmt = sa.select(VersionCommune.commune_insee).where(
            VersionCommune.version_id == version_id
        )
    elif kind is PerimeterKind.EPCI:
        stmt = sa.select(Commune.insee).where(Commune.epci_siren == code)
    else:
        stmt = sa.select(Commune.insee).where(Commune.departement_code == (code or departement))
    return frozenset(session.scalars(stmt))


def _late_amendments(
    session: Session, scopes: set[Scope], landlords: set[int], year: int
) -> dict[Scope, list[dict[str, Any]]]:
    """The late amendments (terms keyed after vacancies they reach back over) of the year."""
    found: dict[Scope, list[dict[str, Any]]] = defaultdict(list)
    for entry in session.scalars(
        sa.select(JournalEntry)
        .where(
            JournalEntry.kind == "terms_changed",
            JournalEntry.landlord_id.in_(landlords),
            JournalEntry.period == year,
        )
        .order_by(JournalEntry.id)
    ):
        scope = Scope(entry.landlord_id, entry.departement_code)
        if scope in scopes and entry.payload.get("late"):
            found[scope].append(
                {
                    "reference": entry.payload["reference"],
                    "version": entry.payload["version"],
                    "effective_from": entry.effective_date,
                    "recorded_on": entry.recorded_at.date(),
                    "latest_vacancy": entry.payload.get("latest_vacancy"),
                    "retargeted": entry.payload.get("vacancies_retargeted", 0),
                }
            )
    return dict(found)
