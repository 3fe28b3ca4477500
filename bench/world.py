"""A scratch database with the demo territory, organisations and conventions (no activity),
and as many extra dwellings as a benchmark needs for one landlord (bulk-inserted)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from flux import create_app, demo, migrate
from flux.db import db
from flux.domain.reference import Role
from flux.models import Commune, Dwelling, Organisation
from flux.services import users

LANDLORD = "oph-demo-garonne"


@dataclass
class World:
    app: object
    url: str
    landlord_id: int
    token: str
    rpls: list[str]


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def from_template(url: str, dwellings: int) -> World:
    """``build`` once into a template database (PostgreSQL), then clone it for each run:
    loading the demo takes about a minute on this machine."""
    target = sa.engine.make_url(url)
    template = f"{target.database}_tpl_{dwellings}"
    admin = sa.create_engine(target.set(database="postgres")).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": template}
        )
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{template}"')
    if not exists:
        made = build(target.set(database=template).render_as_string(False), dwellings)
        with made.app.app_context():
            db.engine.dispose()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{target.database}" TEMPLATE "{template}"')
    admin.dispose()
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        landlord = db.session.scalar(sa.select(Organisation).where(Organisation.code == LANDLORD))
        token = users.create_user(
            db.session,
            email=f"bench{random.random()}@flux.example",
            role=Role.LANDLORD,
            org_code=landlord.code,
        ).token
        rpls = db.session.scalars(
            sa.select(Dwelling.rpls_id)
            .where(Dwelling.rpls_id.like("B%"), Dwelling.landlord_id == landlord.id)
            .order_by(Dwelling.rpls_id)
        ).all()
        db.session.commit()
        return World(app, url, landlord.id, token, list(rpls))


def build(url: str, dwellings: int, seed: int = 1) -> World:
    """Migrate `url` (an empty database), load the demo (no activity) and add `dwellings`
    bench dwellings to the landlord, in the demo's communes."""
    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        demo.load(db.session)
        landlord = db.session.scalar(sa.select(Organisation).where(Organisation.code == LANDLORD))
        token = users.create_user(
            db.session, email="bench@flux.example", role=Role.LANDLORD, org_code=landlord.code
        ).token
        communes = db.session.scalars(
            sa.select(Commune.insee).where(Commune.departement_code == "31").order_by(Commune.insee)
        ).all()
        db.session.commit()
        rng = random.Random(seed)
        rpls = [f"B{n:08d}" for n in range(dwellings)]
        rows = [
            {
                "landlord_id": landlord.id,
                "rpls_id": number,
                "commune_insee": rng.choice(communes),
                "qpv_code": None,
                "typology": rng.choice(["T1", "T2", "T3", "T4", "T5"]),
                "financing": rng.choice(["PLAI", "PLUS", "PLS"]),
                "construction_year": rng.randint(1960, 2020),
            }
            for number in rpls
        ]
        for start in range(0, len(rows), 5_000):
            db.session.execute(sa.insert(Dwelling), rows[start : start + 5_000])
        db.session.commit()
        return World(app, url, landlord.id, token, rpls)


def vacancy_file(rpls: list[str], year: int, seed: int = 2, last: date | None = None) -> str:
    """A year of vacancies, one per dwelling, with their events: 15 % deducted (then leased),
    10 % withdrawn the next day; the rest oriented. CSV with the documented header."""
    rng = random.Random(seed)
    first = date(year, 1, 1)
    span = ((last or date(year, 12, 31)) - first).days
    vacancies, events = [], []
    for number in rpls:
        on = first + timedelta(days=rng.randint(0, span))
        draw = rng.random()
        if draw < 0.15:
            vacancies.append(f"vacancy;;{number};{on};internal_transfer;")
            events.append(f"lease;;{number};{on};;{on + timedelta(days=20)}")
        else:
            vacancies.append(f"vacancy;;{number};{on};;")
            if draw < 0.25:
                events.append(f"withdrawal;;{number};{on};;{on + timedelta(days=1)};Reste")
    header = "type;reference;rpls_id;available_on;deduction;date;reason"
    return "\n".join([header, *vacancies, *(e if e.count(";") == 6 else e + ";" for e in events)])
