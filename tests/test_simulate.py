"""`flux simulate` on the demo conventions: the bounds of design.md §7, checked from the CSV alone.

The checks parse the decisions file with `csv` and recompute every target from the `eligible`
column, so they hold for whatever produced the file, not for Flux's own counters.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flux.cli import main
from flux.demo import DEMO_DIR

FULL = 10_000
BOUND = 15_000  # 1.5 dwellings, in basis-point units
SUB_BOUND = 25_000  # 2.5 dwellings: a share with a sub-target, overall and per key
YEAR = "2026"


@pytest.fixture(scope="module")
def simulate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[Result, Path]]:
    """simulate(directory, seed, vacancies) -> (result, csv path); FLUX_DATABASE_URL unused."""
    user_database = tmp_path_factory.mktemp("user") / "never" / "flux.sqlite"

    def run(
        directory: Path = DEMO_DIR, seed: int = 1, vacancies: int = 5000, *extra: str
    ) -> tuple[Result, Path]:
        out = tmp_path_factory.mktemp("simulate") / f"seed-{seed}.csv"
        args = ["simulate", "--conventions", str(directory), "--vacancies", str(vacancies)]
        args += ["--seed", str(seed), "--year", YEAR, "--out", str(out), *extra]
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FLUX_ENV", "test")
            patch.setenv("FLUX_DATABASE_URL", f"sqlite:///{user_database}")
            result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert not user_database.parent.exists(), "the user's database must not be touched"
        return result, out

    return run


@pytest.fixture(scope="module")
def demo_runs(simulate) -> dict[int, tuple[Result, Path]]:
    runs = {seed: simulate(DEMO_DIR, seed) for seed in (1, 2)}
    for result, _ in runs.values():
        assert result.exit_code == 0, result.output
    return runs


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def pairs(cell: str, separator: str) -> list[tuple[str, str]]:
    return [tuple(item.split(separator, 1)) for item in cell.split("|")] if cell else []


def worst_deviations(rows: list[dict[str, str]]) -> dict[str, int]:
    """Assert every bound at every row, per scope; return the worst figures in units.

    Per scope (landlord, département), ``target[share]`` is Σ bp over the counted rows where
    the share is eligible (the landlord part weighing 10000 − Σ eligible bp) and
    ``target[share, key]`` the same over the rows with that sub-target key.
    """
    with_sub = {
        (r["landlord"], r["departement"], s) for r in rows for s, _ in pairs(r["subkeys"], "=")
    }
    target: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    realised: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    worst = {"plain": 0, "sub": 0, "key": 0}
    for row in rows:
        scope = (row["landlord"], row["departement"])
        weights = {share: int(bp) for share, bp in pairs(row["eligible"], ":")}
        assert "landlord" not in weights and sum(weights.values()) <= FULL
        weights["landlord"] = FULL - sum(weights.values())
        if row["deduction"]:
            assert row["chosen"] == "", row
            continue
        chosen = row["chosen"]
        assert chosen in weights, row
        for share, weight in weights.items():
            target[scope][share] += weight
        realised[scope][chosen] += 1
        for share, key in pairs(row["subkeys"], "="):
            target[scope][share, key] += weights[share]
            realised[scope][share, key] += chosen == share
        gaps = {k: FULL * realised[scope][k] - t for k, t in target[scope].items()}
        assert sum(gap for k, gap in gaps.items() if isinstance(k, str)) == 0, row["seq"]
        for k, gap in gaps.items():
            share = k if isinstance(k, str) else k[0]
            sub = (*scope, share) in with_sub
            kind = "plain" if not sub else "sub" if isinstance(k, str) else "key"
            assert abs(gap) <= (SUB_BOUND if sub else BOUND), (row["seq"], k, gap)
            worst[kind] = max(worst[kind], abs(gap))
    return worst


@pytest.mark.parametrize("seed", [1, 2])
def test_every_share_stays_within_its_bound_at_every_decision(demo_runs, seed):
    _, path = demo_runs[seed]
    rows = read(path)

    worst = worst_deviations(rows)

    assert len(rows) == 5000
    assert [int(row["seq"]) for row in rows] == list(range(1, 5001))
    assert [row["date"] for row in rows] == sorted(row["date"] for row in rows)
    assert all(row["date"].startswith(f"{YEAR}-") for row in rows)
    assert worst["plain"] > 0 and worst["key"] > 0  # the checks saw the shares move


def test_a_share_of_the_vacancies_is_deducted_and_some_are_first_lettings(demo_runs):
    rows = read(demo_runs[1][1])
    deductions = [row["deduction"] for row in rows if row["deduction"]]

    assert 0.13 <= len(deductions) / len(rows) <= 0.17
    assert max(set(deductions), key=deductions.count) == "internal_transfer"
    assert set(deductions) <= {
        "internal_transfer",
        "urban_renewal",
        "degraded_condo",
        "unfit_housing",
        "sale",
    }
    first = sum(row["letting"] == "first_letting" for row in rows) / len(rows)
    assert 0.05 <= first <= 0.10


def test_the_summary_gives_each_share_and_the_landlord_part(demo_runs):
    output = demo_runs[1][0].stdout

    assert "Droit" in output and "Objectif" in output and "Écart max" in output
    assert output.count("Part non réservée") == 3  # one per landlord of the demo
    assert "31-OPHG-AL" in output and "25,00 → 28,00 %" in output  # the mid-year amendment
    assert "(commune:" in output  # the État's worst commune


def test_the_same_seed_gives_the_same_file_byte_for_byte(demo_runs, simulate):
    result, again = simulate(DEMO_DIR, 1)

    assert result.exit_code == 0
    assert again.read_bytes() == demo_runs[1][1].read_bytes()
    assert again.read_bytes() != demo_runs[2][1].read_bytes()


def test_the_conventions_folder_itself_may_be_given(simulate):
    whole, from_parent = simulate(DEMO_DIR, 3, 200)
    folder, from_folder = simulate(DEMO_DIR / "conventions", 3, 200)

    assert whole.exit_code == folder.exit_code == 0
    assert from_folder.read_bytes() == from_parent.read_bytes()


def test_a_bad_convention_is_refused_naming_the_file(simulate, tmp_path):
    directory = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, directory)
    bad = directory / "conventions" / "31-ophg-etat.toml"
    bad.write_text(bad.read_text(encoding="utf-8").replace('"25.00"', '"35.00"'), "utf-8")

    result, out = simulate(directory, 1, 10)

    assert result.exit_code == 1
    assert result.stderr.startswith("Erreur : 31-ophg-etat.toml : ")
    assert "rien n'a été simulé" in result.stderr
    assert not out.exists()


def test_tijdeman_rule_is_refused_where_shares_have_sub_targets(simulate):
    result, out = simulate(DEMO_DIR, 1, 100, "--rule", "tijdeman_deadline")

    assert result.exit_code == 1
    assert "sous-objectifs" in result.stderr and "plus grand retard" in result.stderr
    assert not out.exists()
