"""The obligation checks of one scope's year: its facts turned into the plain counts the pure
checks of ``flux.domain.obligations`` take.

Every check row has an owner: the reserver it concerns (the État for its caps, commune and
hors-QPV rules; each reserver for its 25 % DALO/prioritaire rule), or None for the landlord's own
(its 25 % rule, the quartile rules per EPCI). A reserver's bilan shows its own rows only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flux.domain import obligations
from flux.domain.allocation import LANDLORD
from flux.domain.obligations import (
    AttributionGroup,
    Check,
    CommuneFigures,
    EpciAttributions,
    EtatFigures,
)
from flux.reporting.catalogue import Catalogue
from flux.reporting.facts import ScopeYear
from flux.reporting.frames import dwellings, rate
from flux.reporting.model import Column

LANDLORD_GROUP = "Bailleur (non réservé ou repris)"
NO_EPCI = "Communes hors EPCI"


@dataclass(frozen=True)
class OwnedCheck:
    check: Check
    owner: int | None  # the reserver concerned, None for the landlord's own


COLUMNS = (
    Column("landlord", "Bailleur"),
    Column("departement", "Département"),
    Column("code", "Code"),
    Column("check", "Obligation"),
    Column("scope", "Périmètre"),
    Column("status", "Statut"),
    Column("result", "Résultat"),
    Column("numerator", "Nombre", "integer"),
    Column("denominator", "Sur", "integer"),
    Column("rate", "Taux", "percent"),
    Column("threshold", "Seuil ou taux attendu", "percent"),
    Column("target", "Objectif", "dwellings"),
    Column("gap", "Écart", "dwellings"),
    Column("reason", "Motif"),
)
NOTE = (
    "Chaque obligation est respectée, non respectée ou sans objet, avec ses chiffres et son "
    "motif. Plafonds de l'État : ses droits et les logements qui lui sont orientés, rapportés "
    "au flux de l'année (tolérance de 2,5 logements, celle de la règle d'orientation) ; parité "
    "par commune à 2,5 logements près ; règle des 30 % hors QPV selon ses deux lectures ; "
    "« sauf stipulation contraire » de la convention de l'État. 25 % DALO ou prioritaires : par "
    "réservataire et pour le bailleur (non réservé ou repris). Quartiles : par EPCI."
)


def rows(
    scope_year: ScopeYear, catalogue: Catalogue, reserver_id: int | None
) -> list[tuple[Any, ...]]:
    """The scope's check rows (``COLUMNS``); a reserver's bilan (``reserver_id``) only its own."""
    landlord = catalogue.organisations.get(scope_year.scope.landlord_id, "")
    result = []
    for owned in scope_checks(scope_year, catalogue):
        if reserver_id is not None and owned.owner != reserver_id:
            continue
        check = owned.check
        result.append(
            (
                landlord,
                scope_year.scope.departement,
                check.code.value,
                check.label,
                check.scope,
                check.status.value,
                obligations.STATUS_LABELS[check.status],
                check.numerator,
                check.denominator,
                rate(check.rate),
                rate(check.threshold),
                None if check.target_units is None else dwellings(check.target_units),
                None if check.gap_units is None else dwellings(check.gap_units),
                check.reason,
            )
        )
    return result


def scope_checks(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    """The checks of one scope's year, in a fixed order: the État's, the 25 % rule per
    reserver then the landlord, the quartile rules per EPCI."""
    return [
        *_etat(scope_year, catalogue),
        *_dalo(scope_year, catalogue),
        *_quartiles(scope_year, catalogue),
    ]


def _etat(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    etat = [info for info in catalogue.scope_shares(scope_year.scope) if info.is_etat]
    if not etat:
        figures = EtatFigures(0, 0, 0, 0, 0)
        checks = [
            *obligations.etat_caps(figures, has_etat=False),
            *obligations.etat_uniform_by_commune([], None),
            *obligations.etat_hors_qpv(figures, None),
        ]
        # No État here: the rows are the landlord's information (nobody else is concerned).
        return [OwnedCheck(check, None) for check in checks]
    ids = {info.share_id for info in etat}
    agents = {info.share_id for info in etat if info.is_agents}
    balances = scope_year.balances
    flux = flux_hors_qpv = etat_hors_qpv = 0
    communes: dict[str, list[int]] = {}  # INSEE -> [flux, État target units, État realised]
    for facts in scope_year.vacancies.values():
        if facts.holder is None:
            continue
        held = facts.holder in ids
        flux += 1
        if not facts.qpv:
            flux_hors_qpv += 1
            etat_hors_qpv += held
        figures_of = communes.setdefault(facts.commune or "", [0, 0, 0])
        figures_of[0] += 1
        figures_of[1] += sum(bp for share, bp, _ in facts.eligible if share in ids)
        figures_of[2] += held

    def realised(shares: set[int]) -> int:
        return sum(balances[s].realised for s in shares if s in balances)

    def rights(shares: set[int]) -> int:
        return sum(
            balances[s].target_units - balances[s].carry_in_units for s in shares if s in balances
        )

    figures = EtatFigures(
        flux,
        realised(ids),
        realised(agents),
        rights(ids),
        rights(agents),
        flux_hors_qpv,
        etat_hors_qpv,
    )
    policy = etat[-1]  # the État's shares belong to one convention: one version's policies
    by_commune = [
        CommuneFigures(
            code,
            catalogue.communes[code].name if code in catalogue.communes else "",
            *values,
        )
        for code, values in sorted(communes.items())
    ]
    checks = [
        *obligations.etat_caps(figures, has_etat=True),
        *obligations.etat_uniform_by_commune(by_commune, policy.etat_uniform_by_commune),
        *obligations.etat_hors_qpv(figures, policy.etat_hors_qpv_minimum),
    ]
    return [OwnedCheck(check, policy.reserver_id) for check in checks]


def _dalo(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    shares = {info.share_id: info for info in catalogue.scope_shares(scope_year.scope)}
    reservers: dict[int, tuple[str, bool]] = {}
    for info in shares.values():
        reservers.setdefault(info.reserver_id, (info.reserver_name, info.is_etat))
    attributions: Counter = Counter()
    priority: Counter = Counter()
    for facts in scope_year.vacancies.values():
        if not facts.in_flux or facts.attributed is None:
            continue
        holder = facts.attributed
        info = shares.get(holder) if holder != LANDLORD else None
        group = None if info is None or facts.attributed_after_take_back else info.reserver_id
        if group is not None and group not in reservers:
            group = None
        household = facts.household or {}
        attributions[group] += 1
        priority[group] += bool(household.get("dalo") or household.get("prioritaire"))
    rows = []
    for reserver_id, (name, is_etat) in reservers.items():
        group = AttributionGroup(name, attributions[reserver_id], priority[reserver_id], is_etat)
        rows.append(OwnedCheck(obligations.dalo_prioritaires(group), reserver_id))
    landlord = AttributionGroup(LANDLORD_GROUP, attributions[None], priority[None])
    rows.append(OwnedCheck(obligations.dalo_prioritaires(landlord), None))
    return rows


def _quartiles(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    # EPCI -> [hors QPV, of which first quartile, in QPV, of which other quartiles]
    epcis: dict[str | None, list[int]] = {}
    names: dict[str | None, str] = {None: NO_EPCI}
    for facts in scope_year.vacancies.values():
        if not facts.in_flux:
            continue
        commune = catalogue.communes.get(facts.commune or "")
        epci = commune.epci if commune is not None else None
        if epci is not None:
            names[epci] = commune.epci_name or ""
        figures = epcis.setdefault(epci, [0, 0, 0, 0])
        if facts.attributed is None:
            continue
        first = bool((facts.household or {}).get("first_quartile"))
        if facts.qpv:
            figures[2] += 1
            figures[3] += not first
        else:
            figures[0] += 1
            figures[1] += first
    rows = []
    for epci in sorted(epcis, key=lambda code: (code is None, code or "")):
        attributions = EpciAttributions(epci, names[epci], *epcis[epci])
        rows += [OwnedCheck(check, None) for check in obligations.quartiles(attributions)]
    return rows
