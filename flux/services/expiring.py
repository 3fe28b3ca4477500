"""Conventions ending soon, and guarantee-backed shares whose end date has passed (issue 6's
`expiring-conventions` job): listed for their landlord and reserver as alerts."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from flux.models import Convention, ConventionVersion
from flux.services.alerts import Draft

WITHIN_DAYS = 90


def check(session: Session, today: date) -> list[Draft]:
    drafts = []
    horizon = today + timedelta(days=WITHIN_DAYS)
    conventions = session.scalars(
        sa.select(Convention)
        .options(
            selectinload(Convention.versions).selectinload(ConventionVersion.share_terms),
        )
        .order_by(Convention.id)
    )
    for convention in conventions:
        current = next(
            (v for v in reversed(convention.versions) if v.effective_from <= today),
            None,
        )
        if current is None:
            continue
        base = {
            "landlord_id": convention.landlord_id,
            "reserver_id": convention.reserver_id,
            "departement": convention.departement_code,
            "convention_id": convention.id,
        }
        end = current.valid_until
        if end is not None and today <= end <= horizon:
            drafts.append(
                Draft(
                    key=f"expiring:{convention.id}:{end.isoformat()}",
                    kind="convention_expiring",
                    message=(
                        f"La convention {convention.reference} prend fin le {end:%d/%m/%Y} "
                        f"(dans {(end - today).days} jours) : à renouveler ou à clore."
                    ),
                    figures={"valid_until": end.isoformat(), "days": (end - today).days},
                    **base,
                )
            )
        for terms in current.share_terms:
            if terms.guarantee_backed and terms.ends_on is not None and terms.ends_on < today:
                drafts.append(
                    Draft(
                        key=f"guarantee_ended:{terms.share_id}:{terms.ends_on.isoformat()}",
                        kind="guarantee_ended",
                        message=(
                            f"La part « {terms.label} » de la convention {convention.reference}, "
                            f"liée à une garantie d'emprunt, a pris fin le "
                            f"{terms.ends_on:%d/%m/%Y} (R.441-6) : elle n'est plus éligible ; "
                            f"un avenant doit la retirer."
                        ),
                        share_id=terms.share_id,
                        figures={"ends_on": terms.ends_on.isoformat()},
                        **base,
                    )
                )
    return drafts
