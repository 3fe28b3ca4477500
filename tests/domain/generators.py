"""A realistic generated département for the allocation tests and the benchmark.

About 20 communes in 3 EPCI and about 19 shares: the État's two shares (publics prioritaires and
agents, spread by commune by default), Action Logement, communes at 10–20 % of their own
vacancies, the EPCIs, the département. Rates stay within ranges whose sum never exceeds 93 %, so
every commune keeps a landlord part and amendments never break the 100 % cap. Randomness here
only shapes test data; the engine sees integers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction

from flux.domain.allocation import (
    FULL,
    LANDLORD,
    AllocationState,
    Decision,
    EligibleShare,
    Rule,
    ShareRef,
    Vacancy,
    invariant_residual,
    orient,
    recredit,
    withdraw,
)

YEAR = 2025
DEDUCTIONS = ("internal_transfer", "urban_renewal", "degraded_condo", "unfit_housing", "sale")
TYPOLOGIES = ("T1", "T2", "T3", "T4", "T5")

# Basis-point ranges per kind of share; the maxima sum to 9 300.
RANGES = {
    "etat_prioritaires": (2000, 2500),
    "etat_agents": (300, 500),
    "action_logement": (1500, 3500),
    "commune": (1000, 2000),
    "epci": (200, 500),
    "departement": (100, 300),
    "employer": (100, 400),  # only in the "everywhere" variant, which has no commune shares
}


@dataclass(frozen=True)
class Commune:
    """A commune of the generated département: INSEE code, EPCI, relative vacancy volume."""

    insee: str
    epci: str
    volume: int
    qpv_percent: int


@dataclass(frozen=True)
class ShareSpec:
    """A share as a convention defines it: perimeter, rates by date, sub-target dimension."""

    share_id: int
    kind: str
    communes: frozenset[str] | None  # None: the whole département
    rates: tuple[tuple[date, int | None], ...]  # from each date, bp in force (None: not in force)
    sub_target: str | None = None

    def basis_points_on(self, day: date) -> int | None:
        """The rate in force on ``day``, None when the convention is not in force."""
        current: int | None = None
        for start, rate in self.rates:
            if start <= day:
                current = rate
        return current


@dataclass(frozen=True)
class Departement:
    """The generated territory and its shares."""

    code: str
    communes: tuple[Commune, ...]
    shares: tuple[ShareSpec, ...]

    def vacancy(
        self,
        vacancy_id: int,
        day: date,
        commune: str,
        deduction: str | None = None,
        *,
        typology: str = "T3",
        qpv: bool = False,
    ) -> Vacancy:
        """The engine's view of a vacancy: the shares in force on ``day`` covering ``commune``."""
        return Vacancy(vacancy_id, self.eligible(day, commune, typology, qpv), deduction)

    def eligible(
        self, day: date, commune: str, typology: str, qpv: bool
    ) -> tuple[EligibleShare, ...]:
        """The shares in force on ``day`` whose perimeter contains ``commune``, with their keys."""
        keys = {"commune": f"commune:{commune}", "typology": f"typology:{typology}"}
        keys["qpv"] = "qpv:in" if qpv else "qpv:out"
        eligible = []
        for spec in self.shares:
            rate = spec.basis_points_on(day)
            if rate is None or (spec.communes is not None and commune not in spec.communes):
                continue
            sub = (keys[spec.sub_target],) if spec.sub_target else ()
            eligible.append(EligibleShare(spec.share_id, rate, sub))
        return tuple(eligible)


@dataclass(frozen=True)
class LoggedVacancy:
    """A generated vacancy: its facts and the engine's view of it."""

    day: date
    commune: str
    typology: str
    qpv: bool
    vacancy: Vacancy


def make_departement(
    seed: int, *, amendments: bool = False, spread_state: bool = True, everywhere: bool = False
) -> Departement:
    """A département drawn from ``seed``; ``everywhere`` keeps only département-wide shares."""
    rng = random.Random(seed)
    communes = _communes(rng)
    kinds = _share_kinds(rng, communes, everywhere)
    ids = rng.sample(range(1, 1000), len(kinds))  # ids unrelated to declaration order
    shares = []
    for share_id, (kind, perimeter) in zip(ids, kinds, strict=True):
        rates: tuple[tuple[date, int | None], ...] = ((date(YEAR, 1, 1), _rate(rng, kind)),)
        sub = "commune" if spread_state and kind.startswith("etat") and not everywhere else None
        shares.append(ShareSpec(share_id, kind, perimeter, rates, sub))
    if amendments:
        shares = _amend(rng, shares)
    rng.shuffle(shares)
    return Departement(communes[0].insee[:2], tuple(communes), tuple(shares))


def make_vacancies(
    departement: Departement, seed: int, count: int, deducted_percent: int | None = None
) -> list[LoggedVacancy]:
    """``count`` vacancies over the year in date order, 10–20 % of them deducted by default."""
    rng = random.Random(seed)
    if deducted_percent is None:
        deducted_percent = rng.randint(10, 20)
    communes = departement.communes
    weights = [c.volume for c in communes]
    days = sorted(rng.randrange(365) for _ in range(count))
    logged = []
    cache: dict[tuple[date, str, str, bool], tuple[EligibleShare, ...]] = {}
    fine = any(spec.sub_target in ("typology", "qpv") for spec in departement.shares)
    for number, offset in enumerate(days, start=1):
        commune = rng.choices(communes, weights)[0]
        day = date(YEAR, 1, 1) + timedelta(days=offset)
        typology = rng.choices(TYPOLOGIES, (10, 25, 35, 22, 8))[0]
        qpv = rng.randrange(100) < commune.qpv_percent
        deducted = rng.randrange(100) < deducted_percent
        deduction = rng.choice(DEDUCTIONS) if deducted else None
        # Typology and QPV only matter to a share balanced over them: leave them out of the key
        # so that each (day, commune) builds its share list once.
        facts = (day, commune.insee, typology if fine else "", qpv and fine)
        if facts not in cache:
            cache[facts] = departement.eligible(day, commune.insee, typology, qpv)
        vacancy = Vacancy(number, cache[facts], deduction)
        logged.append(LoggedVacancy(day, commune.insee, typology, qpv, vacancy))
    return logged


def _communes(rng: random.Random) -> list[Commune]:
    count = rng.randint(18, 22)
    departement = rng.randint(1, 95)
    epcis = [f"2{departement:02d}{rng.randrange(10**6):06d}" for _ in range(3)]
    communes = []
    for number in range(count):
        # One city, a few towns, many villages: vacancies are concentrated.
        volume = 300 if number == 0 else rng.choice((5, 10, 20, 40, 80))
        epci = epcis[0] if number == 0 else rng.choice(epcis)
        insee = f"{departement:02d}{number * 7 + 1:03d}"
        communes.append(Commune(insee, epci, volume, rng.choice((0, 0, 10, 25, 40))))
    return communes


def _share_kinds(
    rng: random.Random, communes: list[Commune], everywhere: bool
) -> list[tuple[str, frozenset[str] | None]]:
    kinds: list[tuple[str, frozenset[str] | None]] = [
        ("etat_prioritaires", None),
        ("etat_agents", None),
        ("action_logement", None),
        ("departement", None),
    ]
    if everywhere:
        return kinds + [("employer", None)] * rng.randint(0, 4)
    for commune in rng.sample(communes, rng.randint(10, 14)):
        kinds.append(("commune", frozenset({commune.insee})))
    for epci in sorted({c.epci for c in communes}):
        kinds.append(("epci", frozenset(c.insee for c in communes if c.epci == epci)))
    return kinds


def _rate(rng: random.Random, kind: str) -> int:
    low, high = RANGES[kind]
    return rng.randrange(low, high + 1, 25)


def _amend(rng: random.Random, shares: list[ShareSpec]) -> list[ShareSpec]:
    """Change 2–5 rates from a mid-year date; start one convention late and end another early."""
    amended = list(shares)

    def add_rate(index: int, start: date, rate: int | None) -> None:
        spec = amended[index]
        rates = tuple(sorted(spec.rates + ((start, rate),), key=lambda item: item[0]))
        amended[index] = replace(spec, rates=rates)

    for index in rng.sample(range(len(amended)), rng.randint(2, min(5, len(amended)))):
        start = date(YEAR, rng.randint(3, 10), rng.randint(1, 28))
        add_rate(index, start, _rate(rng, amended[index].kind))
    late, early = rng.sample(range(len(amended)), 2)
    signed = date(YEAR, rng.randint(2, 9), 1)
    amended[late] = replace(amended[late], rates=((signed, _rate(rng, amended[late].kind)),))
    add_rate(early, date(YEAR, rng.randint(4, 11), 15), None)
    return amended


# Simulated years: run the engine over generated vacancies and measure how far shares stray.


@dataclass
class Worst:
    """The worst ``|FULL·realised − target|`` seen at any moment, in units, per family."""

    plain: int = 0  # reservers' shares without a sub-target
    landlord: int = 0
    sub: int = 0  # shares with a sub-target, overall
    key: int = 0  # shares with a sub-target, per key
    # The largest (2k−2)·|deviation| over ((2k−3)·FULL), kept as a pair of integers for speed.
    ratio: tuple[int, int] = (0, 1)

    @property
    def tijdeman(self) -> Fraction:
        """Tijdeman's bound holds while this is at most 1."""
        return Fraction(*self.ratio)

    def observe(self, state: AllocationState, vacancy: Vacancy) -> None:
        """Only the participants of the last vacancy moved, so checking them is exhaustive."""
        realised, targets = state.realised, state.targets
        span = 2 * max(2, sum(1 for _, weight, _ in vacancy.participants if weight > 0)) - 2
        for share, _, keys in vacancy.participants:
            gap = abs(FULL * realised.get(share, 0) - targets[share])
            if keys:
                self.sub = max(self.sub, gap)
                for key in keys:
                    self.key = max(self.key, abs(sub_deviation(state, share, key)))
            elif share == LANDLORD:
                self.landlord = max(self.landlord, gap)
            else:
                self.plain = max(self.plain, gap)
            numerator, denominator = self.ratio
            if span * gap * denominator > numerator * (span - 1) * FULL:
                self.ratio = (span * gap, (span - 1) * FULL)

    def merge(self, other: Worst) -> None:
        """Keep the worse of each figure."""
        for name in ("plain", "landlord", "sub", "key"):
            setattr(self, name, max(getattr(self, name), getattr(other, name)))
        if other.tijdeman > self.tijdeman:
            self.ratio = other.ratio


def deviation(state: AllocationState, share: ShareRef) -> int:
    """``FULL·x_i − T_i`` over allocation-only terms."""
    return FULL * state.realised.get(share, 0) - state.targets.get(share, 0)


def sub_deviation(state: AllocationState, share: ShareRef, key: str) -> int:
    """The same over one sub-target key."""
    pair = (share, key)
    return FULL * state.sub_realised.get(pair, 0) - state.sub_targets.get(pair, 0)


def run_year(
    vacancies: Iterable[Vacancy], rule: Rule = Rule.LARGEST_DEFICIT
) -> tuple[AllocationState, list[Decision], Worst]:
    """Orient every vacancy as proposed, checking the exact invariants at each step."""
    state, decisions, worst = AllocationState(rule=rule), [], Worst()
    for vacancy in vacancies:
        decision = orient(state, vacancy)
        if decision is None:
            continue
        assert decision.chosen in {share for share, _, _ in vacancy.participants}
        assert invariant_residual(state) == 0
        worst.observe(state, vacancy)
        decisions.append(decision)
    return state, decisions, worst


Unit = tuple[ShareRef, str | None]  # a share overall (None) or one of its sub-target keys

PLAIN_BOUND = 15_000  # design.md §7: 1.5 dwelling for a share without a sub-target
SUB_BOUND = 25_000  # 2.5 dwellings, overall and per key, for a share with one

RECOVERY_VACANCIES = 4  # design.md §7: back within bound after at most 4 own eligible vacancies


@dataclass
class Recovery:
    """Worst ``|deviation|`` around withdrawals and re-credited take-backs, by group and family.

    A unit (a share, or a share on one key) concerned by an event is *recovering* until it has
    had ``RECOVERY_VACANCIES`` eligible vacancies of its own, then *recovered* until the next
    event anywhere; every other unit is in *others*. Keys of ``worst`` read ``group/family``,
    family being plain, landlord, sub (overall) or key.
    """

    worst: dict[str, int] = field(default_factory=dict)
    own: dict[Unit, int] = field(default_factory=dict)
    strict: set[Unit] = field(default_factory=set)
    events: int = 0

    def after_vacancy(self, state: AllocationState, vacancy: Vacancy) -> None:
        """Record every unit the vacancy moved; a recovering unit counts it as its own."""
        for share, _, keys in vacancy.participants:
            for unit in ((share, None), *((share, key) for key in keys)):
                if unit in self.own:
                    self.own[unit] += 1
                    if self.own[unit] >= RECOVERY_VACANCIES:
                        del self.own[unit]
                        self.strict.add(unit)
                self._record(state, unit, bool(keys))

    def after_event(self, state: AllocationState, vacancy: Vacancy, concerned: ShareRef) -> None:
        """Start the recovery of the concerned units, then record every unit of the scope."""
        self.events += 1
        self.strict.clear()
        for key in (None, *vacancy.keys_of(concerned)):
            self.own[(concerned, key)] = 0
        with_keys = {share for share, _ in state.sub_targets}
        for share in state.targets:
            self._record(state, (share, None), share in with_keys)
        for share, key in state.sub_targets:
            self._record(state, (share, key), True)

    def settled(self, state: AllocationState) -> bool:
        """No unit is recovering and every unit is within its bound."""
        if self.own:
            return False
        with_keys = {share for share, _ in state.sub_targets}
        for share in state.targets:
            bound = SUB_BOUND if share in with_keys else PLAIN_BOUND
            if abs(deviation(state, share)) > bound:
                return False
        return all(abs(sub_deviation(state, *pair)) <= SUB_BOUND for pair in state.sub_targets)

    def _record(self, state: AllocationState, unit: Unit, has_keys: bool) -> None:
        share, key = unit
        if key is not None:
            family, gap = "key", abs(sub_deviation(state, share, key))
        else:
            family = "sub" if has_keys else "landlord" if share == LANDLORD else "plain"
            gap = abs(deviation(state, share))
        group = "others"
        if unit in self.own:
            group = "recovering"
        elif unit in self.strict:
            group = "recovered"
        name = f"{group}/{family}"
        if gap > self.worst.get(name, -1):
            self.worst[name] = gap


def run_with_events(
    vacancies: Iterable[Vacancy], seed: int, permille: int, *, isolated: bool = True
) -> tuple[AllocationState, Recovery]:
    """Orient as proposed; after about ``permille``/1000 of them withdraw or re-credit one.

    ``isolated`` postpones each event until the scope is settled, so that what is measured is
    the effect of one event (design.md §7), not of several piling up.
    """
    rng = random.Random(seed)
    state, recovery = AllocationState(), Recovery()
    oriented: list[tuple[Vacancy, ShareRef]] = []
    due = False
    for vacancy in vacancies:
        decision = orient(state, vacancy)
        if decision is None:
            continue
        oriented.append((vacancy, decision.chosen))
        recovery.after_vacancy(state, vacancy)
        due = due or rng.randrange(1000) < permille
        if due and (not isolated or recovery.settled(state)):
            earlier, concerned = _perturb(state, rng, oriented)
            recovery.after_event(state, earlier, concerned)
            due = False
        assert invariant_residual(state) == 0
    return state, recovery


def _perturb(
    state: AllocationState, rng: random.Random, oriented: list[tuple[Vacancy, ShareRef]]
) -> tuple[Vacancy, ShareRef]:
    """Withdraw an earlier vacancy, or re-credit its share (a reserver's) and re-orient it."""
    index = rng.randrange(len(oriented))
    vacancy, share = oriented[index]
    if share != LANDLORD and rng.randrange(2):
        decision = recredit(state, vacancy, share)
        oriented[index] = (vacancy, decision.chosen)
    else:
        withdraw(state, vacancy, share)
        oriented[index] = oriented[-1]  # O(1) removal: order does not matter here
        oriented.pop()
    return vacancy, share
