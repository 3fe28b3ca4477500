"""Safe retries and messages (issue 11 item 7): Idempotency-Key on events (first response,
409 on another body, concurrent retries), the vacancy replay returns the first response;
French event labels and dates, impossible dates, 415, `detail` everywhere, plain UTF-8."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from flux.db import create_engine
from flux.models import JournalEntry

from .conftest import assert_problem
from .vacancy_kit import OPH, action_logement, create_dwelling, event, log, logged, recorded


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def vacancy(client, oph) -> dict:
    """A vacancy oriented to Action Logement (100 % of the département)."""
    action_logement(client, oph, percent="100.00")
    return logged(client, oph, create_dwelling(client, oph, "S0000001"), "2025-03-01")


@pytest.fixture
def kinds(database_url):
    engine = create_engine(database_url)

    def count() -> Counter:
        with engine.connect() as connection:
            return Counter(connection.scalars(sa.select(JournalEntry.kind)))

    yield count
    engine.dispose()


DESIGNATION = {"type": "designation", "date": "2025-03-05", "candidates": 3}


def _post_event(client, headers, vacancy_id, body, key):
    return client.post(
        f"/api/v1/vacancies/{vacancy_id}/events",
        json=body,
        headers={**headers, "Idempotency-Key": key},
    )


def test_an_event_sent_twice_with_its_key_is_recorded_once_and_answered_as_the_first_time(
    client, oph, vacancy, kinds
):
    first = _post_event(client, oph, vacancy["id"], DESIGNATION, "designation-1")
    assert first.status_code == 201
    # The vacancy moves on; the retry still gets the first answer.
    recorded(client, oph, vacancy["id"], "cal_refusal", "2025-03-06")

    again = _post_event(
        client, oph, vacancy["id"], dict(reversed(DESIGNATION.items())), "designation-1"
    )

    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.get_json()["stage"] == "designated"
    assert kinds()["designation"] == 1


def test_the_same_key_with_another_body_is_a_conflict(client, oph, vacancy, kinds):
    assert _post_event(client, oph, vacancy["id"], DESIGNATION, "k").status_code == 201
    other = {**DESIGNATION, "candidates": 4}
    problem = assert_problem(_post_event(client, oph, vacancy["id"], other, "k"), 409)
    assert "Idempotency-Key" in problem["errors"]["headers"]
    assert kinds()["designation"] == 1


def test_concurrent_retries_of_one_event_record_it_once(app, client, oph, vacancy, kinds):
    threads, answers = 6, []
    barrier = threading.Barrier(threads)

    def retry() -> None:
        own = app.test_client()
        barrier.wait()
        response = _post_event(own, oph, vacancy["id"], DESIGNATION, "same-designation")
        answers.append((response.status_code, response.get_json()))

    workers = [threading.Thread(target=retry) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert Counter(status for status, _ in answers) == {201: 1, 200: threads - 1}
    assert len({repr(body) for _, body in answers}) == 1
    assert kinds()["designation"] == 1


def test_a_vacancy_replay_returns_the_first_response(client, oph, kinds):
    action_logement(client, oph, percent="100.00")
    home = create_dwelling(client, oph, "S0000002")
    first = log(client, oph, home, "2025-03-01", key="vacancy-1")
    assert first.status_code == 201
    recorded(client, oph, first.get_json()["id"], "designation", "2025-03-05", candidates=3)

    replay = log(client, oph, home, "2025-03-01", key="vacancy-1")

    assert replay.status_code == 200
    assert replay.get_json() == first.get_json()  # stage "oriented", as first answered
    assert kinds()["vacancy_logged"] == 1


# --- messages ---------------------------------------------------------------------------------


def test_a_refused_event_names_the_possible_events_in_french(client, oph, vacancy):
    problem = assert_problem(event(client, oph, vacancy["id"], "lease", "2025-03-05"), 422)
    assert "une désignation de candidats" in problem["detail"]
    assert "designation," not in problem["detail"]
    body = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=oph).get_json()
    assert "designation" in body["allowed_events"]  # codes kept for programs


def test_dates_in_messages_are_written_the_french_way(client, oph, vacancy):
    recorded(client, oph, vacancy["id"], "designation", "2025-03-10", candidates=3)
    problem = assert_problem(event(client, oph, vacancy["id"], "cal_refusal", "2025-03-09"), 422)
    assert "09/03/2025" in problem["detail"] and "10/03/2025" in problem["detail"]
    assert "2025-03" not in problem["detail"]


def test_an_impossible_date_is_called_impossible(client, oph, vacancy):
    problem = assert_problem(event(client, oph, vacancy["id"], "designation", "2026-02-30"), 422)
    assert problem["errors"]["json"]["date"] == ["Date impossible : le 30/02/2026 n'existe pas."]
    bad_format = assert_problem(event(client, oph, vacancy["id"], "designation", "30/02"), 422)
    assert bad_format["errors"]["json"]["date"] == ["Date attendue au format AAAA-MM-JJ."]


def test_a_body_that_is_not_json_is_refused_with_415(client, oph, vacancy):
    response = client.post(
        f"/api/v1/vacancies/{vacancy['id']}/events",
        data={"type": "designation", "date": "2025-03-05", "candidates": "3"},
        headers=oph,
    )
    problem = assert_problem(response, 415)
    assert "JSON" in problem["detail"]


def test_every_problem_has_a_detail_even_for_malformed_json(client, oph, vacancy):
    response = client.post(
        f"/api/v1/vacancies/{vacancy['id']}/events",
        data="{not json",
        headers={**oph, "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 400)
    assert problem["detail"]
    assert assert_problem(client.delete("/api/v1/vacancies", headers=oph), 405)["detail"]


def test_json_responses_are_plain_utf8(client, oph, vacancy):
    raw = client.get(f"/api/v1/vacancies/{vacancy['id']}", headers=oph).get_data()
    assert "orienté".encode() in raw
    assert b"\\u00e9" not in raw
