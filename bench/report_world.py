"""A synthetic year of the gestion en flux, for bench/reports.py.

Reference data go through the same services as `flux demo`: ``territories.load_territory``,
``organisations.create`` and ``conventions.create`` with the API's schema (so caps and perimeters
are checked). Each département gets 20 to 150 communes (Zipf-weighted) in a main agglomeration
and communautés de communes, QPVs in its 12 largest communes, 1 to 3 local landlords and 2 to 4
landlord groups present in several départements. Each landlord has conventions with the État
(25 + 5 %), Action Logement (25 %, 28 % from July for some), often the département (2 %) and the
agglomeration (5 %), and the large communes it has stock in (10 to 20 %).

The year itself (report_year.py) is decided by the allocation engine and bulk-inserted into the
journal: logging 500 000 vacancies through ``log_vacancy`` would take hours. Then, through the
services again, each landlord declares its deduction forecasts and the year is closed
(``year_close.close``), as the scheduler does on 1 January before the bilans are issued; events
after 31 December are not simulated.

Rates are demo_activity's (7 % carences, 12 % CALEOL refusals, 1 % withdrawals, households 10 %
DALO / 35 % prioritaires / 30 % first quartile), deductions the simulator's (15 %, mostly
internal transfers), plus overrides (2 % at orientation, 1 % later). Only the dwellings that
free up in the year are inserted (one per vacancy): the report never reads the stock.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from report_year import Draw, Journal, ScopeRun, Year, draw_year, insert_batches, scope_runs, split
from sqlalchemy.orm import Session

from flux.api.conventions.schemas import ConventionInputSchema
from flux.domain import allocation
from flux.domain.reference import OrganisationKind
from flux.models import Dwelling, JournalEntry, Organisation
from flux.services import (
    allocation_book,
    conventions,
    deduction_forecasts,
    organisations,
    territories,
    year_close,
)
from flux.services.access import SYSTEM
from flux.services.allocation_book import Scope
from flux.simulation import DEDUCTION_WEIGHTS

MARKER = "bench-reports-marker"  # an organisation's code: present once a world is complete
# Real département codes (metropolitan, Corsica, four overseas): exactly 100.
CODES = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "972", "973", "974"]
CODES.sort(key=lambda code: (len(code), code))


@dataclass(frozen=True)
class Plan:
    """What to generate: ``vacancies`` over ``departements`` départements of a year."""

    departements: int
    vacancies: int
    seed: int = 1
    year: int = 2025
    landlords: tuple[int, int] | None = None  # (local, group) landlords per département

    def codes(self) -> list[str]:
        if self.departements == 1:
            return ["59"]
        return CODES[: self.departements]


# --- reference data --------------------------------------------------------------------------


@dataclass
class Territory:
    code: str
    vacancies: int
    communes: list[str]  # INSEE, by decreasing weight
    weights: list[float]
    epci_of: dict[str, str]
    qpvs: dict[str, list[str]]  # INSEE -> QPV codes
    landlords: list[tuple[str, float]] = field(default_factory=list)  # (code, weight)


def build_reference(session: Session, plan: Plan, rng: random.Random) -> list[Territory]:
    """Territories, organisations and conventions, through the services; the caller commits."""
    codes = plan.codes()
    sizes = split(plan.vacancies, [rng.lognormvariate(0, 0.8) for _ in codes])
    groups = [f"esh-bench-{n:02d}" for n in range(1, max(8, len(codes) * 3 // 5) + 1)]
    for code in groups:
        organisations.create(
            session,
            SYSTEM,
            organisations.NewOrganisation(code, f"ESH Banc {code[-2:]}", OrganisationKind.LANDLORD),
        )
    _reserver(session, "action-logement", "Action Logement Services", "action_logement", None)
    result = []
    for code, size in zip(codes, sizes, strict=True):
        territory = _territory(session, code, size, rng)
        local, grouped = plan.landlords or (rng.randint(1, 3), rng.randint(2, 4))
        names = [f"oph-bench-{code.lower()}-{n}" for n in range(1, local + 1)]
        for name in names:
            organisations.create(
                session,
                SYSTEM,
                organisations.NewOrganisation(
                    name, f"Bailleur Banc {name[10:]}", OrganisationKind.LANDLORD
                ),
            )
        names += rng.sample(groups, grouped)
        territory.landlords = [(name, rng.lognormvariate(0, 0.6)) for name in names]
        territory.landlords[0] = (names[0], 3.0)  # the local office is the largest
        _conventions(session, territory, plan.year, rng)
        result.append(territory)
    session.flush()
    return result


def _territory(session: Session, code: str, vacancies: int, rng: random.Random) -> Territory:
    count = max(20, min(150 if len(code) == 2 else 99, 20 + vacancies // 250))
    digits = 5 - len(code)  # INSEE codes have five characters
    communes = [f"{code}{n:0{digits}d}" for n in range(1, count + 1)]
    weights = [1 / (rank + 1) ** 0.9 for rank in range(count)]
    sirens = [f"E{code.zfill(3)}{n:05d}" for n in range(1 + (count - 1) // 12 + 1)]
    core = max(5, count // 6)  # the main agglomeration: the largest communes
    epci_of = {
        insee: sirens[0] if rank < core else sirens[1 + (rank - core) // 12]
        for rank, insee in enumerate(communes)
    }
    qpvs: dict[str, list[str]] = {}
    for rank, insee in enumerate(communes[:12]):
        qpvs[insee] = [f"QB{code.zfill(3)}{rank:02d}{k}" for k in range(4 if rank == 0 else 2)]
    used = sorted(set(epci_of.values()))
    territories.load_territory(
        session,
        {
            "departement": {"code": code, "name": f"Département {code} (synthétique)"},
            "epci": [
                {"siren": s, "name": f"EPCI {s}", "kind": "ca" if s == sirens[0] else "cc"}
                for s in used
            ],
            "commune": [
                {"insee": insee, "name": f"Commune {insee}", "epci": epci_of[insee]}
                for insee in communes
            ],
            "qpv": [
                {"code": q, "name": f"Quartier {q}", "communes": [insee]}
                for insee, codes in qpvs.items()
                for q in codes
            ],
        },
    )
    _reserver(session, f"etat-{code}", f"État – Préfecture {code}", "etat", code)
    _reserver(session, f"departement-{code}", f"Département {code}", "departement", code)
    for insee in communes[:8]:
        _reserver(session, f"commune-{insee}", f"Ville {insee}", "commune", insee)
    _reserver(session, f"epci-{sirens[0]}", f"Agglomération {code}", "epci", sirens[0])
    return Territory(code, vacancies, communes, weights, epci_of, qpvs)


def _reserver(session: Session, code: str, name: str, category: str, territory: str | None) -> None:
    organisations.create(
        session,
        SYSTEM,
        organisations.NewOrganisation(code, name, OrganisationKind.RESERVER, category, territory),
    )


def _conventions(session: Session, territory: Territory, year: int, rng: random.Random) -> None:
    """Per landlord: État 25 + 5 %, Action Logement 25 % (28 % from July for some), often the
    département (2 %) and the agglomeration (5 %), and the large communes it has stock in."""
    code, schema = territory.code, ConventionInputSchema()
    agglomeration = territory.epci_of[territory.communes[0]]
    for landlord, _ in territory.landlords:
        etat = ("etat", f"etat-{code}", {"kind": "departement", "code": code})
        made = [
            (
                *etat,
                [
                    ("prioritaires", "Publics prioritaires", "25.00", "prioritaires"),
                    ("agents", "Agents civils et militaires de l'État", "5.00", "agents_etat"),
                ],
            )
        ]
        al = ("al", "action-logement", {"kind": "departement", "code": code})
        made.append(
            (*al, [("salaries", "Salariés des entreprises cotisantes", "25.00", "general")])
        )
        if rng.random() < 0.6:
            dep = ("cd", f"departement-{code}", {"kind": "departement", "code": code})
            made.append((*dep, [("general", "Contingent départemental", "2.00", "general")]))
        if rng.random() < 0.4:
            epci = ("epci", f"epci-{agglomeration}", {"kind": "epci", "code": agglomeration})
            made.append((*epci, [("general", "Contingent intercommunal", "5.00", "general")]))
        for insee in territory.communes[:8]:
            if rng.random() < 0.6:
                percent = f"{rng.choice([10, 12, 15, 20])}.00"
                town = (f"c{insee}", f"commune-{insee}", {"kind": "communes", "communes": [insee]})
                made.append((*town, [("garanties", "Droits de garantie", percent, "general")]))
        for key, reserver, perimeter, shares in made:
            data: dict[str, Any] = {
                "reference": f"B-{code}-{landlord}-{key}",
                "landlord": landlord,
                "reserver": reserver,
                "departement": code,
                "valid_from": f"{year - 1}-01-01",
                "valid_until": f"{year + 4}-12-31",
                "perimeter": perimeter,
                "shares": [
                    {"code": c, "label": label, "percent": p, "purpose": purpose}
                    for c, label, p, purpose in shares
                ],
            }
            if key.startswith("c"):
                data["policies"] = {"carence_counts": rng.random() < 0.5}
            if key == "al" and rng.random() < 0.3:
                raised = [{**data["shares"][0], "percent": "28.00"}]
                data["amendments"] = [{"effective_from": f"{year}-07-01", "shares": raised}]
            conventions.create(session, SYSTEM, schema.load(data))


def landlord_ids(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(Organisation.code, Organisation.id).where(
            Organisation.kind == OrganisationKind.LANDLORD
        )
    )
    return dict(rows.tuples().all())


# --- after the year ------------------------------------------------------------------------


def declare_forecasts(
    session: Session, scope: Scope, year: int, actual: Counter, rng: random.Random
) -> None:
    """The landlord's forecast, declared in January: the actual give or take 20 %."""
    forecasts = {
        str(category): max(0, round(actual[str(category)] * rng.uniform(0.8, 1.2)))
        for category in DEDUCTION_WEIGHTS
    }
    deduction_forecasts.declare(
        session,
        SYSTEM,
        deduction_forecasts.NewForecasts(scope.departement, year, forecasts, scope.landlord_id),
        today=date(year, 1, 15),
    )


def close_year(session: Session, scope: Scope, year: int) -> None:
    year_close.close(session, SYSTEM, scope, year, today=date(year + 1, 1, 1))


def generate(session: Session, plan: Plan, marker: str, say: Any = print) -> dict[str, int]:
    """Build the whole world into an empty, migrated database, ``marker`` (an organisation's
    code) last; returns what was written."""
    rng = random.Random(plan.seed)
    started = datetime.now()
    places = build_reference(session, plan, rng)
    session.commit()
    say(f"  référentiel : {len(places)} département(s) ({datetime.now() - started})")
    ids = landlord_ids(session)
    next_dwelling = (session.scalar(sa.select(sa.func.max(Dwelling.id))) or 0) + 1
    draws: list[Draw] = []
    for place in places:
        drawn, dwellings = draw_year(place, ids, plan.year, next_dwelling, rng)
        insert_batches(session, Dwelling, dwellings)
        next_dwelling += len(dwellings)
        draws += drawn
    session.commit()
    say(f"  {len(draws)} logements ({datetime.now() - started})")
    runs = scope_runs(
        session, sorted({d.scope for d in draws}, key=lambda s: (s.departement, s.landlord_id))
    )
    first_entry = (session.scalar(sa.select(sa.func.max(JournalEntry.id))) or 0) + 1
    journal = Journal(session, first_entry)
    year = Year(journal, runs, plan.year, plan.seed)
    year.run(draws)
    session.commit()
    _reset_sequences(session)
    _check_fold(session, runs, plan.year)
    say(f"  journal : {journal.next_id - first_entry} écritures ({datetime.now() - started})")
    deducted: dict[Scope, Counter] = {scope: Counter() for scope in runs}
    for item in draws:
        if item.deduction is not None:
            deducted[item.scope][item.deduction] += 1
    for scope in runs:
        declare_forecasts(session, scope, plan.year, deducted[scope], rng)
        session.commit()
    for scope in runs:
        close_year(session, scope, plan.year)
        session.commit()
    say(f"  prévisions et clôture de {len(runs)} périmètres ({datetime.now() - started})")
    organisations.create(
        session,
        SYSTEM,
        organisations.NewOrganisation(
            marker, "Banc d'essai : jeu de données complet", OrganisationKind.RESERVER, "autre"
        ),
    )
    session.commit()
    return {
        "scopes": len(runs),
        "vacancies": len(draws),
        "deducted": sum(sum(c.values()) for c in deducted.values()),
        "journal": journal.next_id - first_entry,
        "refused_events": year.refused,
        **{f"kind:{kind}": count for kind, count in sorted(journal.kinds.items())},
    }


def _reset_sequences(session: Session) -> None:
    """Ids were given explicitly: move PostgreSQL's sequences past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("journal_entries", "dwellings"):
        session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )
    session.commit()


def _check_fold(session: Session, runs: dict[Scope, ScopeRun], year: int) -> None:
    """The journal as written folds back to the engine's states (what every report reads)."""
    for scope, run in runs.items():
        folded = allocation.balances(allocation_book.frozen(session, scope, year).state)
        if folded != allocation.balances(run.state):
            raise AssertionError(f"{scope}: the journal does not fold back to the engine's state")
