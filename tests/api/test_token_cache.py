"""The per-process memory of verified bearer tokens (TOKEN_CACHE_SECONDS)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from flux.db import db
from flux.domain.reference import Role
from flux.models import ApiToken
from flux.models.types import utcnow
from flux.services import users


@pytest.fixture
def admin(app, session) -> tuple[str, dict]:
    users.forget_verified_tokens()
    created = users.create_user(session, email="cache@test.flux.example", role=Role.ADMIN)
    session.commit()
    return created.email, {"Authorization": f"Bearer {created.token}"}


def _token_reads(app, client, headers) -> tuple[int, int]:
    """(status, statements reading api_tokens) of one request."""
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        status = client.get("/api/v1/organisations", headers=headers).status_code
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    return status, sum("api_tokens" in statement for statement in seen)


def _revoke_behind_the_apps_back(app) -> None:
    """As another process would: a plain UPDATE on its own connection (no ORM event here)."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.update(ApiToken.__table__).values(revoked_at=utcnow()))


def test_a_verified_token_is_read_once_then_kept(app, client, admin):
    app.config["TOKEN_CACHE_SECONDS"] = 60
    _, headers = admin

    assert _token_reads(app, client, headers) == (200, 1)
    assert _token_reads(app, client, headers) == (200, 0)


def test_a_revocation_through_this_process_takes_effect_at_the_next_request(
    app, client, admin, session
):
    app.config["TOKEN_CACHE_SECONDS"] = 60
    email, headers = admin
    assert _token_reads(app, client, headers) == (200, 1)

    assert users.revoke_all(session, email) == 1
    session.commit()

    assert _token_reads(app, client, headers) == (401, 1)


def test_a_revocation_elsewhere_is_seen_within_the_bound(app, client, admin):
    app.config["TOKEN_CACHE_SECONDS"] = 1
    _, headers = admin
    assert _token_reads(app, client, headers) == (200, 1)

    _revoke_behind_the_apps_back(app)

    assert _token_reads(app, client, headers) == (200, 0)  # kept: at most one second
    time.sleep(1.1)
    assert _token_reads(app, client, headers) == (401, 1)


def test_without_the_memory_every_request_reads_its_token(app, client, admin):
    app.config["TOKEN_CACHE_SECONDS"] = 0
    _, headers = admin
    assert _token_reads(app, client, headers) == (200, 1)
    _revoke_behind_the_apps_back(app)
    assert _token_reads(app, client, headers) == (401, 1)


def test_a_token_read_while_this_process_revokes_it_is_forgotten_at_the_commit(app, admin):
    # Threaded workers: one request reads the token while another, in the same process, has
    # revoked it but not committed yet; what the reader kept is forgotten at that commit.
    email, headers = admin
    secret = headers["Authorization"].split()[1]
    with app.app_context():
        writer, reader = sa.orm.Session(db.engine), sa.orm.Session(db.engine)
        try:
            assert users.revoke_all(writer, email) == 1
            writer.flush()
            assert users.actor_for_token_cached(reader, secret, 60) is not None  # not committed
            reader.rollback()
            writer.commit()
            assert users.actor_for_token_cached(reader, secret, 60) is None
        finally:
            writer.close()
            reader.close()


def test_a_token_read_across_a_forgetting_is_not_kept(app, admin, monkeypatch):
    _, headers = admin
    secret = headers["Authorization"].split()[1]
    read = users._actor_and_expiry

    def read_while_another_thread_writes(*args):
        found = read(*args)
        users.forget_verified_tokens()  # a write to users or tokens meanwhile
        return found

    with app.app_context():
        monkeypatch.setattr(users, "_actor_and_expiry", read_while_another_thread_writes)
        assert users.actor_for_token_cached(db.session, secret, 60) is not None
        monkeypatch.setattr(users, "_actor_and_expiry", read)
        assert users.hash_token(secret) not in users._VERIFIED
        assert users.actor_for_token_cached(db.session, secret, 60) is not None
        assert users.hash_token(secret) in users._VERIFIED
