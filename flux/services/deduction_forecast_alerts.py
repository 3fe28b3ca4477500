"""An alert when a landlord has not declared its forecast of deductions by the deadline
(R.441-5 I: "avant le 28 février", the forecast of the year's logements soustraits du flux by
category). Raised by the daily expiring-conventions job, once per landlord, département, year."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain import deduction_forecasts as rules
from flux.models import Convention, ConventionVersion, DeductionForecast
from flux.services.alerts import Draft


def missing(session: Session, today: date) -> list[Draft]:
    """Scopes with a convention in force this year and no forecast once the deadline passed."""
    year = today.year
    deadline = rules.deadline(year)
    if today <= deadline:
        return []
    first, last = date(year, 1, 1), date(year, 12, 31)
    scopes = session.execute(
        sa.select(Convention.landlord_id, Convention.departement_code)
        .join(ConventionVersion, ConventionVersion.convention_id == Convention.id)
        .where(
            ConventionVersion.valid_from <= last,
            sa.or_(ConventionVersion.valid_until.is_(None), ConventionVersion.valid_until >= first),
        )
        .distinct()
        .order_by(Convention.landlord_id, Convention.departement_code)
    ).all()
    declared = set(
        session.execute(
            sa.select(DeductionForecast.landlord_id, DeductionForecast.departement_code)
            .where(DeductionForecast.year == year)
            .distinct()
        ).all()
    )
    return [
        Draft(
            key=f"deduction_forecast_missing:{landlord}:{departement}:{year}",
            kind="deduction_forecast_missing",
            message=(
                f"Le bailleur n'a pas déclaré sa prévision {year} de logements soustraits du "
                f"flux dans le département {departement} ; elle était due avant le "
                f"{deadline:%d/%m/%Y} (article R.441-5 I du CCH)."
            ),
            landlord_id=landlord,
            departement=departement,
            figures={"year": year, "deadline": deadline.isoformat()},
        )
        for landlord, departement in scopes
        if (landlord, departement) not in declared
    ]
