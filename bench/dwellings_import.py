"""The dwellings import read as it comes: time and peak memory for a large CSV file.

    .venv/bin/python bench/dwellings_import.py [--rows 100000] [--database-url URL]

Loads the demo's territory and organisations into a scratch database (SQLite file by default),
writes a CSV of ``--rows`` dwellings for the demo's largest landlord, then imports it through
the service of ``flux import dwellings`` (batches of 1 000 rows, each row audited), twice: once
into an empty stock (all created), once again (all unchanged). The anchor, in the same run:
reading the same file with the ``csv`` module alone. Peak memory is the process's resident
high-water mark (``VmHWM``), reset before each import.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flux import create_app, loaders, migrate  # noqa: E402
from flux.db import db  # noqa: E402
from flux.demo import DEMO_DIR  # noqa: E402

LANDLORD = "oph-demo-garonne"


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def write_file(path: Path, rows: int, communes: list[str]) -> None:
    rng = random.Random(1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("rpls_id;commune;qpv;typology;financing;construction_year;out_of_flux\n")
        for number in range(rows):
            commune = rng.choice(communes)
            typology = rng.choice(["T1", "T2", "T3", "T4", "T5"])
            financing = rng.choice(["PLAI", "PLUS", "PLS"])
            handle.write(
                f"X{number:09d};{commune};;{typology};{financing};{rng.randint(1960, 2020)};\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench.sqlite'}"
        migrate.upgrade(url)
        app = create_app({"DATABASE_URL": url})
        path = Path(scratch) / "logements.csv"
        with app.app_context():
            loaders.load_territory(db.session, DEMO_DIR / "territory.toml")
            loaders.load_organisations(db.session, DEMO_DIR / "organisations.toml")
            db.session.commit()
            communes = [
                row[1]
                for row in csv.reader(
                    (DEMO_DIR / f"dwellings-{LANDLORD}.csv").open(encoding="utf-8-sig"),
                    delimiter=";",
                )
            ][1:]
            write_file(path, args.rows, sorted(set(communes)))
            size = path.stat().st_size / 1e6
            started = time.perf_counter()
            with path.open(newline="", encoding="utf-8") as handle:
                read = sum(1 for _ in csv.reader(handle, delimiter=";"))
            anchor = time.perf_counter() - started
            print(
                f"{args.rows} rows, {size:.1f} MB; anchor: csv reads {read} lines, {anchor:.2f} s"
            )
            for label in ("created", "unchanged"):
                reset_peak()
                started = time.perf_counter()
                report = loaders.import_dwellings(db.session, path, LANDLORD)
                db.session.commit()
                elapsed = time.perf_counter() - started
                print(
                    f"import ({label}): {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s, "
                    f"{elapsed / anchor:.0f} × anchor), peak RSS {peak_mib():.0f} MiB; "
                    f"{report.created} created, {report.updated} updated, "
                    f"{report.unchanged} unchanged"
                )
            db.engine.dispose()


if __name__ == "__main__":
    main()
