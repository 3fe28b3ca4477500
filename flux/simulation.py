"""`flux simulate`: a year of synthetic vacancies under draft conventions, oriented in turn.

An outer layer around the domain: the directory's files go through the same loaders (hence the
same validation) into a scratch SQLite database that is deleted afterwards, whatever
FLUX_DATABASE_URL says; vacancies are drawn from a seed; each scope (landlord × département)
is then run in memory by the real engine (``eligible_shares``, then ``allocation.orient``),
without any journal. Each decision is one CSV row, from which every bound of design.md §7 can
be recomputed; the summary gives each share's figures and its worst deviation during the year.
"""

from __future__ import annotations

import csv
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import loaders, migrate
from flux.db import create_engine
from flux.domain import allocation
from flux.domain.allocation import FULL, LANDLORD, AllocationState, Rule, ShareRef, Vacancy
from flux.domain.eligibility import VacancyFacts, VersionView, eligible_shares
from flux.domain.reference import DeductionCategory
from flux.models import Commune, Dwelling, Organisation
from flux.services import scope_conventions

# The decisions file: one row per vacancy; design.md §7's bounds are computable from it alone.
COLUMNS = [
    "seq", "date", "landlord", "dwelling", "commune", "qpv", "typology", "deduction", "eligible",
    "chosen", "subkeys", "departement", "letting",
]  # fmt: skip
# How deducted vacancies split between the categories of domain.md §3 (mostly transfers).
DEDUCTION_WEIGHTS = {
    DeductionCategory.INTERNAL_TRANSFER: 70, DeductionCategory.URBAN_RENEWAL: 15,
    DeductionCategory.SALE: 7, DeductionCategory.DEGRADED_CONDO: 4,
    DeductionCategory.UNFIT_HOUSING: 4,
}  # fmt: skip
FIRST_LETTING_RATE = 0.07


class SimulationError(Exception):
    """The simulation cannot run: the message (French) names the file or the scope."""


def locate(directory: Path) -> tuple[Path, Path]:
    """(base, conventions) for DIR shaped like conventions/demo/, or for its conventions/ folder
    (*.toml there, territory.toml, organisations.toml and dwellings-*.csv in its parent)."""
    if (directory / "territory.toml").is_file():
        return directory, directory / "conventions"
    if (directory.parent / "territory.toml").is_file() and any(directory.glob("*.toml")):
        return directory.parent, directory
    raise SimulationError(
        f"{directory} : ni territory.toml dans ce dossier, ni dossier de conventions dont le "
        "parent contient territory.toml."
    )


class Stock(NamedTuple):
    """An in-flux dwelling: its CSV cells first (landlord … typology), then its scope."""

    landlord: str
    rpls_id: str
    commune: str
    qpv: str
    typology: str
    departement: str
    landlord_id: int


@dataclass(frozen=True)
class Draw:
    day: date
    dwelling: Stock
    deduction: str | None
    first_letting: bool


@dataclass(frozen=True)
class ShareInfo:
    share_id: int
    reference: str
    label: str
    percentages: tuple[int, ...]  # basis points in force during the year, in order


@dataclass
class ScopeRun:
    """One scope's engine state and, per participant, its worst deviation in units."""

    landlord: str
    departement: str
    views: list[VersionView]
    shares: list[ShareInfo]
    state: AllocationState
    worst: dict[ShareRef, int] = field(default_factory=dict)
    worst_sub: dict[ShareRef, tuple[int, str]] = field(default_factory=dict)
    drawn: int = 0
    deducted: int = 0


@dataclass(frozen=True)
class Simulation:
    scopes: list[ScopeRun]
    messages: list[str]  # loader warnings


def run(
    directory: Path,
    *,
    vacancies: int,
    seed: int,
    year: int,
    out: Path,
    deduction_rate: float = 0.15,
    rule: Rule = Rule.LARGEST_DEFICIT,
) -> Simulation:
    """Load DIR into a scratch database, draw the year, orient it and write the CSV."""
    base, conventions = locate(directory)
    with _scratch_session() as session:
        messages = _load(session, base, conventions)
        stock = _in_flux_stock(session)
        if not stock:
            raise SimulationError(f"{base} : aucun logement dans le flux.")
        scopes = _scopes(session, stock, year, rule)
    draws = draw(stock, vacancies, seed, year, deduction_rate)
    rows = [
        _decide(scopes[(item.dwelling.landlord_id, item.dwelling.departement)], seq, item)
        for seq, item in enumerate(draws, start=1)
    ]
    try:  # written only once every decision is made: a failed run leaves no partial file
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=";", lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(rows)
    except OSError as error:
        raise SimulationError(f"{out} : écriture impossible ({error.strerror}).") from error
    return Simulation(list(scopes.values()), messages)


@contextmanager
def _scratch_session() -> Iterator[Session]:
    with tempfile.TemporaryDirectory(prefix="flux-simulate-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'simulation.sqlite'}"
        migrate.upgrade(url)
        engine = create_engine(url)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()


def _load(session: Session, base: Path, conventions: Path) -> list[str]:
    """The same steps and loaders as `flux demo`; a refused file stops everything."""
    try:
        loaders.load_territory(session, base / "territory.toml")
        loaders.load_organisations(session, base / "organisations.toml")
        for path in sorted(base.glob("dwellings-*.csv")):
            loaders.import_dwellings(session, path, path.stem.removeprefix("dwellings-"))
        lines = loaders.load_conventions(session, conventions)
    except FileNotFoundError as error:
        raise SimulationError(f"fichier introuvable : {error.filename}") from error
    except loaders.FileError as error:
        raise SimulationError(str(error)) from error
    session.commit()
    return [line for line in lines if "avertissement" in line]


def _in_flux_stock(session: Session) -> list[Stock]:
    rows = session.execute(
        sa.select(Dwelling, Organisation.code, Commune.departement_code)
        .join(Organisation, Dwelling.landlord_id == Organisation.id)
        .join(Commune, Dwelling.commune_insee == Commune.insee)
        .where(Dwelling.out_of_flux.is_(None))
        .order_by(Organisation.code, Dwelling.rpls_id)
    ).all()
    return [
        Stock(
            code, d.rpls_id, d.commune_insee, d.qpv_code or "", str(d.typology), dep, d.landlord_id
        )
        for d, code, dep in rows
    ]


def _scopes(
    session: Session, stock: list[Stock], year: int, rule: Rule
) -> dict[tuple[int, str], ScopeRun]:
    scopes = {}
    for item in stock:
        key = (item.landlord_id, item.departement)
        if key not in scopes:
            views = scope_conventions.load(session, *key).views
            shares = _share_infos(session, views, year)
            state = AllocationState(rule=rule)
            scopes[key] = ScopeRun(item.landlord, item.departement, views, shares, state)
    return dict(sorted(scopes.items(), key=lambda pair: (pair[1].landlord, pair[1].departement)))


def _share_infos(session: Session, views: list[VersionView], year: int) -> list[ShareInfo]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    percentages: dict[int, list[int]] = {}
    for view in views:
        start = max(first, view.valid_from, view.effective_from)
        ends = [last, view.valid_until]
        if view.effective_until is not None:
            ends.append(view.effective_until - timedelta(days=1))
        for share in view.shares:
            seen = percentages.setdefault(share.share_id, [])
            end = min(d for d in [*ends, share.ends_on] if d is not None)
            if start <= end and (not seen or seen[-1] != share.basis_points):
                seen.append(share.basis_points)
    labels = scope_conventions.share_labels(session, set(percentages), first)
    return [
        ShareInfo(i, labels[i]["convention_reference"], labels[i]["label"], tuple(percentages[i]))
        for i in sorted(percentages)
    ]


def draw(stock: list[Stock], count: int, seed: int, year: int, deduction_rate: float) -> list[Draw]:
    """``count`` vacancies of the year, in date order: the same seed gives the same year."""
    rng = random.Random(seed)
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    categories, weights = list(DEDUCTION_WEIGHTS), list(DEDUCTION_WEIGHTS.values())
    draws = []
    for _ in range(count):
        dwelling = rng.choice(stock)
        day = first + timedelta(days=rng.randrange(days))
        deducted = rng.random() < deduction_rate
        deduction = str(rng.choices(categories, weights)[0]) if deducted else None
        draws.append(Draw(day, dwelling, deduction, rng.random() < FIRST_LETTING_RATE))
    return sorted(draws, key=lambda item: item.day)  # stable: same-day draws keep their order


def _decide(scope: ScopeRun, seq: int, item: Draw) -> list[object]:
    dwelling = item.dwelling
    facts = VacancyFacts(
        item.day, dwelling.commune, dwelling.typology, bool(dwelling.qpv), item.first_letting
    )
    shares = eligible_shares(scope.views, facts)
    vacancy = Vacancy(seq, shares, item.deduction)
    try:
        decision = allocation.orient(scope.state, vacancy)
    except allocation.AllocationError as error:
        raise SimulationError(
            f"bailleur {scope.landlord}, département {scope.departement} : {error.message}"
        ) from error
    scope.drawn += 1
    if decision is None:
        scope.deducted += 1
    else:
        _track(scope, vacancy)
    eligible = "|".join(f"{s.share_id}:{s.basis_points}" for s in shares)
    keys = "|".join(f"{s.share_id}={key}" for s in shares for key in s.sub_keys)
    chosen = "" if decision is None else decision.chosen
    letting = "first_letting" if item.first_letting else "reletting"
    cells = (item.deduction or "", eligible, chosen, keys, dwelling.departement, letting)
    return [seq, item.day.isoformat(), *dwelling[:5], *cells]


def _track(scope: ScopeRun, vacancy: Vacancy) -> None:
    """Only the participants' figures move with a vacancy: update their worst deviations."""
    state = scope.state
    for share, _, keys in vacancy.participants:
        gap = abs(FULL * state.realised.get(share, 0) - state.targets.get(share, 0))
        scope.worst[share] = max(scope.worst.get(share, 0), gap)
        for key in keys:
            pair = (share, key)
            sub = abs(FULL * state.sub_realised.get(pair, 0) - state.sub_targets[pair])
            if sub > scope.worst_sub.get(share, (-1, ""))[0]:
                scope.worst_sub[share] = (sub, key)


# --- summary -------------------------------------------------------------------------------

HEADERS = [
    "Droit", "Convention", "Libellé", "Pourcentage", "Éligibles", "Objectif", "Réalisé",
    "Écart max", "Pire sous-objectif",
]  # fmt: skip
RIGHT_ALIGNED = {4, 5, 6, 7}


def _dwellings(units: int, per: int = FULL) -> str:
    """Units as dwellings (or basis points as a percentage, ``per=100``): 2 decimals, comma."""
    hundredths = (abs(units) * 100 + per // 2) // per  # exact, half rounded up
    sign = "-" if units < 0 and hundredths else ""
    return f"{sign}{hundredths // 100},{hundredths % 100:02d}"


def _percent(points: tuple[int, ...]) -> str:
    return " → ".join(_dwellings(p, 100) for p in points) + " %" if points else "—"


def _row(scope: ScopeRun, share: ShareRef, cells: tuple[str, str, str, str]) -> list[str]:
    state = scope.state
    sub = scope.worst_sub.get(share)
    return [
        *cells,
        str(state.eligible.get(share, 0)),
        _dwellings(state.targets.get(share, 0)),
        str(state.realised.get(share, 0)),
        _dwellings(scope.worst.get(share, 0)),
        f"{_dwellings(sub[0])} ({sub[1]})" if sub else "",
    ]


def summary(simulation: Simulation) -> str:
    """Per scope, one line per share and one for the landlord part; then the worst figures."""
    blocks, plain, with_sub = [], 0, 0
    for scope in simulation.scopes:
        counted = scope.drawn - scope.deducted
        title = (
            f"Bailleur {scope.landlord}, département {scope.departement} : {scope.drawn} "
            f"logements libérés, {scope.deducted} soustraits, {counted} dans le flux"
        )
        rows = [
            _row(
                scope, s.share_id, (str(s.share_id), s.reference, s.label, _percent(s.percentages))
            )
            for s in scope.shares
        ]
        rows.append(_row(scope, LANDLORD, ("bailleur", "—", "Part non réservée", "reste")))
        blocks.append(f"{title}\n{_table(rows)}")
        for share, worst in scope.worst.items():
            if share in scope.worst_sub:
                with_sub = max(with_sub, worst, scope.worst_sub[share][0])
            else:
                plain = max(plain, worst)
    blocks.append(
        f"Écart maximal pendant l'année : {_dwellings(plain)} logement(s) pour les droits sans "
        f"sous-objectif (borne 1,5) ; {_dwellings(with_sub)} pour les droits avec sous-objectif, "
        "au total et par clé (borne 2,5)."
    )
    return "\n\n".join(blocks)


def _table(rows: list[list[str]]) -> str:
    table = [list(HEADERS), *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
    lines = []
    for row in table:
        cells = [
            cell.rjust(width) if i in RIGHT_ALIGNED else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
