"""Who receives a landlord's bilan besides its reservers (R.441-5-1; legal-review.md §2.10):
the EPCIs subject to the attribution reform in the year (the list loaded with the territories,
``[[reform_epci]]``) and every EPT, each represented by an organisation (a reserver of category
EPCI or EPT whose territory code is its SIREN), receive the bilan of every landlord with
dwellings on their territory, as the campaign's (landlord, département, organisation) pairs.

The rule is ``flux.domain.obligations.bilan_recipients``; this module reads its inputs.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.conventions import ReserverCategory
from flux.domain.obligations import bilan_recipients
from flux.domain.reference import EpciKind, OrganisationKind
from flux.models import Commune, Dwelling, Epci, Organisation, ReformEpci

Triple = tuple[int, str, int]  # (landlord, département, receiving organisation)


def recipients(
    session: Session, year: int, scopes: Iterable[tuple[int, str]], organisation: int | None = None
) -> set[Triple]:
    """The (landlord, département, organisation) triples of ``year`` for these scopes (landlord
    × département owing a bilan); ``organisation``: only those of this organisation."""
    scopes = set(scopes)
    represented = _organisations(session, organisation)
    if not scopes or not represented:
        return set()
    subject = set(
        session.scalars(sa.select(ReformEpci.epci_siren).where(ReformEpci.year == year))
    ) | set(session.scalars(sa.select(Epci.siren).where(Epci.kind == EpciKind.EPT)))
    subject &= represented.keys()
    if not subject:
        return set()
    rows = session.execute(
        sa.select(Dwelling.landlord_id, Commune.departement_code, Commune.insee, Commune.epci_siren)
        .join(Commune, Dwelling.commune_insee == Commune.insee)
        .where(
            Dwelling.landlord_id.in_({landlord for landlord, _ in scopes}),
            Commune.epci_siren.in_(subject),
        )
        .distinct()
    ).all()
    communes: dict[tuple[int, str], set[str]] = {}
    epci_of_commune: dict[str, str] = {}
    for landlord, departement, insee, siren in rows:
        if (landlord, departement) in scopes:
            communes.setdefault((landlord, departement), set()).add(insee)
            epci_of_commune[insee] = siren
    return bilan_recipients(
        {scope: frozenset(found) for scope, found in communes.items()},
        epci_of_commune,
        represented,
        frozenset(subject),
    )


def _organisations(session: Session, organisation: int | None) -> dict[str, int]:
    """EPCI/EPT SIREN -> the organisation that represents it (the lowest id if several)."""
    stmt = (
        sa.select(Organisation.territory_code, Organisation.id)
        .where(
            Organisation.kind == OrganisationKind.RESERVER,
            Organisation.category.in_([ReserverCategory.EPCI, ReserverCategory.EPT]),
            Organisation.territory_code.is_not(None),
        )
        .order_by(Organisation.id.desc())
    )
    if organisation is not None:
        stmt = stmt.where(Organisation.id == organisation)
    return {code: id_ for code, id_ in session.execute(stmt)}
