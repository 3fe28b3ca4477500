"""Notifications (issue 11 item 2): an outbox written in the cause's transaction, read in the
app, e-mailed by the scheduler through a real SMTP server with retries, never lost, never sent
twice, immediately or as a daily digest."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from flux import clock
from flux.models import Notification, NotificationPreference, User
from flux.models.types import utcnow
from flux.scheduler import jobs
from flux.services import notifications
from flux.services.mail import FileSender, SmtpSender

from .conftest import assert_problem
from .vacancy_kit import OPH, action_logement, create_dwelling, event, log, logged, recorded

SMTP_PORT = 5141  # this worktree's range (5140-5149)
TODAY = date(2025, 4, 10)


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted"


class Server:
    """A real SMTP server on this worktree's port, started when the test says so."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox, self.loop, self.controller = inbox, asyncio.new_event_loop(), None

    def start(self) -> None:
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=SMTP_PORT, loop=self.loop
        )
        self.controller.start()

    def close(self) -> None:
        if self.controller is not None:
            self.controller.stop()
        self.loop.close()


@pytest.fixture
def smtp():
    inbox = Inbox()
    server = Server(inbox)
    yield server, inbox
    server.close()


@pytest.fixture
def today(monkeypatch) -> date:
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def al_user(token_for, session, territory) -> tuple[dict, int]:
    """A user of Action Logement, and its id."""
    token = token_for("reserver", "action-logement")
    user_id = session.scalar(sa.select(sa.func.max(User.id)))
    return {"Authorization": f"Bearer {token}"}, user_id


@pytest.fixture
def vacancies(client, oph, al_user, today) -> list[dict]:
    """Action Logement holds 100 % (20 days to designate): three vacancies oriented to it."""
    action_logement(client, oph, percent="100.00", policies={"designation_deadline_days": 20})
    homes = [create_dwelling(client, oph, f"N{n:07d}") for n in range(3)]
    days = [f"2025-04-0{n + 1}" for n in range(len(homes))]
    return [
        logged(client, oph, home, day, notified_on=day)
        for home, day in zip(homes, days, strict=True)
    ]


def _mine(client, headers, **query) -> list[dict]:
    response = client.get("/api/v1/notifications", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _smtp() -> SmtpSender:
    return SmtpSender("127.0.0.1", SMTP_PORT, "Flux <flux@test.example>", timeout=2)


def test_an_orientation_notifies_the_reservers_users_in_its_own_transaction(
    client, oph, al_user, vacancies, committed
):
    headers, _ = al_user
    told = _mine(client, headers)
    assert [n["kind"] for n in told] == ["oriented"] * 3
    newest = told[0]
    assert newest["vacancy_id"] == vacancies[-1]["id"]
    assert newest["subject"] == "Logement orienté vers votre part « Part salaries »"
    assert "au plus tard le 23/04/2025" in newest["body"]  # 3 April + 20 days
    assert newest["read"] is False
    # The landlord is not told about its own decision.
    assert _mine(client, oph) == []
    # A refused logging writes nothing, the outbox included.
    before = committed(Notification)
    refused = log(client, oph, vacancies[0]["dwelling_id"], "2025-04-05")
    assert refused.status_code == 409
    assert committed(Notification) == before


def test_carence_and_cal_refusal_are_notified_with_no_household_data(
    client, oph, al_user, vacancies, monkeypatch
):
    monkeypatch.setattr(clock, "today", lambda: date(2025, 4, 30))
    headers, _ = al_user
    first, second, _ = vacancies
    recorded(client, oph, first["id"], "carence", "2025-04-22")
    recorded(client, oph, second["id"], "designation", "2025-04-03", candidates=3)
    recorded(client, oph, second["id"], "cal_refusal", "2025-04-04")
    recorded(
        client,
        oph,
        second["id"],
        "designation",
        "2025-04-05",
        candidates=3,
    )
    recorded(
        client,
        oph,
        second["id"],
        "cal_attribution",
        "2025-04-06",
        rank=1,
        household={"dalo": True, "prioritaire": True, "first_quartile": False},
    )
    kinds = [n["kind"] for n in _mine(client, headers)]
    assert kinds.count("carence") == 1 and kinds.count("cal_refusal") == 1
    texts = " ".join(n["body"] + n["subject"] for n in _mine(client, headers)).lower()
    assert "dalo" not in texts and "quartile" not in texts and "prioritaire" not in texts


def test_a_user_marks_its_notifications_read_and_no_one_elses(
    client, oph, al_user, vacancies, auth
):
    headers, _ = al_user
    first = _mine(client, headers)[0]
    other = auth("reserver", "action-logement")
    assert_problem(client.post(f"/api/v1/notifications/{first['id']}/read", headers=oph), 404)
    marked = client.post(f"/api/v1/notifications/{first['id']}/read", headers=headers)
    assert marked.get_json() == {"marked": 1}
    assert [n["id"] for n in _mine(client, headers, unread="false")] == [first["id"]]
    assert client.post("/api/v1/notifications/read", headers=headers).get_json() == {"marked": 2}
    assert _mine(client, headers, unread="true") == []
    assert _mine(client, other) == []  # a user created after the facts was not told


def test_deadline_reminders_follow_each_users_delay_and_are_written_once(
    client, session, al_user, vacancies
):
    headers, user_id = al_user
    assert client.put(
        "/api/v1/notifications/preferences", json={"reminder_days": 12}, headers=headers
    ).get_json() == {"delivery": "immediate", "reminder_days": 12, "email": True}
    # Deadlines: 21, 22 and 23 April. On 10 April with 12 days: the first two are due.
    assert notifications.remind_deadlines(session, TODAY) == 2
    session.commit()
    assert notifications.remind_deadlines(session, TODAY) == 0  # a second run adds nothing
    # On 22 April the first has passed.
    assert notifications.remind_deadlines(session, date(2025, 4, 22)) == 2  # passed + 3rd soon
    session.commit()
    kinds = sorted(n["kind"] for n in _mine(client, headers))
    assert kinds == ["deadline_passed"] + ["deadline_soon"] * 3 + ["oriented"] * 3
    soon = next(n for n in _mine(client, headers) if n["kind"] == "deadline_soon")
    assert "Il vous reste" in soon["body"]


def test_a_failing_smtp_server_then_a_working_one_delivers_each_once(
    session, smtp, al_user, vacancies
):
    controller, inbox = smtp
    first = jobs.send_notifications(session, _smtp(), TODAY)  # nothing listens yet
    assert first["sent"] == 0 and first["failed"] == 3
    session.expire_all()
    pending = session.scalars(sa.select(Notification)).all()
    assert {(n.email_status, n.email_attempts) for n in pending} == {("pending", 1)}
    assert all(n.email_error for n in pending)

    controller.start()
    later = utcnow() + timedelta(minutes=2)  # past the first retry delay
    second = notification_run(session, later)
    third = notification_run(session, later + timedelta(minutes=10))

    assert second["sent"] == 3 and third["sent"] == 0
    assert len(inbox.messages) == 3
    assert len({m["Message-ID"] for m in inbox.messages}) == 3
    assert all(m["Subject"].startswith("[Flux] Logement orienté") for m in inbox.messages)
    session.expire_all()
    assert {n.email_status for n in session.scalars(sa.select(Notification))} == {"sent"}


def notification_run(session, now):
    from flux.services import notification_delivery

    return notification_delivery.send_pending(session, _smtp(), TODAY, now=now)


def test_a_crash_between_the_claim_and_the_send_is_taken_over_and_sent_once(
    session, smtp, al_user, vacancies
):
    controller, inbox = smtp
    controller.start()
    # A scheduler claimed the first row (committed) and died before handing it to SMTP.
    crashed = session.scalar(sa.select(Notification).order_by(Notification.id).limit(1))
    crashed.email_status, crashed.email_claimed_at = "sending", utcnow()
    crashed.email_attempts = 1
    session.commit()

    soon = notification_run(session, utcnow())
    assert soon["sent"] == 2  # the claimed row is left to its claimer for now
    late = notification_run(session, utcnow() + timedelta(minutes=20))
    again = notification_run(session, utcnow() + timedelta(minutes=40))

    assert late["sent"] == 1 and again["sent"] == 0
    assert sorted(m["Message-ID"] for m in inbox.messages) == sorted(
        f"<notification-{n}@flux.invalid>" for n in session.scalars(sa.select(Notification.id))
    )


def test_a_digest_user_gets_one_message_a_day(client, session, smtp, al_user, vacancies, oph):
    controller, inbox = smtp
    controller.start()
    headers, user_id = al_user
    client.put("/api/v1/notifications/preferences", json={"delivery": "digest"}, headers=headers)

    assert notification_run(session, utcnow())["digests"] == 1
    # Later the same day: a new notification waits for tomorrow's digest.
    home = create_dwelling(client, oph, "N0000099")
    logged(client, oph, home, "2025-04-09")
    assert notification_run(session, utcnow() + timedelta(hours=1))["digests"] == 0
    tomorrow = jobs.send_notifications(session, _smtp(), TODAY + timedelta(days=1))

    assert tomorrow["digests"] == 1
    assert len(inbox.messages) == 2
    first = inbox.messages[0]
    assert first["Subject"] == "[Flux] Résumé du 10/04/2025 : 3 notification(s)"
    assert first.get_content().count("Logement orienté") == 3
    preference = session.get(NotificationPreference, user_id)
    assert preference.last_digest_on == TODAY + timedelta(days=1)


def test_the_file_backend_writes_one_message_per_notification(
    session, tmp_path, al_user, vacancies
):
    sender = FileSender(tmp_path / "mail", "Flux <flux@test.example>")
    assert jobs.send_notifications(session, sender, TODAY)["sent"] == 3
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 3


def test_an_event_refused_for_its_date_writes_no_notification(
    client, oph, al_user, vacancies, committed
):
    before = committed(Notification)
    refused = event(client, oph, vacancies[0]["id"], "carence", "2025-04-05")
    assert refused.status_code == 422
    assert committed(Notification) == before
