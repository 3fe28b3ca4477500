"""Benchmark of the allocation engine: decisions per second over a generated year.

Usage: .venv/bin/python bench/allocation.py [--vacancies 20000] [--seed 1] [--repeat 5]

Scenarios, each on the same generated département (about 20 communes, 19 shares):
- orient: propose + apply for every vacancy, largest deficit, État spread by commune; then the
  same writing each explanation as the journal records it (what the service always does), the
  service's own path (propose, explanation, apply: it applies when it folds the journal), and
  building the explanation's line objects;
- orient, amendments: the same with mid-year amendments;
- orient, Tijdeman: every share eligible everywhere, Tijdeman's rule;
- replay: apply only, folding the recorded orientations (how the service rebuilds a scope);
- one proposal: a single propose on the year-end state (the cost once the state is built);
- reference: a plain implementation of the same rule (largest deficit first, sub-targets
  ranked by the mean of the deficit and the sub-deficits, ties to the fixed order) on the same
  vacancies, choosing only (no explanation): the anchor the engine's rate is compared with,
  measured alternately with each scenario it is compared with (run by run, best of each).
  Both must choose the same share for every vacancy (checked).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.domain.generators

from flux.domain.allocation import (  # noqa: E402
    FULL,
    AllocationState,
    Decision,
    Rule,
    ShareRef,
    Vacancy,
    apply,
    orient,
    propose,
)
from tests.domain.generators import make_departement, make_vacancies  # noqa: E402


def year(seed: int, count: int, *, amendments: bool = False, everywhere: bool = False) -> list:
    """``count`` counted vacancies (no deduction: deducted ones never reach the engine)."""
    departement = make_departement(seed, amendments=amendments, everywhere=everywhere)
    logged = make_vacancies(departement, seed + 1, count, deducted_percent=0)
    return [item.vacancy for item in logged]


def orient_all(vacancies: list[Vacancy], rule: Rule, explain: str = "") -> Callable[[], object]:
    """Propose and apply (``orient``); with ``explain="payload"``, also write each decision's
    explanation as the journal records it (what the service always does), with
    ``explain="lines"`` build the explanation's line objects instead."""

    def run() -> AllocationState:
        state = AllocationState(rule=rule)
        for vacancy in vacancies:
            decision = orient(state, vacancy)
            if explain == "payload":
                decision.explanation_payload()
            elif explain == "lines":
                decision.lines  # noqa: B018 - building the explanation is what is measured
        return state

    return run


def service_path(vacancies: list[Vacancy]) -> Callable[[], object]:
    """What the service does for each decision: ``propose``, the explanation as recorded,
    then ``apply`` (the service applies it when it folds the new journal entries)."""

    def run() -> AllocationState:
        state = AllocationState()
        for vacancy in vacancies:
            decision = propose(state, vacancy)
            decision.explanation_payload()
            apply(state, vacancy, decision.chosen)
        return state

    return run


def replay_all(journal: list[tuple[Vacancy, ShareRef]]) -> Callable[[], object]:
    def run() -> AllocationState:
        state = AllocationState()
        for vacancy, chosen in journal:
            apply(state, vacancy, chosen)
        return state

    return run


def reference_all(vacancies: list[Vacancy]) -> Callable[[], list[ShareRef]]:
    """The rule alone, written plainly: integers, dictionaries, one pass per vacancy."""

    def run() -> list[ShareRef]:
        targets: dict = {}
        realised: dict = {}
        sub_targets: dict = {}
        sub_realised: dict = {}
        chosen = []
        for vacancy in vacancies:
            best, best_num, best_den, best_keys = None, 0, 1, ()
            for share, weight, keys in vacancy.participants:
                num = targets.get(share, 0) + weight - FULL * realised.get(share, 0)
                for key in keys:
                    pair = (share, key)
                    num += sub_targets.get(pair, 0) + weight - FULL * sub_realised.get(pair, 0)
                den = 1 + len(keys)
                if best is None or num * best_den > best_num * den:
                    best, best_num, best_den, best_keys = share, num, den, keys
            for share, weight, keys in vacancy.participants:
                targets[share] = targets.get(share, 0) + weight
                for key in keys:
                    sub_targets[(share, key)] = sub_targets.get((share, key), 0) + weight
            realised[best] = realised.get(best, 0) + 1
            for key in best_keys:
                sub_realised[(best, key)] = sub_realised.get((best, key), 0) + 1
            chosen.append(best)
        return chosen

    return run


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """The best of ``repeat`` runs, in CPU seconds of this process: on a machine shared with
    other work, the time spent waiting for a core is left out (the code is single-threaded and
    does no I/O, so its CPU time is its running time on a quiet machine)."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


def paired(repeat: int, run: Callable[[], object], anchor: Callable[[], object]) -> tuple:
    """(best of ``run``, best of ``anchor``), the two alternated run by run: on a shared
    machine the speed of a core drifts over seconds (the reference alone moved from 2.7 to
    3.9 µs per decision between two runs), so a scenario is compared with the reference
    measured in the same moments, not minutes earlier."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for index, job in enumerate((run, anchor)):
            started = time.process_time()
            job()
            times[index].append(time.process_time() - started)
    return min(times[0]), min(times[1])


def report(name: str, seconds: float, operations: int) -> None:
    rate = operations / seconds
    micro = seconds / operations * 1e6
    print(f"{name:<28} {operations:>7} in {seconds:7.3f} s  {rate:>10,.0f}/s  {micro:7.1f} µs each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vacancies", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    count, seed, repeat = options.vacancies, options.seed, options.repeat
    print(f"Python {sys.version.split()[0]}, {count} vacancies, seed {seed}, best of {repeat}")

    plain = year(seed, count)
    against = reference_all(plain)
    engine, reference = paired(repeat, orient_all(plain, Rule.LARGEST_DEFICIT), against)
    report("orient (largest deficit)", engine, count)
    report("reference (plain rule)", reference, count)
    check, expected = AllocationState(), reference_all(plain)()
    assert [orient(check, v).chosen for v in plain] == expected, "the reference disagrees"
    print(f"engine / reference rate: {reference / engine:.3f}")
    if hasattr(Decision, "explanation_payload"):  # absent from older versions (comparisons)
        payload = orient_all(plain, Rule.LARGEST_DEFICIT, explain="payload")
        explained, reference = paired(repeat, payload, against)
        report("orient + explanation", explained, count)
        print(f"engine with explanation / reference rate: {reference / explained:.3f}")
        served, reference = paired(repeat, service_path(plain), against)
        report("propose + explanation + apply", served, count)
        print(f"service's engine path / reference rate: {reference / served:.3f}")
    lines, reference = paired(
        repeat, orient_all(plain, Rule.LARGEST_DEFICIT, explain="lines"), against
    )
    report("orient + explanation lines", lines, count)
    print(f"engine with explanation lines / reference rate: {reference / lines:.3f}")
    amended = year(seed, count, amendments=True)
    report("orient, amendments", best_of(repeat, orient_all(amended, Rule.LARGEST_DEFICIT)), count)
    everywhere = year(seed, count, everywhere=True)
    report("orient, Tijdeman", best_of(repeat, orient_all(everywhere, Rule.TIJDEMAN)), count)

    state, journal = AllocationState(), []
    for vacancy in plain:
        decision = orient(state, vacancy)
        assert decision is not None
        journal.append((vacancy, decision.chosen))
    report("replay (apply only)", best_of(repeat, replay_all(journal)), count)
    last = plain[-1]
    single = best_of(repeat, lambda: [propose(state, last) for _ in range(1_000)])
    report("one proposal, year-end", single, 1_000)


if __name__ == "__main__":
    main()
