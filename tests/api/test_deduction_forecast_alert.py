"""R.441-5 I: the forecast of deductions is due before 28 February; an alert says when a
landlord has not declared it (issue 12 item 8)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from flux.domain.reference import DeductionCategory
from flux.models import Alert, DeductionForecast
from flux.scheduler import jobs

from .conftest import share
from .vacancy_kit import OPH, create_convention


@pytest.fixture
def oph(auth, territory) -> dict:
    return auth("landlord", OPH)


def _alerts(session) -> list[Alert]:
    return list(session.scalars(sa.select(Alert).where(Alert.kind == "deduction_forecast_missing")))


def test_r441_5_a_forecast_missing_after_28_february_raises_an_alert(client, oph, session):
    create_convention(client, oph, "AL", "action-logement", [share("salaries", "20.00")])

    jobs.run(session, "expiring-conventions", date(2026, 2, 28))
    assert _alerts(session) == []  # the 28th is still in time
    jobs.run(session, "expiring-conventions", date(2026, 3, 1))

    [alert] = _alerts(session)
    assert alert.departement_code == "31" and "28/02/2026" in alert.message


def test_r441_5_a_declared_forecast_raises_no_alert(client, oph, session):
    body = create_convention(client, oph, "AL", "action-logement", [share("salaries", "20.00")])
    session.add(
        DeductionForecast(
            landlord_id=body["landlord"]["id"],
            departement_code="31",
            year=2026,
            category=DeductionCategory.INTERNAL_TRANSFER,
            forecast=12,
        )
    )
    session.commit()

    jobs.run(session, "expiring-conventions", date(2026, 3, 1))

    assert _alerts(session) == []
