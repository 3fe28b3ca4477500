"""The reference data a bilan names things with: shares (label, percentage, reserver, policies
in force in the year), organisations, départements, communes and their EPCI.

Loaded once per report for every scope it covers, in a handful of queries.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.conventions import ReserverCategory, SharePurpose
from flux.models import (
    Commune,
    Convention,
    ConventionVersion,
    Departement,
    Epci,
    Organisation,
    Share,
    ShareTerms,
)
from flux.reporting import legal_context
from flux.reporting.legal_context import LegalContext
from flux.services.allocation_book import Scope

LANDLORD_PART = "Part non réservée du bailleur"


@dataclass(frozen=True)
class ShareInfo:
    """A share as the bilan names it: the terms of the version in force at the year's end, or of
    the last one in force during the year."""

    share_id: int
    scope: Scope
    convention_id: int
    convention_reference: str
    reserver_id: int
    reserver_name: str
    reserver_category: ReserverCategory
    purpose: SharePurpose
    label: str
    basis_points: int
    etat_uniform_by_commune: bool
    etat_hors_qpv_minimum: bool
    counting_event: str = "orientation"  # CountingEvent value
    in_year: bool = True  # in force at some point of the year (else: its last terms)
    # The percentages in force during the year, in order: (first day, last day, basis points);
    # more than one for a share amended in the year.
    periods: tuple[tuple[date, date, int], ...] = ()

    @property
    def is_etat(self) -> bool:
        return self.reserver_category is ReserverCategory.ETAT

    @property
    def is_agents(self) -> bool:
        return self.purpose is SharePurpose.AGENTS_ETAT


@dataclass(frozen=True)
class CommuneInfo:
    name: str
    epci: str | None  # SIREN
    epci_name: str | None


@dataclass
class Catalogue:
    shares: dict[int, ShareInfo]  # every share of the scopes' conventions
    organisations: dict[int, str]  # id -> name
    departements: dict[str, str]  # code -> name
    communes: dict[str, CommuneInfo]  # INSEE -> name and EPCI
    codes: dict[int, str] = field(default_factory=dict)  # organisation id -> code
    # Derogations, reform EPCIs, guarantees, late amendments (the legal checks' inputs).
    legal: LegalContext = field(default_factory=LegalContext)

    def scope_shares(self, scope: Scope) -> list[ShareInfo]:
        """The scope's shares in force at some point of the year, by id."""
        return self.in_year.get(scope, [])

    @functools.cached_property
    def in_year(self) -> dict[Scope, list[ShareInfo]]:
        by_scope: dict[Scope, list[ShareInfo]] = {}
        for info in sorted(self.shares.values(), key=lambda info: info.share_id):
            if info.in_year:
                by_scope.setdefault(info.scope, []).append(info)
        return by_scope


def load(session: Session, scopes: Iterable[Scope], year: int) -> Catalogue:
    scopes = list(scopes)
    landlords = {scope.landlord_id for scope in scopes}
    departements = {scope.departement for scope in scopes}
    shares = _shares(session, set(scopes), landlords, departements, year)
    organisation_ids = landlords | {info.reserver_id for info in shares.values()}
    found = session.execute(
        sa.select(Organisation.id, Organisation.name, Organisation.code).where(
            Organisation.id.in_(organisation_ids)
        )
    ).all()
    organisations = {row.id: row.name for row in found}
    codes = {row.id: row.code for row in found}
    names = dict(
        session.execute(
            sa.select(Departement.code, Departement.name).where(Departement.code.in_(departements))
        ).all()
    )
    communes = {
        insee: CommuneInfo(name, epci, epci_name)
        for insee, name, epci, epci_name in session.execute(
            sa.select(Commune.insee, Commune.name, Commune.epci_siren, Epci.name)
            .outerjoin(Epci, Commune.epci_siren == Epci.siren)
            .where(Commune.departement_code.in_(departements))
        )
    }
    return Catalogue(
        shares, organisations, names, communes, codes, legal_context.load(session, scopes, year)
    )


def _shares(
    session: Session,
    scopes: set[Scope],
    landlords: set[int],
    departements: set[str],
    year: int,
) -> dict[int, ShareInfo]:
    if not scopes:
        return {}
    conventions = {
        row.id: row
        for row in session.execute(
            sa.select(
                Convention.id,
                Convention.reference,
                Convention.landlord_id,
                Convention.departement_code,
                Organisation.id.label("reserver_id"),
                Organisation.name.label("reserver_name"),
                Organisation.category,
            )
            .join(Organisation, Convention.reserver_id == Organisation.id)
            .where(
                Convention.landlord_id.in_(landlords),
                Convention.departement_code.in_(departements),
            )
        )
        if Scope(row.landlord_id, row.departement_code) in scopes
    }
    if not conventions:
        return {}
    versions = session.execute(
        sa.select(
            ConventionVersion.id,
            ConventionVersion.convention_id,
            ConventionVersion.effective_from,
            ConventionVersion.valid_from,
            ConventionVersion.valid_until,
            ConventionVersion.etat_uniform_by_commune,
            ConventionVersion.etat_hors_qpv_minimum,
            ConventionVersion.counting_event,
        )
        .where(ConventionVersion.convention_id.in_(conventions))
        .order_by(ConventionVersion.convention_id, ConventionVersion.number)
    ).all()
    until: dict[int, date | None] = {}  # version id -> the next version's first day
    for version, following in zip(versions, [*versions[1:], None], strict=True):
        same = following is not None and following.convention_id == version.convention_id
        until[version.id] = following.effective_from if same else None
    by_id = {version.id: version for version in versions}
    terms = session.execute(
        sa.select(
            ShareTerms.version_id,
            ShareTerms.share_id,
            ShareTerms.label,
            ShareTerms.basis_points,
            ShareTerms.ends_on,
            Share.purpose,
        )
        .join(Share, ShareTerms.share_id == Share.id)
        .where(ShareTerms.version_id.in_(by_id))
    )
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    best: dict[int, tuple[tuple[bool, date], ShareInfo]] = {}
    periods: dict[int, list[tuple[date, date, int]]] = {}
    for row in terms:
        version = by_id[row.version_id]
        first = max(version.effective_from, version.valid_from, start)
        last = min(
            (
                day
                for day in (
                    until[version.id],
                    _after(version.valid_until),
                    _after(row.ends_on),
                    end,
                )
                if day is not None
            ),
        )
        # Prefer the terms in force during the year, the latest of them; else the last terms.
        in_year = first < last
        if in_year:
            periods.setdefault(row.share_id, []).append(
                (first, last - timedelta(days=1), row.basis_points)
            )
        rank = (in_year, first if in_year else max(version.effective_from, version.valid_from))
        if row.share_id in best and best[row.share_id][0] > rank:
            continue
        convention = conventions[version.convention_id]
        best[row.share_id] = (
            rank,
            ShareInfo(
                share_id=row.share_id,
                scope=Scope(convention.landlord_id, convention.departement_code),
                convention_id=convention.id,
                convention_reference=convention.reference,
                reserver_id=convention.reserver_id,
                reserver_name=convention.reserver_name,
                reserver_category=ReserverCategory(convention.category),
                purpose=SharePurpose(row.purpose),
                label=row.label,
                basis_points=row.basis_points,
                etat_uniform_by_commune=version.etat_uniform_by_commune,
                etat_hors_qpv_minimum=version.etat_hors_qpv_minimum,
                counting_event=str(version.counting_event),
                in_year=in_year,
            ),
        )
    return {
        share_id: dataclasses.replace(info, periods=_merged(periods.get(share_id, [])))
        for share_id, (_, info) in best.items()
    }


def _merged(periods: list[tuple[date, date, int]]) -> tuple[tuple[date, date, int], ...]:
    """The periods in order, consecutive ones at the same percentage joined (a new version of
    the convention that leaves this share's percentage as it was is no new period)."""
    merged: list[tuple[date, date, int]] = []
    for first, last, basis_points in sorted(periods):
        if merged and merged[-1][2] == basis_points and merged[-1][1] + timedelta(days=1) >= first:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last), basis_points)
        else:
            merged.append((first, last, basis_points))
    return tuple(merged)


def _after(day: date | None) -> date | None:
    """The day after an inclusive last day."""
    return None if day is None else day + timedelta(days=1)
