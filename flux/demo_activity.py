"""The demo's activity: vacancies of 2025 and of 2026 to date, with their lifecycles,
recorded through the same services as the API (so the journal is a real one)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain import lifecycle
from flux.domain.reference import DeductionCategory, Letting, OrganisationKind, Role
from flux.models import Convention, Dwelling, Organisation, Share, User
from flux.services import bilan_campaign, vacancies, vacancy_events, year_close
from flux.services.access import SYSTEM, Actor
from flux.services.errors import Conflict
from flux.services.vacancies import NewVacancy

ROTATION = 0.09  # departures a year per dwelling (domain.md §9)
DEDUCTIONS = [  # (category, probability) of a vacancy being deducted from the flux
    (DeductionCategory.INTERNAL_TRANSFER, 0.12),
    (DeductionCategory.URBAN_RENEWAL, 0.02),
    (DeductionCategory.SALE, 0.01),
]


@dataclass(order=True)
class _Step:
    on: date
    seq: int
    action: Callable[[], None] = field(compare=False)


@dataclass
class _Run:
    session: Session
    today: date
    rng: random.Random
    queue: list[_Step] = field(default_factory=list)
    counter: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def at(self, on: date, action: Callable[[], None]) -> None:
        if on <= self.today:
            self.counter += 1
            heapq.heappush(self.queue, _Step(on, self.counter, action))

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def generate(session: Session, start: date, today: date, seed: int = 2025) -> dict[str, int]:
    """Log every landlord's vacancies from `start` to `today` and follow each one; no commit."""
    run = _Run(session, today, random.Random(seed))
    for year in range(start.year, today.year):
        # What the scheduler does on 1 and 2 January: close the year, issue its bilans.
        # Scheduled first, so that the close comes before the vacancies of 1 January (else
        # they would be held until it: held_vacancies).
        run.at(date(year + 1, 1, 1), lambda y=year: _close(run, y))
        run.at(date(year + 1, 1, 2), lambda y=year: _issue_bilans(run, y))
    for landlord, actor in _landlords(session):
        dwellings = session.scalars(
            sa.select(Dwelling.id)
            .where(Dwelling.landlord_id == landlord.id, Dwelling.out_of_flux.is_(None))
            .order_by(Dwelling.id)
        ).all()
        days = (today - start).days + 1
        for _ in range(round(len(dwellings) * ROTATION * days / 365)):
            on = start + timedelta(days=run.rng.randrange(days))
            dwelling = run.rng.choice(dwellings)
            run.at(on, lambda a=actor, d=dwelling, o=on: _log(run, a, d, o))
    while run.queue:
        heapq.heappop(run.queue).action()
    return run.counts


def _close(run: _Run, year: int) -> None:
    closings = year_close.close_all(run.session, SYSTEM, year, date(year + 1, 1, 1))
    run.counts["closed_scopes"] = sum(1 for c in closings if c.created)


def _issue_bilans(run: _Run, year: int) -> None:
    summary = bilan_campaign.run(run.session, date(year + 1, 1, 2), None)
    run.counts["bilans"] = summary["generated"]


def _landlords(session: Session) -> list[tuple[Organisation, Actor]]:
    result = []
    landlords = session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.LANDLORD)
        .order_by(Organisation.id)
    )
    for landlord in landlords:
        user = session.scalar(
            sa.select(User).where(User.organisation_id == landlord.id, User.role == Role.LANDLORD)
        )
        result.append(
            (
                landlord,
                Actor(user.id if user else None, Role.LANDLORD, landlord.id, request_id="demo"),
            )
        )
    return result


def _log(run: _Run, actor: Actor, dwelling_id: int, on: date) -> None:
    rng, deduction = run.rng, None
    draw = rng.random()
    for category, probability in DEDUCTIONS:
        if draw < probability:
            deduction = str(category)
            break
        draw -= probability
    letting = Letting.FIRST_LETTING if rng.random() < 0.05 else Letting.RELETTING
    try:
        logged = vacancies.log_vacancy(
            run.session,
            actor,
            NewVacancy(
                available_on=on,
                dwelling_id=dwelling_id,
                letting=letting,
                deduction=deduction,
                notified_on=on,  # the demo's year was logged as it went: on time
            ),
            run.today,
        )
    except Conflict:
        run.count("refused: dwelling still open")  # the same dwelling drawn twice too soon
        return
    run.count("vacancies")
    _follow(run, actor, logged.vacancy_id, on)


def _follow(run: _Run, actor: Actor, vacancy_id: int, on: date) -> None:
    """Schedule the vacancy's next event from its stage, as a landlord and reserver would."""
    state = vacancies.replay(run.session, vacancy_id)
    cycle, rng = state.lifecycle, run.rng
    allowed = {str(e) for e in lifecycle.allowed(cycle)}
    if not allowed:
        return
    if "withdrawal" in allowed and rng.random() < 0.01:
        return _then(
            run,
            actor,
            vacancy_id,
            on + timedelta(days=rng.randint(1, 10)),
            {"type": "withdrawal", "reason": "Le locataire reste finalement."},
        )
    stage = str(cycle.stage)
    if stage == "deducted":
        return _then(
            run, actor, vacancy_id, on + timedelta(days=rng.randint(10, 40)), {"type": "lease"}
        )
    if stage == "oriented" and not cycle.held_by_landlord:
        if rng.random() < 0.07:
            return _then(
                run,
                actor,
                vacancy_id,
                cycle.designation_deadline + timedelta(days=1),
                {"type": "carence"},
            )
        candidates = 1 if rng.random() < 0.1 else 3
        return _then(
            run,
            actor,
            vacancy_id,
            on + timedelta(days=rng.randint(5, 25)),
            {"type": "designation", "candidates": candidates, "dalo": candidates == 1},
        )
    if stage == "cal_refused":
        if rng.random() < 0.5:
            return _then(
                run,
                actor,
                vacancy_id,
                on + timedelta(days=rng.randint(3, 10)),
                {"type": "designation", "candidates": 3},
            )
        return _then(
            run,
            actor,
            vacancy_id,
            cycle.redesignation_deadline + timedelta(days=1),
            {"type": "take_back"},
        )
    if stage in ("oriented", "designated", "taken_back"):
        if stage == "designated" and rng.random() < 0.12:
            return _then(
                run,
                actor,
                vacancy_id,
                on + timedelta(days=rng.randint(7, 20)),
                {"type": "cal_refusal"},
            )
        return _then(
            run,
            actor,
            vacancy_id,
            on + timedelta(days=rng.randint(7, 25)),
            {"type": "cal_attribution", "rank": 1, "household": _household(rng)},
        )
    if stage == "attributed":
        return _then(
            run, actor, vacancy_id, on + timedelta(days=rng.randint(10, 30)), {"type": "lease"}
        )
    return None


def _household(rng: random.Random) -> dict[str, bool]:
    return {
        "dalo": rng.random() < 0.1,
        "prioritaire": rng.random() < 0.35,
        "first_quartile": rng.random() < 0.3,
    }


def _reserver_actor(run: _Run, vacancy_id: int) -> Actor | None:
    """The user of the reserver holding the vacancy (designations are the reserver's act)."""
    holder = vacancies.replay(run.session, vacancy_id).holder
    if not isinstance(holder, int):
        return None
    reserver_id = run.session.scalar(
        sa.select(Convention.reserver_id).join(Share).where(Share.id == holder)
    )
    user = run.session.scalar(
        sa.select(User).where(User.organisation_id == reserver_id, User.role == Role.RESERVER)
    )
    return Actor(user.id, Role.RESERVER, reserver_id, request_id="demo") if user else None


def _then(run: _Run, actor: Actor, vacancy_id: int, on: date, event: dict[str, Any]) -> None:
    def action() -> None:
        by = (_reserver_actor(run, vacancy_id) if event["type"] == "designation" else None) or actor
        vacancy_events.record(run.session, by, vacancy_id, {**event, "date": on}, run.today)
        run.count(event["type"])
        _follow(run, actor, vacancy_id, on)

    run.at(on, action)
