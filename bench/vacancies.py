"""End-to-end cost of logging a vacancy: POST /api/v1/vacancies through the whole stack.

Loads the demo (without activity) into a scratch database, then logs N vacancies of one
landlord through the Flask test client and reports requests per second.

    .venv/bin/python bench/vacancies.py [--vacancies 500] [--database-url URL]

Without --database-url a temporary SQLite file is used; a PostgreSQL URL must name an empty
database that the script may migrate.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from flux import create_app, demo, migrate
from flux.db import db
from flux.domain.reference import Role
from flux.models import Dwelling, Organisation
from flux.services import users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vacancies", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench.sqlite'}"
        migrate.upgrade(url)
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            demo.load(db.session)
            landlord = db.session.scalar(
                sa.select(Organisation).where(Organisation.code == "oph-demo-garonne")
            )
            token = users.create_user(
                db.session, email="bench@flux.example", role=Role.LANDLORD, org_code=landlord.code
            ).token
            dwellings = db.session.scalars(
                sa.select(Dwelling.id)
                .where(Dwelling.landlord_id == landlord.id, Dwelling.out_of_flux.is_(None))
                .order_by(Dwelling.id)
                .limit(args.vacancies)
            ).all()
            db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        timings = []
        for index, dwelling in enumerate(dwellings):
            on = date(2026, 1, 1) + timedelta(days=index * 365 // len(dwellings))
            started = time.perf_counter()
            response = client.post(
                "/api/v1/vacancies",
                headers=headers,
                json={"dwelling": dwelling, "available_on": on.isoformat()},
            )
            timings.append(time.perf_counter() - started)
            assert response.status_code == 201, response.get_json()
        total = sum(timings)
        print(
            f"{sa.engine.make_url(url).get_backend_name()}: {len(timings)} vacancies logged "
            f"in {total:.2f} s — {len(timings) / total:.0f}/s, median "
            f"{statistics.median(timings) * 1000:.1f} ms, p95 "
            f"{sorted(timings)[int(len(timings) * 0.95)] * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
