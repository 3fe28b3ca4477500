"""Users, tokens and password login: secrets shown once, stored hashed, never logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from flux.db import Base

from .conftest import assert_problem

PASSWORD = "correct horse battery staple"


@pytest.fixture
def admin(auth, territory) -> dict:
    return auth("admin")


def _create(client, admin, **fields):
    payload = {
        "email": "agent@oph.example",
        "role": "landlord",
        "organisation": "oph-demo-garonne",
        **fields,
    }
    return client.post("/api/v1/users", json=payload, headers=admin)


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_admin_creates_a_user_whose_token_works_and_is_shown_once(client, admin):
    response = _create(client, admin)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    me = client.get("/api/v1/me", headers=_bearer(body["token"]))
    assert me.get_json()["email"] == "agent@oph.example"
    tokens = client.get(f"/api/v1/users/{body['user']['id']}/tokens", headers=admin).get_json()
    assert len(tokens) == 1 and "token" not in tokens[0]
    expires = datetime.fromisoformat(tokens[0]["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)


def test_only_an_admin_creates_users(client, auth, territory):
    response = _create(client, auth("landlord", "oph-demo-garonne"))

    assert_problem(response, 403)


def test_a_user_cannot_read_another_user(client, auth, admin):
    other = _create(client, admin).get_json()["user"]["id"]

    assert_problem(
        client.get(f"/api/v1/users/{other}", headers=auth("landlord", "esh-demo-pastel")), 404
    )


def test_login_with_the_password_gives_a_twelve_hour_token(client, admin):
    _create(client, admin, password=PASSWORD)

    response = client.post(
        "/api/v1/auth/login", json={"email": "agent@oph.example", "password": PASSWORD}
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=11) < lifetime <= timedelta(hours=12)
    assert client.get("/api/v1/me", headers=_bearer(body["token"])).status_code == 200


@pytest.mark.parametrize(
    "email,password", [("agent@oph.example", "wrong password!!"), ("nobody@oph.example", PASSWORD)]
)
def test_login_refuses_a_wrong_password_or_unknown_email_alike(client, admin, email, password):
    _create(client, admin, password=PASSWORD)

    body = assert_problem(
        client.post("/api/v1/auth/login", json={"email": email, "password": password}), 401
    )

    assert body["detail"] == "Adresse ou mot de passe incorrect."


def test_a_short_password_is_refused_naming_the_field(client, admin):
    body = assert_problem(_create(client, admin, password="short"), 422)

    assert "password" in body["errors"]["json"]


def test_a_revoked_token_is_refused_at_once(client, admin):
    created = _create(client, admin).get_json()
    headers = _bearer(created["token"])
    [token] = client.get(f"/api/v1/users/{created['user']['id']}/tokens", headers=headers).json

    revoked = client.delete(f"/api/v1/tokens/{token['id']}", headers=headers)

    assert revoked.status_code == 204
    assert_problem(client.get("/api/v1/me", headers=headers), 401)


def test_a_user_cannot_revoke_someone_elses_token(client, auth, admin):
    created = _create(client, admin).get_json()
    [token] = client.get(f"/api/v1/users/{created['user']['id']}/tokens", headers=admin).json

    response = client.delete(
        f"/api/v1/tokens/{token['id']}", headers=auth("landlord", "esh-demo-pastel")
    )

    assert_problem(response, 404)
    assert client.get("/api/v1/me", headers=_bearer(created["token"])).status_code == 200


def test_a_user_issues_itself_a_new_token_with_its_own_lifetime(client, admin):
    created = _create(client, admin).get_json()
    headers = _bearer(created["token"])

    response = client.post(
        f"/api/v1/users/{created['user']['id']}/tokens",
        json={"label": "ERP", "days": 7},
        headers=headers,
    )

    assert response.status_code == 201
    issued = response.get_json()
    assert client.get("/api/v1/me", headers=_bearer(issued["token"])).status_code == 200
    lifetime = datetime.fromisoformat(issued["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=6) < lifetime <= timedelta(days=7)


def test_passwords_and_tokens_are_never_stored_nor_logged_in_clear(client, admin, session, caplog):
    caplog.set_level(logging.DEBUG)
    created = _create(client, admin, password=PASSWORD).get_json()
    login = client.post(
        "/api/v1/auth/login", json={"email": "agent@oph.example", "password": PASSWORD}
    ).get_json()
    client.get("/api/v1/me", headers=_bearer(login["token"]))
    session.rollback()

    secrets = [PASSWORD, created["token"], login["token"]]
    stored = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(sa.select(table)):
            stored.extend(str(value) for value in row)
    text = "\n".join(stored) + "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        assert secret not in text
        assert secret[5:25] not in text  # not even a recognisable part
