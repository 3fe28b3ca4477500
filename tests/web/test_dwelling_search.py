"""Finding dwellings by RPLS number, address or commune (flux/services/dwelling_search.py),
in Patrimoine's list and in the freed-dwelling form: only among the caller's own."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from flux.domain.reference import Role
from flux.models import Dwelling, JournalEntry, Organisation
from flux.services import dwelling_search
from flux.services.access import Actor

from .conftest import ESH, OPH, TOULOUSE, csrf_of, post_form

ADDRESSES = {
    "R0000001": "12 rue des Lilas",
    "R0000002": "14 rue des Lilas",
    "R0000003": "3 allée Jean Jaurès",
    "E0000001": "12 rue des Lilas",  # ESH's, same address as OPH's first
}


@pytest.fixture
def addressed(world, session):
    for rpls, address in ADDRESSES.items():
        session.execute(
            sa.update(Dwelling)
            .where(Dwelling.id == world["dwellings"][rpls])
            .values(address=address)
        )
    session.commit()
    return world


def _actor(session, role: Role, code: str | None = None, departement: str | None = None):
    org = session.scalar(sa.select(Organisation.id).where(Organisation.code == code))
    return Actor(user_id=None, role=role, organisation_id=org, departement=departement)


@contextmanager
def counted(session):
    """The number of statements run inside the block."""
    statements = []
    engine = session.get_bind()

    def count(*_args):
        statements.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _rpls(page) -> list[str]:
    return [f.dwelling.rpls_id for f in page.rows]


def test_a_landlord_searches_its_own_dwellings_by_rpls_address_or_commune(session, addressed):
    oph = _actor(session, Role.LANDLORD, OPH)
    search = dwelling_search.search
    assert _rpls(search(session, oph, "", 1)) == ["R0000001", "R0000002", "R0000003"]
    assert _rpls(search(session, oph, "r0000002", 1)) == ["R0000002"]
    assert _rpls(search(session, oph, "lilas", 1)) == ["R0000001", "R0000002"]
    assert _rpls(search(session, oph, "LILAS 14", 1)) == ["R0000002"]  # every word, any order
    assert _rpls(search(session, oph, "jaurès", 1)) == ["R0000003"]
    assert _rpls(search(session, oph, "muret", 1)) == ["R0000003"]  # the commune's name
    assert _rpls(search(session, oph, TOULOUSE, 1)) == ["R0000001", "R0000002"]  # its INSEE code
    assert _rpls(search(session, oph, "100%", 1)) == []  # LIKE's wildcards are plain characters
    # ESH's dwelling at the same address is not OPH's business, nor is it found by its number.
    assert _rpls(search(session, oph, "E0000001", 1)) == []
    esh = _actor(session, Role.LANDLORD, ESH)
    assert _rpls(search(session, esh, "lilas", 1)) == ["E0000001"]


def test_who_sees_which_dwellings_is_the_policys(session, addressed):
    reserver = _actor(session, Role.RESERVER, "action-logement")
    assert dwelling_search.search(session, reserver, "lilas", 1).total == 0
    assert dwelling_search.candidates(session, reserver, "R0000001") == []
    prefecture = _actor(session, Role.PREFECTURE, "etat-31", departement="31")
    assert _rpls(dwelling_search.search(session, prefecture, "lilas", 1)) == [
        "E0000001",
        "R0000001",
        "R0000002",
    ]
    admin = Actor(user_id=None, role=Role.ADMIN, organisation_id=None)
    assert len(dwelling_search.candidates(session, admin, "12 rue des lilas")) == 2
    oph = _actor(session, Role.LANDLORD, OPH)
    assert dwelling_search.one(session, oph, addressed["dwellings"]["E0000001"]) is None
    assert dwelling_search.one(session, oph, addressed["dwellings"]["R0000001"]) is not None


def test_the_list_pages_by_fifty_in_two_statements(session, addressed):
    oph = _actor(session, Role.LANDLORD, OPH)
    session.add_all(
        Dwelling(
            landlord_id=oph.organisation_id,
            rpls_id=f"P{n:07d}",
            commune_insee=TOULOUSE,
            typology="T2",
            financing="PLAI",
            construction_year=2001,
            address=f"{n} avenue de Grande-Bretagne",
        )
        for n in range(1, 61)
    )
    session.commit()
    session.execute(sa.select(1))  # the transaction's own opening is not the search's
    with counted(session) as small:
        dwelling_search.search(session, oph, "R0000001", 1)
    with counted(session) as large:
        first = dwelling_search.search(session, oph, "", 1)
    assert len(small) == len(large) == 2  # no statement per row
    assert (first.total, first.pages, len(first.rows)) == (63, 2, 50)
    second = dwelling_search.search(session, oph, "", 2)
    assert len(second.rows) == 13
    assert not set(_rpls(first)) & set(_rpls(second))
    assert dwelling_search.search(session, oph, "", 99).page == 2  # clamped to the last page
    assert dwelling_search.search(session, oph, "grande-bretagne", 1).total == 60
    with counted(session) as statements:
        found = dwelling_search.candidates(session, oph, "avenue grande-bretagne")
    assert len(found) == dwelling_search.MAX_CHOICES + 1 and len(statements) == 2


def test_patrimoine_searches_by_address(signed_in, addressed):
    client = signed_in("landlord", OPH)
    html = client.get("/bailleur/patrimoine?q=lilas").get_data(as_text=True)
    assert "2 logements pour «&nbsp;lilas&nbsp;»." in html
    assert "14 rue des Lilas" in html and "R0000003" not in html
    assert "E0000001" not in html
    link = f'href="/bailleur/declarer?logement={addressed["dwellings"]["R0000002"]}"'
    assert link in html
    form = client.get(f"/bailleur/declarer?logement={addressed['dwellings']['R0000002']}")
    assert 'value="R0000002"' in form.get_data(as_text=True)
    # Another landlord's dwelling by id prefills nothing.
    other = client.get(f"/bailleur/declarer?logement={addressed['dwellings']['E0000001']}")
    assert "E0000001" not in other.get_data(as_text=True)


def _declare(client, reference: str, **extra):
    data = {"rpls_id": reference, "available_on": "2026-03-02", "letting": "reletting", **extra}
    return post_form(client, "/bailleur/declarer", data)


def _logged(session) -> list[int]:
    return list(
        session.scalars(
            sa.select(JournalEntry.dwelling_id).where(JournalEntry.kind == "vacancy_logged")
        )
    )


def test_a_freed_dwelling_is_declared_by_its_address(signed_in, addressed, session):
    client = signed_in("landlord", OPH)
    response = _declare(client, "  Allée Jean Jaurès ")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _logged(session) == [addressed["dwellings"]["R0000003"]]


def test_an_ambiguous_address_offers_a_choice_then_logs_the_chosen(signed_in, addressed, session):
    client = signed_in("landlord", OPH)
    response = _declare(client, "rue des lilas")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "2 logements correspondent à « rue des lilas » : choisissez le bon." in html
    assert "R0000001 — 12 rue des Lilas — Toulouse" in html
    assert "R0000002 — 14 rue des Lilas — Toulouse" in html
    assert "E0000001" not in html  # ESH's, at the same address
    assert _logged(session) == []
    # A choice that is not one of the offered (another landlord's dwelling) logs nothing.
    esh = str(addressed["dwellings"]["E0000001"])
    refused = _declare(client, "rue des lilas", dwelling=esh)
    assert refused.status_code == 422 and _logged(session) == []
    chosen = str(addressed["dwellings"]["R0000002"])
    page = client.post(
        "/bailleur/declarer",
        data={
            "csrf_token": csrf_of(html),
            "rpls_id": "rue des lilas",
            "dwelling": chosen,
            "available_on": "2026-03-02",
            "letting": "reletting",
        },
    )
    assert page.status_code == 302, page.get_data(as_text=True)
    assert _logged(session) == [int(chosen)]


def test_an_address_of_nobodys_dwelling_says_so_on_its_field(signed_in, addressed, session):
    client = signed_in("landlord", ESH)
    response = _declare(client, "jaurès")  # OPH's dwelling
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<a href="#rpls_id">[^<]*Aucun de vos logements ne correspond', html)
    assert _logged(session) == []
