"""A small seeded world shared by the access matrix and the schemathesis run.

Two landlords (A: oph-demo-garonne, B: esh-demo-pastel), two reservers (X: action-logement,
Y: commune-muret), the prefectures of the Haute-Garonne (31) and of the Gers (32, a second
tiny territory), an admin; a few dwellings, conventions and vacancies of each.

One app per test module: seeding through the services and building an app cost more than
the requests under test, so the database is seeded once and restored from a snapshot (a file
copy on SQLite, truncate-and-insert on PostgreSQL) before any test that follows a write.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from flux import create_app, loaders
from flux.api.conventions.schemas import ConventionInputSchema
from flux.api.dwellings.schemas import DwellingSchema
from flux.db import Base, db
from flux.demo import DEMO_DIR
from flux.domain.conventions import ReserverCategory
from flux.domain.reference import OrganisationKind, Role
from flux.models import ApiToken, Convention, Organisation, User
from flux.services import (
    allocation_book,
    conventions,
    deduction_forecasts,
    dwellings,
    organisations,
    scope_conventions,
    users,
    vacancies,
)
from flux.services.access import SYSTEM, Actor
from flux.services.organisations import NewOrganisation

GERS = Path(__file__).parent / "gers.toml"
A, B = "oph-demo-garonne", "esh-demo-pastel"
X, Y = "action-logement", "commune-muret"
TOULOUSE, MURET, AUCH = "31555", "31395", "32013"
PASSWORD = "mot-de-passe-de-test-assez-long"
ON = date(2025, 3, 1)

# Caller name -> (role, organisation code, read only).
CALLERS: dict[str, tuple[str, str | None, bool]] = {
    "admin": ("admin", None, False),
    "landlord-A": ("landlord", A, False),
    "landlord-A-ro": ("landlord", A, True),
    "landlord-B": ("landlord", B, False),
    "reserver-X": ("reserver", X, False),
    "reserver-Y": ("reserver", Y, False),
    "prefecture-31": ("prefecture", "etat-31", False),
    "prefecture-32": ("prefecture", "etat-32", False),
}


@dataclass
class Seed:
    """Ids of what was seeded, by short names."""

    org: dict[str, int] = field(default_factory=dict)  # organisation code -> id
    user: dict[str, int] = field(default_factory=dict)  # caller -> user id
    email: dict[str, str] = field(default_factory=dict)  # caller -> email
    token: dict[str, str] = field(default_factory=dict)  # caller -> bearer secret
    spare_token: dict[str, int] = field(default_factory=dict)  # caller -> a second token's id
    dwelling: dict[str, int] = field(default_factory=dict)  # "A1", "A2", "A-spare", ... -> id
    dwelling_landlord: dict[int, int] = field(default_factory=dict)  # id -> landlord id
    dwelling_departement: dict[int, str] = field(default_factory=dict)  # id -> département
    convention: dict[str, int] = field(default_factory=dict)  # "A-X", "A-Y", "A-etat", "B-X"
    revision: dict[str, int] = field(default_factory=dict)  # same keys -> revision (ETag)
    shares: dict[str, list[int]] = field(default_factory=dict)  # same keys -> share ids
    vacancy: dict[str, int] = field(default_factory=dict)  # "A-X", "A-Y", "B-X", "B-32" -> id

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.token[caller]}"}

    def etag(self, key: str) -> str:
        return f'"convention-{self.convention[key]}-r{self.revision[key]}"'


def _actor(session: sa.orm.Session, caller: str, seed: Seed) -> Actor:
    actor = users.actor_for_token(session, seed.token[caller])
    assert actor is not None
    return actor


def _as(session: sa.orm.Session, actor: Actor) -> Actor:
    session.info["actor"] = actor  # audit records name who wrote, as a request would
    return actor


def seed(session: sa.orm.Session) -> Seed:
    """Load the world into an empty, migrated database and commit it."""
    found = Seed()
    loaders.load_territory(session, DEMO_DIR / "territory.toml")
    loaders.load_territory(session, GERS)
    loaders.load_organisations(session, DEMO_DIR / "organisations.toml")
    organisations.create(
        session,
        SYSTEM,
        NewOrganisation(
            "etat-32",
            "État – Préfecture du Gers",
            OrganisationKind.RESERVER,
            ReserverCategory.ETAT,
            "32",
        ),
    )
    session.commit()
    found.org = dict(session.execute(sa.select(Organisation.code, Organisation.id)).all())

    for caller, (role, org, read_only) in CALLERS.items():
        email = f"{caller}@acces.test.flux.example"
        created = users.create_user(
            session, email=email, role=Role(role), org_code=org, can_write=not read_only
        )
        found.user[caller], found.email[caller], found.token[caller] = (
            created.user_id,
            email,
            created.token,
        )
    for caller in ("landlord-A", "landlord-B"):
        user = session.get_one(User, found.user[caller])
        secret = users.issue_token(session, user, "seconde clé")
        found.spare_token[caller] = session.scalar(
            sa.select(ApiToken.id).where(ApiToken.token_hash == users.hash_token(secret))
        )
    users.set_password(session, session.get_one(User, found.user["landlord-A"]), PASSWORD)
    session.commit()

    schema = DwellingSchema()
    for caller, landlord, homes in (
        ("landlord-A", A, {"A1": TOULOUSE, "A2": MURET, "A-spare": TOULOUSE}),
        ("landlord-B", B, {"B1": TOULOUSE, "B-32": AUCH, "B-spare": TOULOUSE}),
    ):
        actor = _as(session, _actor(session, caller, found))
        for number, (name, commune) in enumerate(homes.items(), start=1):
            data = schema.load(
                {
                    "landlord": landlord,
                    "rpls_id": f"{name[0]}{number:07d}",
                    "commune": commune,
                    "typology": "T3",
                    "financing": "PLUS",
                    "construction_year": 1990,
                }
            )
            home = dwellings.create(session, actor, data)
            found.dwelling[name] = home.id
            found.dwelling_landlord[home.id] = home.landlord_id
            found.dwelling_departement[home.id] = commune[:2]
        session.commit()

    load = ConventionInputSchema().load
    for caller, key, payload in (
        ("landlord-A", "A-X", _convention("A-X", A, X, [_share("salaries", "40.00")])),
        (
            "landlord-A",
            "A-Y",
            _convention(
                "A-Y",
                A,
                Y,
                [_share("ville", "20.00")],
                perimeter={"kind": "communes", "communes": [MURET]},
            ),
        ),
        ("prefecture-31", "A-etat", _convention("A-etat", A, "etat-31", _etat_shares())),
        ("landlord-B", "B-X", _convention("B-X", B, X, [_share("salaries", "40.00")])),
    ):
        actor = _as(session, _actor(session, caller, found))
        saved = conventions.create(session, actor, load(payload))
        session.commit()
        found.convention[key] = saved.convention.id
        found.shares[key] = [t.share_id for t in saved.convention.versions[0].share_terms]
    found.revision = {
        key: session.scalar(sa.select(Convention.revision).where(Convention.id == conv_id))
        for key, conv_id in found.convention.items()
    }

    for caller, key, home, orient_to in (
        ("landlord-A", "A-X", "A1", found.shares["A-X"][0]),
        ("landlord-A", "A-Y", "A2", found.shares["A-Y"][0]),
        ("landlord-B", "B-X", "B1", found.shares["B-X"][0]),
        ("landlord-B", "B-32", "B-32", None),
    ):
        actor = _as(session, _actor(session, caller, found))
        logged = vacancies.log_vacancy(
            session,
            actor,
            vacancies.NewVacancy(
                available_on=ON,
                dwelling_id=found.dwelling[home],
                orient_to=orient_to,
                reason="Orientation fixée par le jeu d'essai",
            ),
        )
        session.commit()
        found.vacancy[key] = logged.vacancy_id

    # Deduction forecasts of 2025: A in the 31, B in the 31 and in the 32.
    for caller, departement, figures in (
        ("landlord-A", "31", {"internal_transfer": 12, "sale": 1}),
        ("landlord-B", "31", {"internal_transfer": 8}),
        ("landlord-B", "32", {"urban_renewal": 2}),
    ):
        actor = _as(session, _actor(session, caller, found))
        deduction_forecasts.declare(
            session, actor, deduction_forecasts.NewForecasts(departement, 2025, figures)
        )
        session.commit()
    session.info.pop("actor", None)
    return found


def _share(code: str, percent: str) -> dict[str, Any]:
    return {"code": code, "label": f"Part {code}", "percent": percent}


def _etat_shares() -> list[dict[str, Any]]:
    return [
        {
            "code": "prioritaires",
            "label": "Prioritaires",
            "percent": "25.00",
            "purpose": "prioritaires",
        },
        {
            "code": "agents",
            "label": "Agents de l'État",
            "percent": "5.00",
            "purpose": "agents_etat",
        },
    ]


def _convention(
    reference: str, landlord: str, reserver: str, shares: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "reference": reference,
        "landlord": landlord,
        "reserver": reserver,
        "departement": "31",
        "valid_from": "2025-01-01",
        "perimeter": {"kind": "departement", "code": "31"},
        "shares": shares,
        **extra,
    }


# --- one app, restored after writes --------------------------------------------------------


class World:
    """A module's app over a seeded database, restored from its snapshot on demand."""

    def __init__(self, template: str, directory: Path, on_postgres: bool) -> None:
        self.on_postgres = on_postgres
        if on_postgres:
            self.url = template
            self.live = None
        else:
            self.live = directory / "world.sqlite"
            shutil.copyfile(template, self.live)
            self.url = f"sqlite:///{self.live}"
        self._clear_caches()
        self.app = create_app(
            {"ENV": "test", "DATABASE_URL": self.url, "TESTING": True, "IMPORTS_IN_THREAD": False}
        )
        with self.app.app_context():
            if on_postgres:
                _truncate(db.engine)
            self.seed = seed(db.session)
            if on_postgres:
                self._rows = _snapshot(db.engine)
            else:
                db.engine.dispose()  # checkpoint the WAL: the file alone holds the data
                self.snapshot = directory / "world-seed.sqlite"
                shutil.copyfile(self.live, self.snapshot)
        self.dirty = False

    def client(self):
        return self.app.test_client()

    def restore(self) -> None:
        """Put the database back as seeded (ids included)."""
        with self.app.app_context():
            if self.on_postgres:
                _truncate(db.engine)
                _insert(db.engine, self._rows)
            else:
                db.engine.dispose()
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.live}{suffix}").unlink(missing_ok=True)
                shutil.copyfile(self.snapshot, self.live)
        self._clear_caches()
        self.dirty = False

    def ensure_clean(self) -> None:
        if self.dirty:
            self.restore()

    def close(self) -> None:
        with self.app.app_context():
            db.engine.dispose()
        self._clear_caches()

    @staticmethod
    def _clear_caches() -> None:
        allocation_book.clear_cache()  # restored databases reuse ids
        scope_conventions.clear_cache()


def _truncate(engine: sa.Engine) -> None:
    # DELETE in replica mode, sequences restarted: as TRUNCATE, at a fraction of its cost.
    from ..conftest import _EMPTY_ALL

    with engine.begin() as connection:
        connection.exec_driver_sql(_EMPTY_ALL)


def _snapshot(engine: sa.Engine) -> dict[sa.Table, list[dict[str, Any]]]:
    with engine.connect() as connection:
        return {
            table: [dict(row._mapping) for row in connection.execute(sa.select(table))]
            for table in Base.metadata.sorted_tables
        }


def _insert(engine: sa.Engine, rows: dict[sa.Table, list[dict[str, Any]]]) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("SET session_replication_role = replica")
        for table, values in rows.items():
            if values:
                connection.execute(sa.insert(table), values)
            keys = list(table.primary_key.columns)
            if len(keys) == 1 and isinstance(keys[0].type, sa.Integer):
                column = keys[0]
                connection.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                        f"'{column.name}'), COALESCE(MAX({column.name}), 1), "
                        f"MAX({column.name}) IS NOT NULL) FROM {table.name}"
                    )
                )
