"""Work lists: GET /vacancies filtered by stage, holder, deadline, commune and dates, sorted;
a réservataire's "to fill" list; codes wherever ids are; a page in a fixed number of statements
(issue 11 item 1, issue 14 item 3)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa

from flux import clock
from flux.db import db
from flux.models import Organisation
from flux.services import vacancy_memo

from .conftest import assert_problem
from .vacancy_kit import (
    COLOMIERS,
    ESH,
    LANDLORD,
    OPH,
    action_logement,
    create_dwelling,
    holder,
    logged,
    recorded,
    toulouse,
)


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def today(monkeypatch) -> date:
    day = date(2025, 4, 10)
    monkeypatch.setattr(clock, "today", lambda: day)
    return day


@pytest.fixture
def world(client, oph, today) -> dict:
    """Action Logement 50 % (20 days to designate), Toulouse 20 % of Toulouse: nine vacancies
    in Toulouse in March and one in Colomiers, some designated, one taken back."""
    al = action_logement(client, oph, policies={"designation_deadline_days": 20})
    tlse = toulouse(client, oph)
    homes = [create_dwelling(client, oph, f"W{n:07d}") for n in range(1, 10)]
    homes.append(create_dwelling(client, oph, "W0000010", commune=COLOMIERS))
    # Logged late (on 10 April), but the landlord says each reserver was told on the day.
    days = [f"2025-03-{n + 1:02d}" for n in range(len(homes))]
    vacancies = [
        logged(client, oph, home, day, notified_on=day)
        for home, day in zip(homes, days, strict=True)
    ]
    return {"al": al, "tlse": tlse, "vacancies": vacancies}


def _list(client, headers, **query) -> list[dict]:
    response = client.get(
        "/api/v1/vacancies", query_string={"page_size": 500, **query}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _ids(items: list[dict]) -> list[int]:
    return [item["id"] for item in items]


def test_the_list_filters_by_stage_and_holder(client, oph, world):
    first = world["vacancies"][0]
    recorded(client, oph, first["id"], "designation", "2025-03-05", candidates=3)
    to_al = [v["id"] for v in world["vacancies"] if holder(v) == world["al"]]

    designated = _list(client, oph, stage="designated")
    assert _ids(designated) == [first["id"]]
    assert designated[0]["stage"] == "designated"
    two_stages = _list(client, oph, stage=["designated", "oriented"])
    assert len(two_stages) == len(world["vacancies"])
    assert _ids(_list(client, oph, share=world["al"])) == to_al
    assert _ids(_list(client, oph, reserver="action-logement")) == to_al
    landlord_part = _list(client, oph, landlord_part="true")
    assert landlord_part and all(holder(v) == LANDLORD for v in landlord_part)
    assert set(_ids(landlord_part)).isdisjoint(to_al)


def test_codes_are_accepted_wherever_ids_are(client, oph, world, org_ids):
    by_id = _list(client, oph, share=world["al"], landlord=org_ids[OPH])
    assert by_id
    assert _list(client, oph, share="AL/salaries", landlord=OPH) == by_id
    assert _list(client, oph, convention="AL") == by_id
    assert _list(client, oph, reserver=org_ids["action-logement"]) == by_id
    problem = assert_problem(
        client.get("/api/v1/vacancies", query_string={"reserver": "nobody"}, headers=oph), 422
    )
    assert "nobody" in problem["detail"]
    assert problem["errors"] == {"query": {"reserver": [problem["detail"]]}}


def test_the_list_filters_by_commune_and_dates(client, oph, world):
    colomiers = _list(client, oph, commune=COLOMIERS)
    assert _ids(colomiers) == [world["vacancies"][-1]["id"]]
    window = _list(client, oph, available_from="2025-03-02", available_to="2025-03-04")
    assert [v["available_on"] for v in window] == ["2025-03-02", "2025-03-03", "2025-03-04"]
    latest_first = _list(client, oph, sort="-available_on")
    assert latest_first[0]["available_on"] == "2025-03-10"


def test_deadline_filters_and_overdue_follow_the_holders_current_deadline(
    client, oph, world, today
):
    # Action Logement has 20 days, Toulouse 30: on 10 April, March's vacancies held by a
    # reserver are overdue up to 20 March (Action Logement) or 10 March (Toulouse).
    overdue = _list(client, oph, overdue="true")
    expected = [
        v["id"]
        for v in world["vacancies"]
        if v["designation_deadline"] and date.fromisoformat(v["designation_deadline"]) < today
    ]
    assert 0 < len(expected) < len(world["vacancies"])
    assert _ids(overdue) == expected
    assert all(v["days_left"] < 0 and v["overdue"] for v in overdue)
    before = _list(client, oph, deadline_before="2025-03-25")
    assert all(date.fromisoformat(v["deadline"]) <= date(2025, 3, 25) for v in before)
    after = _list(client, oph, deadline_after="2025-04-10")
    assert all(date.fromisoformat(v["deadline"]) >= today for v in after)
    assert set(_ids(before)).isdisjoint(_ids(after))
    by_deadline = _list(client, oph, sort="deadline")
    deadlines = [v["deadline"] for v in by_deadline if v["deadline"]]
    assert deadlines == sorted(deadlines)
    assert by_deadline[-1]["deadline"] is None  # no deadline: last


def test_a_reservers_to_fill_list_has_its_awaited_vacancies_with_days_left(
    client, oph, auth, world, today
):
    al_user = auth("reserver", "action-logement")
    to_al = [v for v in world["vacancies"] if holder(v) == world["al"]]
    recorded(client, oph, to_al[0]["id"], "designation", "2025-03-05", candidates=3)

    to_fill = _list(client, al_user, to_fill="true", sort="deadline")

    assert _ids(to_fill) == [v["id"] for v in to_al[1:]]
    for item in to_fill:
        deadline = date.fromisoformat(item["deadline"])
        assert item["days_left"] == (deadline - today).days
    # A town's user sees nothing of Action Logement's list.
    assert (
        _list(
            client, auth("reserver", "commune-toulouse"), to_fill="true", reserver="action-logement"
        )
        == []
    )


def test_the_list_stays_within_what_the_caller_may_see(client, oph, auth, world):
    other = auth("landlord", ESH)
    assert _list(client, other) == []
    assert _list(client, other, stage="oriented") == []
    toulouse_user = auth("reserver", "commune-toulouse")
    seen = _list(client, toulouse_user)
    assert seen and all(holder(v) == world["tlse"] for v in seen)


def test_bad_filters_are_refused_with_their_field(client, oph, world):
    for query, field in (
        ({"stage": "nowhere"}, "stage"),
        ({"sort": "rent"}, "sort"),
        ({"commune": "toulouse"}, "commune"),
        ({"share": "AL/unknown"}, "share"),
    ):
        problem = assert_problem(
            client.get("/api/v1/vacancies", query_string=query, headers=oph), 422
        )
        assert field in problem["errors"]["query"], problem


@contextmanager
def _statements(app):
    counted: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        counted.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("query", [{}, {"stage": "oriented", "sort": "deadline"}])
def test_a_page_costs_the_same_few_statements_whatever_its_size(app, client, oph, world, query):
    # Both from an empty memory (vacancy_memo): the first request would otherwise fill it for
    # the second, which then skips reading the entries' payloads (one statement fewer).
    vacancy_memo.replays.clear()
    with _statements(app) as few:
        small = client.get("/api/v1/vacancies", query_string={"page_size": 2, **query}, headers=oph)
    vacancy_memo.replays.clear()
    with _statements(app) as many:
        large = client.get(
            "/api/v1/vacancies", query_string={"page_size": 500, **query}, headers=oph
        )
    with _statements(app) as remembered:
        again = client.get(
            "/api/v1/vacancies", query_string={"page_size": 500, **query}, headers=oph
        )
    assert small.status_code == large.status_code == 200
    assert len(small.get_json()) == 2 and len(large.get_json()) >= 9
    assert len(many) == len(few)
    assert len(many) < 10, "\n".join(s[:70].replace("\n", " ") for s in many)
    assert again.data == large.data and len(remembered) == len(many) - 1


def test_every_orientation_carries_its_summary_in_french(client, oph, auth, world):
    first = world["vacancies"][0]
    assert first["orientation"]["summary"].startswith("Orienté vers « ")
    assert "la part la plus en retard sur son dû" in first["orientation"]["summary"]
    listed = _list(client, oph)
    assert all(v["orientation"]["summary"] for v in listed)
    al_user = auth("reserver", "action-logement")
    seen = client.get(f"/api/v1/vacancies/{first['id']}", headers=al_user).get_json()
    # A reserver reads the sentence built from its own figures only.
    assert "non réservée" not in seen["orientation"]["summary"]


def test_the_list_is_dumped_as_its_declared_schema_dumps_one_vacancy(client, oph, auth, world):
    # The list skips marshmallow (a third of a 500-row page); each row must still be what the
    # declared schema gives: GET /vacancies/{id} dumps the same vacancy through it.
    recorded(client, oph, world["vacancies"][0]["id"], "designation", "2025-03-05", candidates=3)
    al_user = auth("reserver", "action-logement")
    for headers in (oph, al_user):
        listed = _list(client, headers)
        assert listed
        for row in listed:
            one = client.get(f"/api/v1/vacancies/{row['id']}", headers=headers).get_json()
            lists_only = {"deadline", "days_left", "overdue"}
            assert {k: v for k, v in row.items() if k not in lists_only} == one
            assert lists_only <= row.keys()


def test_a_new_vacancys_answer_is_what_the_declared_schema_dumps(client, oph, world):
    # POST /vacancies answers through the same compiled dumper (no marshmallow walk).
    home = create_dwelling(client, oph, "W0000099")
    created = logged(client, oph, home, "2025-04-02")
    again = client.get(f"/api/v1/vacancies/{created['id']}", headers=oph).get_json()
    assert created == {k: v for k, v in again.items() if k != "dwelling_details"}
    assert created["orientation"]["explanation"] and created["events"]


def test_a_compact_list_leaves_out_explanation_lines_and_entries(client, oph, world):
    full, compact = _list(client, oph), _list(client, oph, compact="true")
    paged = client.get("/api/v1/vacancies?page_size=3&compact=true", headers=oph)
    assert json.loads(paged.headers["X-Pagination"])["total"] == len(full)
    assert paged.mimetype == "application/json" and len(paged.get_json()) == 3

    assert _ids(compact) == _ids(full)
    assert all("events" not in row for row in compact)
    assert all(row["orientation"]["summary"] for row in compact)
    assert all("explanation" not in row["orientation"] for row in compact)
    trimmed = [
        {
            **{k: v for k, v in row.items() if k != "events"},
            "orientation": {k: v for k, v in row["orientation"].items() if k != "explanation"},
        }
        for row in full
    ]
    assert compact == trimmed


def test_a_remembered_row_is_forgotten_when_an_entry_a_label_or_the_reader_changes(
    client, oph, auth, world, session, monkeypatch
):
    # The list remembers each row's description per process (vacancy_memo); whatever changes
    # what a row shows must show at once, exactly as GET /vacancies/{id} (never remembered).
    vacancy_memo.replays.clear()
    vacancy_memo.descriptions.clear()
    first = world["vacancies"][0]["id"]
    al_user = auth("reserver", "action-logement")

    def row(headers) -> dict:
        listed = next(v for v in _list(client, headers) if v["id"] == first)
        one = client.get(f"/api/v1/vacancies/{first}", headers=headers).get_json()
        lists_only = ("deadline", "days_left", "overdue")
        assert {k: v for k, v in listed.items() if k not in lists_only} == one
        return listed

    before = row(oph)
    assert row(oph) == before and len(vacancy_memo.descriptions) > 0
    recorded(client, oph, first, "designation", "2025-03-05", candidates=3)
    designated = row(oph)
    assert designated["stage"] == "designated" != before["stage"]
    assert len(designated["events"]) == len(before["events"]) + 1

    # A reserver's eyes: its own shares' figures only, never the landlord's remembered row.
    seen_by_al = row(al_user)
    shown = {line["share"] for line in seen_by_al["orientation"]["explanation"]}
    assert "landlord" in {line["share"] for line in designated["orientation"]["explanation"]}
    assert "landlord" not in shown

    # A reserver renamed: its name in the labels changes the row.
    session.execute(
        sa.update(Organisation)
        .where(Organisation.code == "action-logement")
        .values(name="Action Logement (renommé)")
    )
    session.commit()
    renamed = [
        line["reserver"]["name"]
        for v in _list(client, oph)
        for line in v["orientation"]["explanation"]
        if line["share"] == world["al"]
    ]
    assert renamed and set(renamed) == {"Action Logement (renommé)"}

    # The days left follow today's date, whatever is remembered.
    on_the_10th = {v["id"]: v["days_left"] for v in _list(client, oph) if v["deadline"]}
    monkeypatch.setattr(clock, "today", lambda: date(2025, 4, 11))
    on_the_11th = {v["id"]: v["days_left"] for v in _list(client, oph) if v["deadline"]}
    assert on_the_10th and on_the_11th == {i: left - 1 for i, left in on_the_10th.items()}


def test_balances_accept_codes_and_give_the_bilans_figures(client, oph, world):
    by_id = client.get(
        "/api/v1/balances",
        query_string={"as_of": "2025-04-10", "share": world["al"]},
        headers=oph,
    ).get_json()
    by_code = client.get(
        "/api/v1/balances",
        query_string={"as_of": "2025-04-10", "share": "AL/salaries", "landlord": OPH},
        headers=oph,
    ).get_json()
    assert by_code == by_id and len(by_id) == 1
    row = by_id[0]
    assert row["landlord"]["code"] == OPH and row["share_code"] == "salaries"
    assert row["percent"] == "50.00"
    assert row["percent_history"] == [
        {"from": "2025-01-01", "basis_points": 5000, "percent": "50.00"}
    ]
    assert row["counting_event"] == "orientation" and row["counted"] == row["realised"]
    assert row["proposed"] == row["realised"] and row["attributions"] == 0
    totals = client.get(
        "/api/v1/balances/totals", query_string={"as_of": "2025-04-10"}, headers=oph
    ).get_json()
    assert {t["reserver"]["code"] for t in totals["reservers"]} == {
        "action-logement",
        "commune-toulouse",
    }
    assert totals["landlords"][0]["landlord"]["code"] == OPH
    assert sum(t["realised"] for t in totals["landlords"]) == len(world["vacancies"])
    assert_problem(
        client.get("/api/v1/balances", query_string={"convention": "NOPE"}, headers=oph),
        422,
    )
