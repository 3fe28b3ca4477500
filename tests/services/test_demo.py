"""The demo data set (conventions/demo/): what `flux demo` loads, checked in the database."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest
import sqlalchemy as sa

from flux import create_app, demo
from flux.db import db
from flux.domain import allocation
from flux.domain.reference import OrganisationKind, Role
from flux.models import (
    ApiToken,
    Commune,
    Convention,
    ConventionVersion,
    Dwelling,
    JournalEntry,
    Organisation,
    Share,
    ShareTerms,
    User,
)
from flux.services import allocation_book, conventions, scope_conventions, users, vacancies

ACTIVITY_UNTIL = date(2026, 11, 21)
LANDLORDS = {"oph-demo-garonne": 3000, "esh-demo-pastel": 2000, "coop-demo-lauragais": 1000}


@pytest.fixture(scope="module")
def loaded(demo_copy):
    """One database with the demo loaded, shared by this module's read-only tests."""
    url, tokens = demo_copy(ACTIVITY_UNTIL)
    allocation_book.clear_cache()
    scope_conventions.clear_cache()
    app = create_app({"ENV": "test", "DATABASE_URL": url, "TESTING": True})
    yield app, tokens
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def demo_session(loaded):
    app, _ = loaded
    with app.app_context():
        yield db.session
        db.session.rollback()


def _org(session, code: str) -> Organisation:
    return session.scalar(sa.select(Organisation).where(Organisation.code == code))


def test_demo_has_three_landlords_and_seven_reservers(demo_session):
    kinds = Counter(demo_session.scalars(sa.select(Organisation.kind)))
    landlords = set(
        demo_session.scalars(
            sa.select(Organisation.code).where(Organisation.kind == OrganisationKind.LANDLORD)
        )
    )

    assert kinds == {OrganisationKind.LANDLORD: 3, OrganisationKind.RESERVER: 7}
    assert landlords == set(LANDLORDS)


def test_demo_loads_six_thousand_dwellings_split_between_the_landlords(demo_session):
    per_landlord = dict(
        demo_session.execute(
            sa.select(Organisation.code, sa.func.count(Dwelling.id))
            .join(Dwelling, Dwelling.landlord_id == Organisation.id)
            .group_by(Organisation.code)
        ).all()
    )

    assert per_landlord == LANDLORDS
    assert sum(per_landlord.values()) == 6000


def test_demo_dwellings_lie_in_haute_garonne_some_in_qpv_and_some_out_of_the_flux(demo_session):
    departements = set(
        demo_session.scalars(sa.select(Commune.departement_code).join(Dwelling).distinct())
    )
    in_qpv = demo_session.scalar(sa.select(sa.func.count()).where(Dwelling.qpv_code.is_not(None)))
    out_of_flux = demo_session.scalar(
        sa.select(sa.func.count()).where(Dwelling.out_of_flux.is_not(None))
    )

    assert departements == {"31"}
    assert 0 < in_qpv < 6000
    assert 0 < out_of_flux < 600


def test_demo_dwellings_carry_what_a_reserver_reads_and_can_be_found_by_address(demo_session):
    """Every demo dwelling has its address, floor, surface, rooms, rent, charges and contact
    (issue 11 item 6), so that the pages' search by address works on the demo (issue 10)."""
    from flux.domain.reference import Role as R
    from flux.services import dwelling_search
    from flux.services.access import Actor

    missing = demo_session.scalar(
        sa.select(sa.func.count()).where(
            sa.or_(
                Dwelling.address.is_(None),
                Dwelling.surface_m2_x100.is_(None),
                Dwelling.rent_cents.is_(None),
                Dwelling.rooms.is_(None),
                Dwelling.landlord_contact.is_(None),
            )
        )
    )
    assert missing == 0
    one = demo_session.scalars(sa.select(Dwelling).order_by(Dwelling.id)).first()
    actor = Actor(user_id=0, role=R.LANDLORD, organisation_id=one.landlord_id)
    found = dwelling_search.search(demo_session, actor, one.address, page=1)
    assert found.total >= 1
    # every typed word is in the RPLS number, the address or the commune of each row
    words = one.address.lower().split()
    for row in found.rows:
        text = f"{row.dwelling.rpls_id} {row.dwelling.address} {row.commune}".lower()
        assert all(word in text for word in words)
    assert one.id in {
        row.dwelling.id
        for row in dwelling_search.search(
            demo_session, actor, f"{one.address} {one.rpls_id}", page=1
        ).rows
    }


def test_demo_loads_sixteen_conventions_in_the_departement(demo_session):
    references = set(demo_session.scalars(sa.select(Convention.reference)))
    departements = set(demo_session.scalars(sa.select(Convention.departement_code)))

    assert len(references) == 16
    assert departements == {"31"}


def test_each_landlord_has_an_etat_convention_with_two_shares_totalling_30_percent(
    demo_session,
):
    etat = _org(demo_session, "etat-31")
    rows = demo_session.execute(
        sa.select(Organisation.code, Share.purpose, ShareTerms.basis_points)
        .join(Convention, Convention.landlord_id == Organisation.id)
        .join(ConventionVersion, ConventionVersion.convention_id == Convention.id)
        .join(ShareTerms, ShareTerms.version_id == ConventionVersion.id)
        .join(Share, Share.id == ShareTerms.share_id)
        .where(Convention.reserver_id == etat.id)
    ).all()

    shares = defaultdict(dict)
    for landlord, purpose, basis_points in rows:
        shares[landlord][str(purpose)] = basis_points
    assert shares == {
        landlord: {"prioritaires": 2500, "agents_etat": 500} for landlord in LANDLORDS
    }


def test_demo_amendment_keeps_the_first_version_of_the_action_logement_convention(
    demo_session,
):
    convention = demo_session.scalar(
        sa.select(Convention).where(Convention.reference == "31-OPHG-AL")
    )

    before = conventions.version_on(convention, date(2026, 6, 30))
    after = conventions.version_on(convention, date(2026, 7, 1))

    assert [v.number for v in convention.versions] == [1, 2]
    assert [t.basis_points for t in before.share_terms] == [2500]
    assert [t.basis_points for t in after.share_terms] == [2800]
    assert convention.revision == 1


def test_demo_shares_stay_within_100_percent_in_every_commune(demo_session):
    """In each commune, for each landlord, the shares in force on 2026-07-01 total ≤ 100 %."""
    on = date(2026, 7, 1)
    communes = list(demo_session.scalars(sa.select(Commune.insee)))
    totals: dict[tuple[int, str], int] = defaultdict(int)
    for convention in demo_session.scalars(sa.select(Convention)):
        version = conventions.version_on(convention, on)
        covered = (
            {c.commune_insee for c in version.communes}
            if version.communes
            else _communes_of(demo_session, version, communes)
        )
        for insee in covered:
            totals[convention.landlord_id, insee] += sum(
                t.basis_points for t in version.share_terms
            )

    assert max(totals.values()) <= 10_000
    toulouse = _org(demo_session, "oph-demo-garonne").id, "31555"
    # État 30 + Action Logement 28 + département 2 + métropole 5 + ville de Toulouse 15
    assert totals[toulouse] == 8000


def _communes_of(session, version: ConventionVersion, communes: list[str]) -> set[str]:
    if str(version.perimeter_kind) == "departement":
        return set(communes)
    return set(
        session.scalars(
            sa.select(Commune.insee).where(Commune.epci_siren == version.perimeter_code)
        )
    )


def test_demo_creates_one_user_per_role_and_organisation(demo_session):
    roles = Counter(
        (str(role), code)
        for role, code in demo_session.execute(
            sa.select(User.role, Organisation.code).outerjoin(
                Organisation, User.organisation_id == Organisation.id
            )
        )
    )

    assert roles[("admin", None)] == 1
    assert roles[("prefecture", "etat-31")] == 1
    assert roles[("reserver", "etat-31")] == 1
    assert all(roles[("landlord", code)] == 1 for code in LANDLORDS)
    assert sum(roles.values()) == 12


def test_demo_tokens_authenticate_as_their_user(loaded, demo_session):
    _, tokens = loaded

    for user in tokens:
        actor = users.actor_for_token(demo_session, user.token)
        assert actor is not None, user.email
        assert str(actor.role) == user.role
    prefecture = next(u for u in tokens if u.role == "prefecture")
    assert users.actor_for_token(demo_session, prefecture.token).departement == "31"


def test_demo_reports_itself_loaded_and_fresh_tokens_work(loaded, demo_session):
    assert demo.is_loaded(demo_session)

    fresh = demo.fresh_tokens(demo_session)

    assert len(fresh) == 12
    assert all(users.actor_for_token(demo_session, u.token) for u in fresh)
    admin = next(u for u in fresh if u.role == "admin")
    assert users.actor_for_token(demo_session, admin.token).role is Role.ADMIN


def test_a_restart_revokes_the_previous_demo_tokens_and_new_ones_expire(loaded, demo_session):
    _, first = loaded

    fresh = demo.fresh_tokens(demo_session)  # what `make run` does on a loaded database

    assert all(users.actor_for_token(demo_session, u.token) is None for u in first)
    assert all(users.actor_for_token(demo_session, u.token) for u in fresh)
    live = demo_session.scalars(
        sa.select(ApiToken).where(ApiToken.label == "demo", ApiToken.revoked_at.is_(None))
    ).all()
    assert len(live) == len(fresh)
    assert all(token.expires_at is not None for token in live)


# --- the demo's activity (2025 and 2026 to date) ---------------------------------------------


def _entries(session, kind: str) -> list[JournalEntry]:
    return list(session.scalars(sa.select(JournalEntry).where(JournalEntry.kind == kind)))


def test_demo_activity_covers_2025_and_2026_up_to_its_last_day(demo_session):
    logged = _entries(demo_session, "vacancy_logged")

    assert {entry.period for entry in logged} == {2025, 2026}
    assert max(entry.effective_date for entry in logged) <= ACTIVITY_UNTIL
    assert len([e for e in logged if e.period == 2025]) > 400  # ~9 % of ~5 800 in-flux dwellings
    dated = demo_session.scalar(sa.select(sa.func.max(JournalEntry.effective_date)))
    assert dated <= ACTIVITY_UNTIL


def test_demo_activity_exercises_every_lifecycle_event(demo_session):
    kinds = Counter(demo_session.scalars(sa.select(JournalEntry.kind)))

    for kind in (
        "orientation",
        "designation",
        "cal_attribution",
        "cal_refusal",
        "carence",
        "take_back",
        "lease",
        "withdrawal",
    ):
        assert kinds[kind] > 0, kind
    deducted = [e for e in _entries(demo_session, "vacancy_logged") if e.payload["deduction"]]
    assert 0.08 < len(deducted) / kinds["vacancy_logged"] < 0.25


def test_every_counted_demo_vacancy_has_exactly_one_orientation(demo_session):
    orientations = Counter(e.vacancy_id for e in _entries(demo_session, "orientation"))
    for entry in _entries(demo_session, "vacancy_logged"):
        expected = 0 if entry.payload["deduction"] else 1
        assert orientations[entry.id] == expected, entry.id
        vacancies.replay(demo_session, entry.id)  # every stage replays from the journal


def test_demo_scopes_keep_the_sum_invariant_and_stay_near_their_targets(demo_session):
    scopes = demo_session.execute(
        sa.select(JournalEntry.landlord_id, JournalEntry.departement_code, JournalEntry.period)
        .where(JournalEntry.kind == "vacancy_logged")
        .distinct()
    ).all()
    assert len(scopes) == 6  # 3 landlords × 2 years
    for landlord_id, departement, year in scopes:
        book = allocation_book.as_of(
            demo_session,
            allocation_book.Scope(landlord_id, departement),
            year,
            min(date(year, 12, 31), ACTIVITY_UNTIL),
        )
        counted = [v for v in book.vacancies.values() if v.holder is not None]
        assert allocation.invariant_residual(book.state) == 0
        assert sum(book.state.realised.values()) == len(counted)
        for share, balance in allocation.balances(book.state).items():
            # Withdrawals and re-credited take-backs move a share by one (design.md §7).
            assert abs(balance.gap) <= 2.5, (landlord_id, year, share, balance)


def test_demo_landlords_forecast_their_deductions_of_2025_and_2026(demo_session):
    """Every category declared for both years, mutations first (as in the demo's activity), so
    that the bilan of 2025 sets a forecast against the actual deductions of each landlord."""
    from flux.domain.reference import DeductionCategory
    from flux.services import deduction_forecasts

    for code in LANDLORDS:
        landlord = _org(demo_session, code)
        forecast = deduction_forecasts.forecasts(demo_session, landlord.id, "31", 2025)
        assert forecast == deduction_forecasts.forecasts(demo_session, landlord.id, "31", 2026)
        assert set(forecast) == {c.value for c in DeductionCategory}
        assert forecast["degraded_condo"] == forecast["unfit_housing"] == 0
        assert max(forecast, key=forecast.__getitem__) == "internal_transfer"
        actual = Counter(
            e.payload["deduction"]
            for e in _entries(demo_session, "vacancy_logged")
            if e.landlord_id == landlord.id and e.period == 2025 and e.payload["deduction"]
        )
        assert actual["internal_transfer"] > 0
