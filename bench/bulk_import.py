"""Bulk import of a landlord's year from its ERP: `flux import vacancies` on N vacancies.

    .venv/bin/python bench/bulk_import.py --database-url postgresql+psycopg://…/scratch \
        [--vacancies 100000]

The database is a scratch one: dropped and cloned from a template built on the first run
(`<name>_tpl_<N>`, kept for the next runs; drop it by hand when done). One scope (the demo's
largest landlord in the Haute-Garonne, its conventions) gets N extra dwellings and a file of
one vacancy per dwelling with its events (see bench/world.py). Measured: the import (parse,
decide in memory, insert in batches, commit), then the same file again (nothing to write),
and as an anchor in the same run the raw insertion of the same entries by executemany into a
temporary copy of the journal (what the database alone costs).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import world as bench_world  # noqa: E402
from flux.db import db  # noqa: E402
from flux.models import JournalEntry  # noqa: E402
from flux.services import allocation_book, scope_conventions, vacancy_import  # noqa: E402
from flux.services.access import SYSTEM  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--vacancies", type=int, default=100_000)
    args = parser.parse_args()
    started = time.perf_counter()
    built = bench_world.from_template(args.database_url, args.vacancies)
    text = bench_world.vacancy_file(built.rpls, 2026, last=date(2026, 11, 10))
    content = text.encode()
    print(f"set-up: {time.perf_counter() - started:.1f} s, file {len(content) / 1e6:.1f} MB")
    with built.app.app_context():
        for label in ("import", "same file again"):
            allocation_book.clear_cache()
            scope_conventions.clear_cache()
            started = time.perf_counter()
            report = vacancy_import.import_vacancies(
                db.session,
                SYSTEM,
                io.BytesIO(content),
                "annee.csv",
                bench_world.LANDLORD,
                today=date(2026, 12, 4),
            )
            if report.written:
                db.session.commit()
            else:
                db.session.rollback()
            seconds = time.perf_counter() - started
            print(
                f"{label:<16} {report.rows} rows in {seconds:6.2f} s "
                f"({report.rows / seconds:,.0f} rows/s): created {report.created}, "
                f"existing {report.existing}, refused {report.refused}"
            )
        entries = [
            dict(row._mapping)
            for row in db.session.execute(sa.select(JournalEntry.__table__)).all()
        ]
        db.session.execute(
            sa.text("CREATE TEMP TABLE anchor AS SELECT * FROM journal_entries WITH NO DATA")
        )
        anchor = sa.Table("anchor", sa.MetaData(), *(c._copy() for c in JournalEntry.__table__.c))
        started = time.perf_counter()
        for start in range(0, len(entries), vacancy_import.BATCH):
            db.session.execute(anchor.insert(), entries[start : start + vacancy_import.BATCH])
        db.session.commit()
        raw = time.perf_counter() - started
        print(f"anchor: {len(entries)} entries inserted raw in {raw:.2f} s")


if __name__ == "__main__":
    main()
