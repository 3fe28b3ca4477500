"""/balances gives, for every share and year of the demo, the annual report's figures (issue 11
item 5): eligible, carry-in, target, proposed, taken back, attributions, leases, realised,
counted per the counting event, gap on it, percentage. The demo is built once for the module."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from flux import create_app, demo
from flux.db import db
from flux.domain import allocation
from flux.domain.allocation import LANDLORD
from flux.models import JournalEntry
from flux.reporting.annual import LANDLORD_RESERVER, SHARE_COLUMNS
from flux.reporting.catalogue import LANDLORD_PART
from flux.services import allocation_book, balances, reports, scope_conventions
from flux.services.access import SYSTEM

from ..conftest import ON_POSTGRES, _truncate_postgres

AFTER_EVERYTHING = date(2099, 12, 31)
KEYS = [column.key for column in SHARE_COLUMNS]


@pytest.fixture(scope="module")
def demo_app(_template, tmp_path_factory):
    if ON_POSTGRES:
        _truncate_postgres(_template)
        url = _template
    else:
        path = tmp_path_factory.mktemp("demo-balances") / "flux.sqlite"
        shutil.copyfile(_template, path)
        url = f"sqlite:///{path}"
    allocation_book.clear_cache()
    scope_conventions.clear_cache()
    balances.clear_cache()
    app = create_app({"ENV": "test", "DATABASE_URL": url, "TESTING": True})
    with app.app_context():
        demo.load(db.session, activity_until=date(2026, 11, 21))
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def _bilan_rows(year: int) -> dict[tuple, dict]:
    report = reports.annual(db.session, SYSTEM, reports.ReportQuery(year=year))
    frame = report.part("shares").frame
    rows = {}
    for values in frame.itertuples(index=False):
        row = dict(zip(KEYS, values, strict=True))
        if row["share"] is None or row["departement"] is None:  # the total row
            continue
        key = (
            row["landlord"],
            row["departement"],
            row["reserver"],
            row["convention"],
            row["share"],
        )
        rows[key] = row
    return rows


def _balance_rows(year: int) -> dict[tuple, dict]:
    found = balances.balances(
        db.session, SYSTEM, balances.BalanceQuery(as_of=AFTER_EVERYTHING, year=year)
    )
    rows = {}
    for row in found:
        if row["landlord_part"]:
            key = (
                row["landlord"]["name"],
                row["departement"],
                LANDLORD_RESERVER,
                None,
                LANDLORD_PART,
            )
        else:
            key = (
                row["landlord"]["name"],
                row["departement"],
                row["reserver"]["name"],
                row["convention_reference"],
                row["label"],
            )
        rows[key] = row
    return rows


def _units(value: Decimal) -> int:
    return int(Decimal(value).scaleb(4))


@pytest.mark.parametrize("year", [2025, 2026])
def test_balances_equal_the_bilan_for_every_share(demo_app, year):
    with demo_app.app_context():
        bilan, ours = _bilan_rows(year), _balance_rows(year)
        assert bilan and set(ours) == set(bilan)
        busy = 0
        for key, expected in bilan.items():
            row = ours[key]
            figures = {
                "eligible": row["eligible"],
                "carry_in": _carry(row),
                "target": row["target_units"],
                "proposed": row["proposed"],
                "taken_back_counted": row["taken_back_counted"],
                "taken_back_not_counted": row["taken_back_not_counted"],
                "attributed": row["attributions"],
                "leases": row["leases"],
                "realised": row["realised"],
                "counted": row["counted"],
                "gap": row["gap_counted_units"],
            }
            wanted = {
                "eligible": expected["eligible"],
                "carry_in": _units(expected["carry_in"]),
                "target": _units(expected["target"]),
                "proposed": expected["proposed"],
                "taken_back_counted": expected["taken_back_counted"],
                "taken_back_not_counted": expected["taken_back_not_counted"],
                "attributed": expected["attributed"],
                "leases": expected["leases"],
                "realised": expected["realised"],
                "counted": expected["counted"],
                "gap": _units(expected["gap"]),
            }
            assert figures == wanted, key
            if expected["percent"] is not None:
                assert row["basis_points"] == _units(expected["percent"]), key
            busy += expected["attributed"] > 0
        assert busy > 5  # the demo has real activity to compare


def _carry(row: dict) -> int:
    return _units(Decimal(row["carry_in"]))


def test_totals_add_up_the_shares_and_the_completion_rate_uses_the_counted(demo_app):
    with demo_app.app_context():
        query = balances.BalanceQuery(as_of=AFTER_EVERYTHING, year=2025)
        rows = balances.balances(db.session, SYSTEM, query)
        totals = balances.totals(db.session, SYSTEM, query)
        for total in totals["reservers"]:
            mine = [
                r
                for r in rows
                if not r["landlord_part"] and r["reserver"]["id"] == total["reserver"]["id"]
            ]
            assert total["counted"] == sum(r["counted"] for r in mine)
            assert total["attributions"] == sum(r["attributions"] for r in mine)
        assert sum(t["shares"] for t in totals["landlords"]) == len(rows)
        al = next(r for r in rows if (r.get("reserver") or {}).get("code") == "action-logement")
        expected = Decimal(al["counted"]) * 100 / (Decimal(al["target_units"]) / 10000)
        assert Decimal(al["completion_rate"]) == expected.quantize(Decimal("0.01"))


SERIES_FIGURES = (
    "eligible",
    "target",
    "target_units",
    "realised",
    "gap",
    "carry_in",
    "proposed",
    "attributions",
    "leases",
    "taken_back_counted",
    "taken_back_not_counted",
    "counting_event",
    "counted",
    "gap_counted",
    "gap_counted_units",
    "completion_rate",
    "basis_points",
    "percent",
)


def _series_key(row: dict) -> tuple:
    return row["landlord_id"], row["departement"], row["share_id"], row["landlord_part"]


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_monthly_series_ends_on_the_balances_and_each_point_is_the_engines_as_of(
    demo_app, year
):
    """The series' last point (31 December, or today) is /balances as of that day for every
    share of the demo, with the bilan's figures; and every month's engine figures are those
    of the id-order fold of the entries dated up to that day (``allocation_book.as_of``)."""
    today = date(2026, 11, 21)
    with demo_app.app_context():
        series = balances.monthly_balances(
            db.session, SYSTEM, balances.SeriesQuery(year=year), today
        )
        last = series[0]["months"][-1]["as_of"]
        assert last == (date(2025, 12, 31) if year == 2025 else today)
        expected = {
            _series_key(row): row
            for row in balances.balances(
                db.session, SYSTEM, balances.BalanceQuery(as_of=last, year=year)
            )
        }
        assert {_series_key(row) for row in series} == set(expected)
        for row in series:
            point, balance = row["months"][-1], expected[_series_key(row)]
            assert {f: point[f] for f in SERIES_FIGURES} == {
                f: balance[f] for f in SERIES_FIGURES
            }, row["label"]
            assert row["share_code"] == balance["share_code"]
        assert sum(row["months"][-1]["attributions"] for row in series) > 5
        by_scope: dict[tuple, list[dict]] = {}
        for row in series:
            by_scope.setdefault((row["landlord_id"], row["departement"]), []).append(row)
        for (landlord, departement), rows in by_scope.items():
            scope = allocation_book.Scope(landlord, departement)
            for index, point in enumerate(rows[0]["months"]):
                folded = allocation.balances(
                    allocation_book.as_of(db.session, scope, year, point["as_of"]).state
                )
                for row in rows:
                    share = LANDLORD if row["landlord_part"] else row["share_id"]
                    engine = folded.get(share)
                    got = row["months"][index]
                    assert (got["eligible"], got["target_units"], got["realised"]) == (
                        (engine.eligible, engine.target_units, engine.realised)
                        if engine
                        else (0, 0, 0)
                    ), (row["label"], point["as_of"])


def test_balances_after_the_first_call_cost_a_few_statements_whatever_the_scopes(demo_app):
    """Issue 14 item 3: a département's /balances is served from the scopes' cached figures;
    the journal marks, conventions, share codes and landlords are read for all the scopes at
    once, and labels come from the conventions in memory."""
    with demo_app.app_context():
        engine = db.engine
        counted: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            counted.append(statement)

        def statements(**filters) -> tuple[int, int]:
            query = balances.BalanceQuery(as_of=date(2026, 11, 21), **filters)
            balances.balances(db.session, SYSTEM, query)  # the first call computes
            counted.clear()
            sa.event.listen(engine, "before_cursor_execute", count)
            try:
                rows = balances.balances(db.session, SYSTEM, query)
            finally:
                sa.event.remove(engine, "before_cursor_execute", count)
            return len(counted), len({(r["landlord_id"], r["departement"]) for r in rows})

        many, scopes = statements(departement="31")
        one, single = statements(departement="31", landlord=_first_landlord(db.session))
        assert scopes > 1 and single == 1
        assert many == one <= 5, "\n".join(s[:70].replace("\n", " ") for s in counted)


def _first_landlord(session) -> int:
    return session.scalar(
        sa.select(JournalEntry.landlord_id)
        .where(JournalEntry.departement_code == "31")
        .order_by(JournalEntry.id)
        .limit(1)
    )
