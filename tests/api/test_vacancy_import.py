"""Bulk import of a landlord's vacancies and events from its ERP (issue 14, item 1)."""

from __future__ import annotations

import heapq
import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from flux.domain.reference import Role
from flux.models import JournalEntry, Organisation
from flux.services import vacancies, vacancy_events, vacancy_import
from flux.services.access import Actor
from flux.services.vacancies import NewVacancy

from .vacancy_kit import COLOMIERS, OPH, TOULOUSE, action_logement, create_dwelling, toulouse

TODAY = date(2027, 1, 31)
HEADER = "type;reference;rpls_id;available_on;date;candidates;reason;notified_on"


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


@pytest.fixture
def world(client, oph, session) -> dict:
    """Action Logement 40 % everywhere, Toulouse 20 % in Toulouse from 15 February (the
    year's vacancies fall on both sides); 24 + 12 dwellings."""
    action_logement(client, oph, "40.00")
    toulouse(client, oph, "20.00", valid_from="2026-02-15")
    rpls = [f"T{n:07d}" for n in range(24)] + [f"C{n:07d}" for n in range(12)]
    for number in rpls:
        create_dwelling(client, oph, number, TOULOUSE if number[0] == "T" else COLOMIERS)
    landlord = session.scalar(sa.select(Organisation.id).where(Organisation.code == OPH))
    actor = Actor(user_id=None, role=Role.LANDLORD, organisation_id=landlord)
    return {"rpls": rpls, "actor": actor}


def _one_by_one(session, world) -> list[str]:
    """Log the year through the services one request at a time; returns the file's lines
    (vacancies first, then events) describing what was done, in the order it was done."""
    actor, rpls = world["actor"], world["rpls"]
    vacancy_lines, event_lines, queue, order = [], [], [], 0
    for index, number in enumerate(rpls):
        on = date(2026, 1, 1) + timedelta(days=3 * index)
        heapq.heappush(queue, (on, 0, order, ("vacancy", number, on)))
        order += 1
    while queue:
        on, _, _, action = heapq.heappop(queue)
        if action[0] == "vacancy":
            _, number, _ = action
            logged = vacancies.log_vacancy(
                session,
                actor,
                # Told on the day it became available (the ERP's history): carences can follow.
                NewVacancy(available_on=on, rpls_id=number, notified_on=on),
                today=TODAY,
            )
            vacancy_lines.append(f"vacancy;;{number};{on.isoformat()};;;;{on.isoformat()}")
            state = vacancies.replay(session, logged.vacancy_id)
            index = rpls.index(number)
            reserved = state.holder not in (None, "landlord")
            if index % 4 == 1:
                event = ("withdrawal", on + timedelta(days=1), {"reason": "Le locataire reste"})
            elif index % 4 == 2 and reserved:
                event = ("designation", on + timedelta(days=2), {"candidates": 3})
            elif index % 4 == 3 and reserved:
                event = ("carence", on + timedelta(days=31), {})
            else:
                continue
            heapq.heappush(queue, (event[1], 1, order, (event, logged.vacancy_id, number, on)))
            order += 1
        else:
            (kind, when, fields), vacancy_id, number, available = action
            vacancy_events.record(
                session, actor, vacancy_id, {"type": kind, "date": when, **fields}, today=TODAY
            )
            event_lines.append(
                f"{kind};;{number};{available.isoformat()};{when.isoformat()};"
                f"{fields.get('candidates', '')};{fields.get('reason', '')};"
            )
    session.flush()
    return [HEADER, *vacancy_lines, *event_lines]


def _entries(session) -> list[tuple]:
    rows = session.execute(sa.select(JournalEntry).order_by(JournalEntry.id)).scalars().all()
    ordinal = {e.id: n for n, e in enumerate(r for r in rows if r.kind == "vacancy_logged")}
    return [
        (
            e.kind,
            e.effective_date,
            e.dwelling_id,
            ordinal.get(e.vacancy_id),
            e.share_id,
            e.convention_id,
            e.period,
            json.dumps(e.payload, sort_keys=True),
        )
        for e in rows
    ]


def _vacancy_entries(session) -> int:
    """Journal entries about vacancies (the conventions' own `terms_changed` entries aside)."""
    return session.scalar(
        sa.select(sa.func.count(JournalEntry.id)).where(JournalEntry.kind != "terms_changed")
    )


def _import(session, world, text: str, **options):
    return vacancy_import.import_vacancies(
        session,
        world["actor"],
        io.BytesIO(text.encode("utf-8")),
        "annee.csv",
        None,
        today=TODAY,
        **options,
    )


def test_the_bulk_path_records_what_logging_one_by_one_records_entry_by_entry(session, world):
    lines = _one_by_one(session, world)
    expected = _entries(session)
    assert {e[0] for e in expected} >= {"orientation", "withdrawal", "designation", "carence"}
    session.rollback()
    assert _vacancy_entries(session) == 0
    report = _import(session, world, "\n".join(lines) + "\n")
    assert (report.refused, report.refusals) == (0, [])
    session.commit()
    assert report.written and report.created == len(lines) - 1
    assert _entries(session) == expected


def test_sending_the_same_file_twice_changes_nothing(session, world):
    lines = _one_by_one(session, world)
    session.rollback()
    text = "\n".join(lines)
    first = _import(session, world, text)
    session.commit()
    count = session.scalar(sa.select(sa.func.count(JournalEntry.id)))
    again = _import(session, world, "\ufeff" + text.replace(";", ","))  # BOM and commas
    session.commit()
    assert (again.created, again.existing, again.refused) == (0, first.created, 0)
    assert session.scalar(sa.select(sa.func.count(JournalEntry.id))) == count


def _bad_file(world) -> str:
    return "\n".join(
        [
            "rpls_id;available_on;reference",
            f"{world['rpls'][0]};2026-02-01;ERP-1",
            "X9999999;2026-02-02;ERP-2",
            f"{world['rpls'][1]};31/02/2026;ERP-3",
            f"{world['rpls'][2]};03/02/2026;ERP-4",
        ]
    )


def test_all_or_nothing_writes_nothing_when_a_row_is_refused_and_says_why(session, world):
    report = _import(session, world, _bad_file(world))
    assert not report.written
    session.rollback()
    assert _vacancy_entries(session) == 0
    assert [r["line"] for r in report.refusals] == [3, 4]
    assert "X9999999 inconnu" in report.refusals[0]["reason"]
    assert "date attendue" in report.refusals[1]["reason"]
    assert report.as_dict()["results"][0] == {"line": 2, "status": "created", "vacancy_id": None}


def test_without_all_or_nothing_the_good_rows_are_kept(session, world):
    report = _import(session, world, _bad_file(world), all_or_nothing=False)
    assert report.written and (report.created, report.refused) == (2, 2)
    session.commit()
    kinds = session.scalars(sa.select(JournalEntry.kind)).all()
    assert kinds.count("vacancy_logged") == 2
    keys = session.scalars(sa.select(JournalEntry.idempotency_key)).all()
    assert {"ERP-1", "ERP-4"} <= set(keys)


def test_a_dry_run_decides_and_reports_but_writes_nothing(session, world):
    lines = _one_by_one(session, world)
    session.rollback()
    report = _import(session, world, "\n".join(lines), dry_run=True)
    assert (report.created, report.refused, report.written) == (len(lines) - 1, 0, False)
    session.rollback()
    assert _vacancy_entries(session) == 0


def test_json_lines_and_csv_give_the_same_journal(session, world):
    rows = [
        {"rpls_id": n, "available_on": f"2026-03-{i + 1:02d}"}
        for i, n in enumerate(world["rpls"][:8])
    ]
    text = "\n".join(json.dumps(r) for r in rows)
    report = vacancy_import.import_vacancies(
        session, world["actor"], io.BytesIO(text.encode()), "a.jsonl", None, today=TODAY
    )
    assert (report.created, report.refused) == (8, 0)
    via_json = _entries(session)
    session.rollback()
    csv_text = "rpls_id,available_on\n" + "\n".join(
        f"{r['rpls_id']},{r['available_on']}" for r in rows
    )
    _import(session, world, csv_text)
    assert _entries(session) == via_json
    session.rollback()


def test_an_imported_vacancy_gives_its_holder_the_full_delay_from_the_import_day(session, world):
    """Late logging (issue 11): without `notified_on`, the designation delay of an imported
    vacancy runs from the day of the import, as when it is logged late one by one."""
    days = ("2026-03-02", "2026-03-03", "2026-03-04")
    lines = [HEADER, *(f"vacancy;;{world['rpls'][n]};{day};;;;" for n, day in enumerate(days))]
    report = _import(session, world, "\n".join(lines) + "\n")
    assert report.refused == 0
    session.commit()
    logged = session.scalars(
        sa.select(JournalEntry.id).where(JournalEntry.kind == "vacancy_logged")
    ).all()
    states = [vacancies.replay(session, vacancy_id) for vacancy_id in logged]
    reserved = [s for s in states if s.holder not in (None, "landlord")]
    assert reserved, "Action Logement's 40 % gets one of three vacancies"
    for state in reserved:
        assert state.lifecycle.designation_deadline == TODAY + timedelta(days=30)
