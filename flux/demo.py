"""The demo territory: Haute-Garonne's real communes, fictitious landlords (conventions/demo/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import demo_activity, loaders
from flux.domain.reference import DeductionCategory, OrganisationKind, Role
from flux.models import ApiToken, Commune, Dwelling, Organisation, User
from flux.models.types import utcnow
from flux.services import deduction_forecasts, users
from flux.services.access import SYSTEM
from flux.settings import PROJECT_ROOT

DEMO_DIR = PROJECT_ROOT / "conventions" / "demo"
DEMO_DOMAIN = "demo.flux.example"
ACTIVITY_START = date(2025, 1, 1)


@dataclass(frozen=True)
class DemoUser:
    email: str
    role: str
    organisation: str | None
    token: str
    password: str = ""  # for the sign-in page (demo data only)


def demo_password(role: str) -> str:
    """The demo users' passwords, one per role: public, like the rest of the demo."""
    return f"flux-demo-{role}"


def is_loaded(session: Session) -> bool:
    return (
        session.scalar(sa.select(User.id).where(User.email == f"admin@{DEMO_DOMAIN}")) is not None
    )


def load(
    session: Session, directory: Path = DEMO_DIR, *, activity_until: date | None = None
) -> list[DemoUser]:
    """Load the demo territory, organisations, stock and conventions; create one user per role;
    then, unless `activity_until` is None, a year 2025 and 2026 up to that date of vacancies."""
    loaders.load_territory(session, directory / "territory.toml")
    loaders.load_organisations(session, directory / "organisations.toml")
    for path in sorted(directory.glob("dwellings-*.csv")):
        landlord = path.stem.removeprefix("dwellings-")
        loaders.import_dwellings(session, path, landlord)
    loaders.load_conventions(session, directory / "conventions")
    created = [
        users.create_user(
            session,
            email=f"admin@{DEMO_DOMAIN}",
            role=Role.ADMIN,
            token_label="demo",
            password=demo_password(str(Role.ADMIN)),
        )
    ]
    for org in session.scalars(sa.select(Organisation).order_by(Organisation.id)):
        for role in _roles_of(org):
            created.append(
                users.create_user(
                    session,
                    email=f"{role}@{org.code}.{DEMO_DOMAIN}",
                    role=role,
                    org_code=org.code,
                    token_label="demo",
                    password=demo_password(str(role)),
                )
            )
    session.flush()
    _declare_forecasts(session)
    if activity_until is not None:
        demo_activity.generate(session, ACTIVITY_START, activity_until)
    return fresh_tokens(session)


def _declare_forecasts(session: Session) -> None:
    """Each landlord's deduction forecasts of 2025 and 2026 in each of its départements: what
    the demo's own deduction rates predict for its stock in the flux (so the bilan can set
    forecast against actual)."""
    stock = session.execute(
        sa.select(Dwelling.landlord_id, Commune.departement_code, sa.func.count(Dwelling.id))
        .join(Commune, Commune.insee == Dwelling.commune_insee)
        .where(Dwelling.out_of_flux.is_(None))
        .group_by(Dwelling.landlord_id, Commune.departement_code)
        .order_by(Dwelling.landlord_id, Commune.departement_code)
    ).all()
    for landlord_id, departement, in_flux in stock:
        expected = dict.fromkeys(DeductionCategory, 0)
        for category, probability in demo_activity.DEDUCTIONS:
            expected[category] = round(in_flux * demo_activity.ROTATION * probability)
        for year in (2025, 2026):
            deduction_forecasts.declare(
                session,
                SYSTEM,
                deduction_forecasts.NewForecasts(departement, year, expected, landlord_id),
                # Declared in January, in time (issue 13): a demo loaded later is history.
                declared_at=datetime(year, 1, 15, 9, tzinfo=UTC),
            )


def _roles_of(org: Organisation) -> list[Role]:
    if org.kind is OrganisationKind.LANDLORD:
        return [Role.LANDLORD]
    if org.category == "etat":
        return [Role.PREFECTURE, Role.RESERVER]
    return [Role.RESERVER]


def fresh_tokens(session: Session) -> list[DemoUser]:
    """New tokens for the demo users (tokens are stored hashed: old ones cannot be shown again).

    They expire like any other token, and each call revokes the demo tokens issued before:
    a restart of `make run` leaves only the tokens it printed."""
    result = []
    demo_users = list(
        session.scalars(
            sa.select(User).where(User.email.like(f"%@%{DEMO_DOMAIN}")).order_by(User.id)
        )
    )
    _revoke_demo_tokens(session, [user.id for user in demo_users])
    for user in demo_users:
        token = users.issue_token(
            session, user, label="demo", expires_at=users.expiry_in(users.DEFAULT_TOKEN_DAYS)
        )
        org = user.organisation.code if user.organisation else None
        password = demo_password(str(user.role))
        if user.password_hash is None:  # a demo loaded before the pages had none
            users.set_password(session, user, password)
        result.append(DemoUser(user.email, str(user.role), org, token, password))
    return result


def _revoke_demo_tokens(session: Session, user_ids: list[int]) -> None:
    if not user_ids:
        return
    session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.user_id.in_(user_ids),
            ApiToken.label == "demo",
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
