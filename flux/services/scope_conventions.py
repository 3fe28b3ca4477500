"""A scope's conventions as the allocation rules see them (versions, perimeters, policies)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from flux.domain.conventions import ReserverCategory
from flux.domain.eligibility import ShareInForce, VersionView, in_force
from flux.domain.reference import PerimeterKind
from flux.models import Commune, Convention, ConventionVersion, Share
from flux.services import territories


@dataclass(frozen=True)
class Policies:
    """A version's lifecycle policies (plain data: scopes' conventions are cached)."""

    convention_id: int
    effective_from: date
    designation_deadline_days: int
    candidates_per_designation: int
    cal_refusal_delay_days: int
    carence_counts: bool
    cal_refusal_counts: bool
    carry_over: bool = True
    counting_event: str = "orientation"


@dataclass(frozen=True)
class ScopeConventions:
    views: list[VersionView]
    versions: dict[int, list[Policies]]  # convention id -> its versions' policies
    convention_of_share: dict[int, int]
    # share id -> (its convention and reserver, its label per version: (effective_from, label))
    labels: dict[int, tuple[dict, tuple[tuple[date, str], ...]]] = field(default_factory=dict)

    def share_labels(self, share_ids: set[int], on: date) -> dict[int, dict]:
        """As ``share_labels`` (module function) for this scope's shares, from memory: the
        explanation of a decision is answered without reading the conventions again."""
        result = {}
        for share_id in share_ids:
            label = self.share_label(share_id, on)
            if label is not None:
                info = self.labels[share_id][0]
                result[share_id] = {"share_id": share_id, "label": label, **_copy(info)}
        return result

    def share_label(self, share_id: int, on: date) -> str | None:
        """A share's label on a date (its terms' label in the version in force, else its
        code); None if the share is not this scope's."""
        known = self.labels.get(share_id)
        if known is None:
            return None
        by_version = known[1]
        label = by_version[0][1]
        for effective_from, version_label in by_version:
            if effective_from <= on:
                label = version_label
        return label

    def version_for_share(self, share_id: int, on: date) -> Policies:
        """The version governing a share's convention on a date (policies, deadlines)."""
        versions = self.versions[self.convention_of_share[share_id]]
        current = versions[0]
        for version in versions:
            if version.effective_from <= on:
                current = version
        return current


def _copy(info: dict) -> dict:
    return {**info, "reserver": dict(info["reserver"])}


_cache: dict[tuple[str, int, str], tuple[tuple[int, int], ScopeConventions]] = {}


@functools.lru_cache(maxsize=64)
def _database(bind: Any) -> str:
    """The cache's name for a database (rendering its URL on every call cost a tenth of a
    decision)."""
    return str(bind.url)


_cache_lock = threading.Lock()


def load(session: Session, landlord_id: int, departement: str) -> ScopeConventions:
    """The scope's conventions; rebuilt only when a version was added since the last call."""
    # One statement: the conventions' versions and the territory perimeters resolve against.
    row = session.connection().execute(
        _fingerprint_statement(), {"landlord": landlord_id, "departement": departement}
    )
    return _from_cache(session, landlord_id, departement, tuple(int(v) for v in row.one()))


@functools.cache
def _fingerprint_statement() -> sa.Select[Any]:
    """Built once, with bound parameters (building it cost as much as running it)."""
    return sa.select(*_fingerprint(sa.bindparam("landlord"), sa.bindparam("departement")))


def load_many(
    session: Session, scopes: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], ScopeConventions]:
    """As `load` for several scopes (landlord id, département), their fingerprints read in one
    statement (an answer about many scopes costs the same as one about a single scope)."""
    pairs = list(dict.fromkeys(scopes))
    if not pairs:
        return {}
    selects = [
        sa.select(sa.literal(index).label("scope"), *_fingerprint(landlord_id, departement))
        for index, (landlord_id, departement) in enumerate(pairs)
    ]
    stmt = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    rows = {int(row[0]): tuple(int(value) for value in row[1:]) for row in session.execute(stmt)}
    return {
        pair: _from_cache(session, pair[0], pair[1], rows[index])
        for index, pair in enumerate(pairs)
    }


def _fingerprint(landlord_id: Any, departement: Any) -> list[Any]:
    """What a scope's cached conventions are made of: its versions (count, last id) and its
    département's territory counts (a commune added to the département or moved between EPCI
    must rebuild them: perimeters are resolved from the territory tables).

    Scalar subqueries on aliases of their own, without derived tables, so that they can be
    correlated to a query about a dwelling (``fingerprint_columns``)."""
    conventions = Convention.__table__.alias("fp_conventions")
    versions = ConventionVersion.__table__.alias("fp_versions")
    communes = Commune.__table__.alias("fp_communes")
    of_scope = (
        sa.select()
        .select_from(versions.join(conventions, versions.c.convention_id == conventions.c.id))
        .where(
            conventions.c.landlord_id == landlord_id, conventions.c.departement_code == departement
        )
    )
    in_departement = sa.select().where(communes.c.departement_code == departement)
    columns = [
        of_scope.add_columns(sa.func.count(versions.c.id)).scalar_subquery(),
        of_scope.add_columns(sa.func.coalesce(sa.func.max(versions.c.id), 0)).scalar_subquery(),
        in_departement.add_columns(sa.func.count(communes.c.insee)).scalar_subquery(),
        in_departement.add_columns(sa.func.count(communes.c.epci_siren)).scalar_subquery(),
        in_departement.add_columns(
            sa.func.count(sa.distinct(communes.c.epci_siren))
        ).scalar_subquery(),
    ]
    return [column.label(f"f{n}") for n, column in enumerate(columns)]


def fingerprint_columns(landlord_id: Any, departement: Any) -> list[Any]:
    """The fingerprint as columns of another query (``fp0``…), e.g. correlated to a dwelling's
    landlord and département; pass what they return to ``load_with``."""
    return [
        column.element.label(f"fp{n}")
        for n, column in enumerate(_fingerprint(landlord_id, departement))
    ]


def load_with(
    session: Session, landlord_id: int, departement: str, fingerprint: Iterable[Any]
) -> ScopeConventions:
    """As `load`, with a fingerprint already read (by the caller's own statement)."""
    values = tuple(int(value) for value in fingerprint)
    return _from_cache(session, landlord_id, departement, values)


def _from_cache(
    session: Session, landlord_id: int, departement: str, fingerprint: tuple[int, ...]
) -> ScopeConventions:
    key = (_database(session.get_bind()), landlord_id, departement)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    result = load_uncached(session, landlord_id, departement)
    with _cache_lock:
        _cache[key] = (fingerprint, result)
    return result


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def load_uncached(session: Session, landlord_id: int, departement: str) -> ScopeConventions:
    conventions = session.scalars(
        sa.select(Convention)
        .where(Convention.landlord_id == landlord_id, Convention.departement_code == departement)
        .options(
            selectinload(Convention.versions).selectinload(ConventionVersion.share_terms),
            selectinload(Convention.versions).selectinload(ConventionVersion.communes),
            selectinload(Convention.reserver),
            selectinload(Convention.shares),
        )
        .order_by(Convention.id)
    ).all()
    views, versions, owner, labels = [], {}, {}, {}
    for convention in conventions:
        versions[convention.id] = [_policies(v) for v in convention.versions]
        labels.update(_labels(convention))
        for index, version in enumerate(convention.versions):
            following = (
                convention.versions[index + 1] if index + 1 < len(convention.versions) else None
            )
            views.append(_view(session, convention, version, following))
            for terms in version.share_terms:
                owner[terms.share_id] = convention.id
    return ScopeConventions(views, versions, owner, labels)


def _labels(convention: Convention) -> dict[int, tuple[dict, tuple[tuple[date, str], ...]]]:
    reserver = convention.reserver
    info = {
        "convention_id": convention.id,
        "convention_reference": convention.reference,
        "reserver": {
            "id": reserver.id,
            "code": reserver.code,
            "name": reserver.name,
            "category": str(reserver.category),
        },
    }
    result = {}
    for share in convention.shares:
        by_version = []
        for version in convention.versions:
            terms = next((t for t in version.share_terms if t.share_id == share.id), None)
            by_version.append((version.effective_from, terms.label if terms else share.code))
        result[share.id] = (info, tuple(by_version))
    return result


def _policies(version: ConventionVersion) -> Policies:
    return Policies(
        convention_id=version.convention_id,
        effective_from=version.effective_from,
        designation_deadline_days=version.designation_deadline_days,
        candidates_per_designation=version.candidates_per_designation,
        cal_refusal_delay_days=version.cal_refusal_delay_days,
        carence_counts=version.carence_counts,
        cal_refusal_counts=version.cal_refusal_counts,
        carry_over=version.carry_over,
        counting_event=str(version.counting_event),
    )


def _view(
    session: Session,
    convention: Convention,
    version: ConventionVersion,
    following: ConventionVersion | None,
) -> VersionView:
    communes = territories.perimeter_communes(
        session,
        PerimeterKind(version.perimeter_kind),
        version.perimeter_code,
        [c.commune_insee for c in version.communes],
    )
    return VersionView(
        convention_id=convention.id,
        reserver_category=ReserverCategory(convention.reserver.category),
        communes=communes,
        valid_from=version.valid_from,
        valid_until=version.valid_until,
        effective_from=version.effective_from,
        effective_until=following.effective_from if following else None,
        shares=tuple(
            ShareInForce(t.share_id, t.basis_points, t.ends_on) for t in version.share_terms
        ),
        first_lettings_counted=version.first_lettings_counted,
        etat_uniform_by_commune=version.etat_uniform_by_commune,
        spread_by_typology=version.spread_by_typology,
        spread_by_qpv=version.spread_by_qpv,
    )


def share_labels(session: Session, share_ids: set[int], on: date) -> dict[int, dict]:
    """For explanations: each share's label, convention and reserver (terms in force on a date)."""
    return labels_loader(session, share_ids)(on)


def labels_loader(session: Session, share_ids: set[int]) -> Callable[[date], dict[int, dict]]:
    """Share labels for many dates from one read: as `scope_conventions.share_labels`, each
    share labelled with the terms in force on the given date."""
    if not share_ids:
        return lambda _on: {}
    rows = session.execute(
        sa.select(Share, Convention)
        .join(Convention, Share.convention_id == Convention.id)
        .where(Share.id.in_(share_ids))
        .options(
            joinedload(Convention.reserver),
            selectinload(Convention.versions).selectinload(ConventionVersion.share_terms),
        )
    ).all()
    # Plain values read once: (share id, code, convention fields, reserver, and for each
    # version in order its effective date and the share's label in it).
    plain = [
        (
            share.id,
            share.code,
            convention.id,
            convention.reference,
            {
                "id": convention.reserver.id,
                "code": convention.reserver.code,
                "name": convention.reserver.name,
                "category": str(convention.reserver.category),
            },
            [
                (
                    version.effective_from,
                    next((t for t in version.share_terms if t.share_id == share.id), None),
                )
                for version in convention.versions
            ],
        )
        for share, convention in rows
    ]
    by_day: dict[date, dict[int, dict]] = {}
    by_versions: dict[tuple[int, ...], dict[int, dict]] = {}

    def on(day: date) -> dict[int, dict]:
        found = by_day.get(day)
        if found is None:
            # The same versions in force give the same labels: built once per combination.
            picks = tuple(_version_in_force(row[5], day) for row in plain)
            found = by_versions.get(picks)
            if found is None:
                found = by_versions[picks] = {
                    row[0]: _label(row, pick) for row, pick in zip(plain, picks, strict=True)
                }
            by_day[day] = found
        return found

    return on


def _version_in_force(versions: list[tuple[date, Any]], on: date) -> int:
    """The index of the last version in effect on a date (the first one before any)."""
    for index in range(len(versions) - 1, -1, -1):
        if versions[index][0] <= on:
            return index
    return 0


def _label(row: tuple, pick: int) -> dict[str, Any]:
    share_id, code, convention_id, reference, reserver, versions = row
    terms = versions[pick][1]
    return {
        "share_id": share_id,
        "label": terms.label if terms else code,
        "convention_id": convention_id,
        "convention_reference": reference,
        "reserver": dict(reserver),
    }


__all__ = [
    "Policies",
    "ScopeConventions",
    "clear_cache",
    "in_force",
    "load",
    "load_many",
    "load_uncached",
    "share_labels",
]
