"""Every write is traceable: journal entries and audit records name the user, the
organisation, the time and the request; each caller reads only what it may see."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flux.models import AuditRecord

from .conftest import assert_problem, dwelling
from .vacancy_kit import OPH, action_logement, create_dwelling, logged


@pytest.fixture
def oph(auth, territory) -> dict:
    return {**auth("landlord", OPH), "X-Request-Id": "req-oph-1"}


def test_journal_names_who_recorded_each_entry_and_in_which_request(client, oph, org_ids):
    action_logement(client, oph)
    vacancy = logged(client, oph, create_dwelling(client, oph, "J0000001"), "2026-02-01")

    entries = client.get(f"/api/v1/journal?vacancy={vacancy['id']}", headers=oph).get_json()

    assert [e["kind"] for e in entries] == ["vacancy_logged", "orientation"]
    assert all(e["request_id"] == "req-oph-1" for e in entries)
    assert all(e["actor_organisation_id"] == org_ids[OPH] for e in entries)
    assert all(e["actor_user_id"] for e in entries)


def test_journal_is_filtered_to_what_each_caller_may_see(client, auth, oph):
    share = action_logement(client, oph)
    vacancy = logged(
        client,
        oph,
        create_dwelling(client, oph, "J0000002"),
        "2026-02-01",
        orient_to=share,
        reason="test",
    )

    def kinds(headers):
        return [e["kind"] for e in client.get("/api/v1/journal", headers=headers).get_json()]

    assert kinds(auth("reserver", "action-logement")) == ["vacancy_logged", "orientation"]
    assert kinds(auth("reserver", "commune-toulouse")) == []
    assert kinds(auth("landlord", "esh-demo-pastel")) == []
    # The prefecture also reads the scope's record of its conventions' terms.
    assert kinds(auth("prefecture", "etat-31")) == [
        "terms_changed",
        "vacancy_logged",
        "orientation",
    ]
    assert vacancy["holder"]["share_id"] == share


def test_a_dwelling_write_leaves_an_audit_record_with_user_org_and_request(client, oph, org_ids):
    created = client.post("/api/v1/dwellings", json=dwelling(), headers=oph).get_json()
    client.patch(f"/api/v1/dwellings/{created['id']}", json={"typology": "T4"}, headers=oph)

    records = client.get("/api/v1/audit?table=dwellings", headers=oph).get_json()

    assert [r["action"] for r in records] == ["insert", "update"]
    assert all(r["organisation_id"] == org_ids[OPH] and r["user_id"] for r in records)
    assert all(r["request_id"] == "req-oph-1" for r in records)
    assert records[1]["changes"] == {"typology": "T4"}


def test_audit_never_holds_a_secret(client, auth, territory):
    admin = auth("admin")
    client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "email": "a@oph.example",
            "role": "landlord",
            "organisation": OPH,
            "password": "a long enough password",
        },
    )

    records = client.get("/api/v1/audit?table=users", headers=admin).get_json()
    tokens = client.get("/api/v1/audit?table=api_tokens", headers=admin).get_json()

    created = [r for r in records if r["changes"].get("email") == "a@oph.example"]
    assert created and all(
        r["changes"]["password_hash"] in (None, "<secret>")
        for r in records
        if "password_hash" in r["changes"]
    )
    assert tokens and all(
        r["changes"]["token_hash"] == "<secret>" for r in tokens if "token_hash" in r["changes"]
    )


def test_another_organisation_does_not_read_our_audit_records(client, auth, oph):
    client.post("/api/v1/dwellings", json=dwelling(), headers=oph)

    other = client.get(
        "/api/v1/audit?table=dwellings", headers=auth("landlord", "esh-demo-pastel")
    ).get_json()

    assert other == []


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_records SET action = 'x'", "DELETE FROM audit_records"]
)
def test_the_database_refuses_to_change_audit_records(client, oph, session, statement):
    client.post("/api/v1/dwellings", json=dwelling(), headers=oph)
    session.rollback()
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.execute(sa.text(statement))
    session.rollback()

    assert before > 0
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == before


def test_an_unknown_journal_kind_is_refused_naming_the_filter(client, oph):
    body = assert_problem(client.get("/api/v1/journal?kind=nonsense", headers=oph), 422)

    assert list(body["errors"]["query"]) == ["kind"]
