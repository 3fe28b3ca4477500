"""The pages' own reads (flux/services/desk.py): kept series follow the journal."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from flux.domain.reference import Role
from flux.models import Organisation
from flux.services import desk
from flux.services.access import Actor


def test_kept_monthly_series_follow_a_new_vacancy(session, world, log_vacancy):
    al = session.scalar(sa.select(Organisation.id).where(Organisation.code == "action-logement"))
    actor = Actor(user_id=None, role=Role.RESERVER, organisation_id=al)
    log_vacancy(world["dwellings"]["R0000001"], "2026-01-05")
    day = date(2026, 1, 31)
    before = desk.monthly(session, actor, 2026, day)
    assert desk.monthly(session, actor, 2026, day) is before  # kept
    log_vacancy(world["dwellings"]["R0000003"], "2026-01-06")
    after = desk.monthly(session, actor, 2026, day)
    assert after is not before
    eligible = sum(r["months"][-1]["eligible"] for r in after)
    assert eligible == sum(r["months"][-1]["eligible"] for r in before) + 1


def test_rights_are_the_balances_and_their_totals(session, world, log_vacancy):
    """The page's figures are the API's: GET /balances's rows, GET /balances/totals' rate."""
    from flux.services import balances

    al = session.scalar(sa.select(Organisation.id).where(Organisation.code == "action-logement"))
    actor = Actor(user_id=None, role=Role.RESERVER, organisation_id=al)
    for rpls, on in (("R0000001", "2026-01-05"), ("R0000002", "2026-01-06")):
        log_vacancy(world["dwellings"][rpls], on)
    day = date(2026, 1, 31)
    rights = desk.rights(session, actor, day)
    query = balances.BalanceQuery(as_of=day)
    assert rights.rows == balances.balances(session, actor, query)
    [total] = rights.totals
    assert total == balances.totals(session, actor, query)["reservers"][0]
    assert total["counted"] == sum(r["counted"] for r in rights.rows) > 0
    assert total["completion_rate"] is not None
    assert desk.rights(session, actor, day, with_totals=False).totals == []
