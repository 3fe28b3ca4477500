"""The obligation checks of one scope's year: its facts turned into the plain counts the pure
checks of ``flux.domain.obligations`` take.

Every check row has an owner: the reserver it concerns (the État for its caps, commune and
hors-QPV rules; each reserver for its 25 % DALO/prioritaire rule), or None for the landlord's own
(its 25 % rule, the quartile rules per EPCI). A reserver's bilan shows the rows its view shows
(``annual.View``: its own, or every reserver's; never the landlord's own).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from flux.domain import obligations
from flux.domain.allocation import LANDLORD
from flux.domain.conventions import BOUND_BY_PRIORITAIRES_QUOTA, FULL_BP, ReserverCategory
from flux.domain.obligations import (
    AttributionGroup,
    Check,
    CommuneFigures,
    EpciAttributions,
    EtatFigures,
)
from flux.domain.reference import DeductionCategory
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
    scope_year: ScopeYear, catalogue: Catalogue, shows: Callable[[int | None], bool]
) -> list[tuple[Any, ...]]:
    """The scope's check rows (``COLUMNS``) whose owner the bilan ``shows`` (its view:
    ``annual.View.shows``)."""
    landlord = catalogue.organisations.get(scope_year.scope.landlord_id, "")
    result = []
    for owned in scope_checks(scope_year, catalogue):
        if not shows(owned.owner):
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
    """The checks of one scope's year, in a fixed order: the État's (with the préfet's
    derogations), the 25 % rule per reserver then the landlord, the quartile rules per EPCI
    of the reform, the loan guarantees, the late amendments."""
    return [
        *_etat(scope_year, catalogue),
        *_dalo(scope_year, catalogue),
        *_quartiles(scope_year, catalogue),
        *guarantee_rows(scope_year, catalogue),
        *deducted_letting_rows(scope_year),
        *late_amendment_rows(scope_year, catalogue),
    ]


def _caps(scope_year: ScopeYear, catalogue: Catalogue) -> tuple[Fraction, Fraction]:
    """The État's caps over the year: 30 % / 5 %, or a derogation's over the days it covers
    (R.441-5-2 I al.2), prorated by days when it covers part of the year."""
    year = scope_year.year
    days = (date(year, 12, 31) - date(year, 1, 1)).days + 1
    cap, agents = Fraction(0), Fraction(0)
    covered = 0
    for derogation in catalogue.legal.derogations.get(scope_year.scope, []):
        start = max(derogation.starts_on, date(year, 1, 1))
        end = min(derogation.ends_on, date(year, 12, 31))
        span = max(0, (end - start).days + 1)
        covered += span
        cap += Fraction(derogation.etat_cap_bp, FULL_BP) * span
        agents += Fraction(derogation.agents_cap_bp, FULL_BP) * span
    rest = max(0, days - covered)
    cap += obligations.ETAT_CAP * rest
    agents += obligations.ETAT_AGENTS_CAP * rest
    return cap / days, agents / days


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
    flux = flux_hors_qpv = etat_hors_qpv = rights_hors_qpv = 0
    communes: dict[str, list[int]] = {}  # INSEE -> [flux, État target units, État realised]
    for facts in scope_year.vacancies.values():
        if facts.holder is None:
            continue
        held = facts.holder in ids
        # The État's weight on the vacancy: at logging, moved by any late amendment since.
        weight = sum(bp for share, bp, _ in facts.eligible if share in ids) + sum(
            units for share, units in facts.adjusted.items() if share in ids
        )
        flux += 1
        if not facts.qpv:
            flux_hors_qpv += 1
            etat_hors_qpv += held
            rights_hors_qpv += weight
        figures_of = communes.setdefault(facts.commune or "", [0, 0, 0])
        figures_of[0] += 1
        figures_of[1] += weight
        figures_of[2] += held

    def realised(shares: set[int]) -> int:
        return sum(balances[s].realised for s in shares if s in balances)

    def rights(shares: set[int]) -> int:
        return sum(
            balances[s].target_units - balances[s].carry_in_units for s in shares if s in balances
        )

    cap, agents_cap = _caps(scope_year, catalogue)
    figures = EtatFigures(
        flux,
        realised(ids),
        realised(agents),
        rights(ids),
        rights(agents),
        flux_hors_qpv,
        etat_hors_qpv,
        rights_hors_qpv,
        cap,
        agents_cap,
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
        *(
            obligations.etat_derogation(derogation, scope_year.year)
            for derogation in catalogue.legal.derogations.get(scope_year.scope, [])
        ),
        *obligations.etat_caps(figures, has_etat=True),
        *obligations.etat_uniform_by_commune(by_commune, policy.etat_uniform_by_commune),
        *obligations.etat_hors_qpv(figures, policy.etat_hors_qpv_minimum),
    ]
    return [OwnedCheck(check, policy.reserver_id) for check in checks]


def _dalo(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    shares = {info.share_id: info for info in catalogue.scope_shares(scope_year.scope)}
    reservers: dict[int, tuple[str, bool, ReserverCategory]] = {}
    for info in shares.values():
        reservers.setdefault(
            info.reserver_id, (info.reserver_name, info.is_etat, info.reserver_category)
        )
    attributions: Counter = Counter()
    priority: Counter = Counter()
    dalo: Counter = Counter()
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
        dalo[group] += bool(household.get("dalo"))
    rows = []
    for reserver_id, (name, is_etat, category) in reservers.items():
        group = AttributionGroup(
            name,
            attributions[reserver_id],
            priority[reserver_id],
            is_etat,
            bound=category in BOUND_BY_PRIORITAIRES_QUOTA,
            dalo=dalo[reserver_id],
        )
        rows.append(OwnedCheck(obligations.dalo_prioritaires(group), reserver_id))
        if category is ReserverCategory.ACTION_LOGEMENT:
            rows.append(OwnedCheck(obligations.action_logement_dalo(group), reserver_id))
    landlord = AttributionGroup(LANDLORD_GROUP, attributions[None], priority[None])
    rows.append(OwnedCheck(obligations.dalo_prioritaires(landlord), None))
    return rows


# Rehousings the law counts with the first quartile outside QPV (L.441-1).
REHOUSINGS = frozenset({DeductionCategory.URBAN_RENEWAL, DeductionCategory.DEGRADED_CONDO})


def _quartiles(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    """L.441-1, per EPCI subject to the attribution reform in the year: attributions followed
    by a signed lease (a live lease), in the flux or deducted (mutations and rehousings are
    attributions too); outside QPV the first quartile or a household rehoused by an ANRU/NPNRU
    or ORCOD operation; the EPCI's own rates."""
    reform = catalogue.legal.reform_epcis
    if reform is None:
        check = obligations.Check(
            obligations.Code.FIRST_QUARTILE_HORS_QPV,
            "bailleur",
            obligations.Status.NOT_APPLICABLE,
            f"La liste des EPCI soumis à la réforme des attributions n'est pas chargée pour "
            f"{scope_year.year} : les objectifs de quartiles ne sont pas contrôlés.",
        )
        return [OwnedCheck(check, None)]
    # EPCI -> [hors QPV, of which first quartile or rehoused, in QPV, of which other quartiles,
    #          rehoused]
    epcis: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for facts in scope_year.vacancies.values():
        if facts.withdrawn:
            continue
        commune = catalogue.communes.get(facts.commune or "")
        epci = commune.epci if commune is not None else None
        if epci is None or epci not in reform:
            continue
        names[epci] = commune.epci_name or "" if commune is not None else ""
        figures = epcis.setdefault(epci, [0, 0, 0, 0, 0])
        if facts.leased is None:
            continue
        rehoused = facts.deduction in REHOUSINGS
        first = bool((facts.household or {}).get("first_quartile"))
        if facts.qpv:
            figures[2] += 1
            figures[3] += not first and not rehoused
        else:
            figures[0] += 1
            figures[1] += first or rehoused
            figures[4] += rehoused
    rows = []
    for epci in sorted(epcis):
        first_bp, other_bp = reform[epci]
        hors, first, qpv, other, rehoused = epcis[epci]
        attributions = EpciAttributions(
            epci,
            names[epci],
            hors,
            first,
            qpv,
            other,
            Fraction(first_bp, FULL_BP),
            Fraction(other_bp, FULL_BP),
            rehoused,
        )
        rows += [OwnedCheck(check, None) for check in obligations.quartiles(attributions)]
    return rows


def guarantee_rows(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    """The communes where loan-guarantee rights, every collectivité together, pass 20 %."""
    totals = catalogue.legal.guarantees.get(scope_year.scope, {})
    return [
        OwnedCheck(obligations.guarantees(bp, commune), None)
        for commune, bp in sorted(totals.items())
        if bp > obligations.GUARANTEES_PRACTICE_BP
    ]


DEDUCTION_LABELS = {
    DeductionCategory.INTERNAL_TRANSFER: "mutations internes",
    DeductionCategory.URBAN_RENEWAL: "relogements ANRU / NPNRU",
    DeductionCategory.DEGRADED_CONDO: "relogements ORCOD",
    DeductionCategory.UNFIT_HOUSING: "relogements habitat indigne",
    DeductionCategory.SALE: "relogements pour vente",
}


def deducted_letting_rows(scope_year: ScopeYear) -> list[OwnedCheck]:
    """Per deduction category with vacancies: the attributions and leases recorded on them
    (the bilan of the attributions for these rehousings, R.441-5 I)."""
    counts: dict[str, list[int]] = {}
    for facts in scope_year.vacancies.values():
        if facts.deduction is None or facts.withdrawn:
            continue
        figures = counts.setdefault(facts.deduction, [0, 0, 0])
        figures[0] += 1
        figures[1] += facts.attributed is not None
        figures[2] += facts.leased is not None
    return [
        OwnedCheck(
            obligations.deducted_lettings(
                DEDUCTION_LABELS.get(DeductionCategory(category), category), *counts[category]
            ),
            None,
        )
        for category in DeductionCategory
        if category in counts
    ]


def late_amendment_rows(scope_year: ScopeYear, catalogue: Catalogue) -> list[OwnedCheck]:
    """The year's late amendments, with their effective and recorded dates."""
    return [
        OwnedCheck(
            obligations.late_amendment(
                item["reference"],
                item["version"],
                item["effective_from"],
                item["recorded_on"],
                item["latest_vacancy"],
                item["retargeted"],
            ),
            None,
        )
        for item in catalogue.legal.late_amendments.get(scope_year.scope, [])
    ]
