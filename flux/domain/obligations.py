"""The legal obligations a bilan annuel checks (domain.md §2 and §7), as pure functions.

Each check takes plain counts of one scope's year (one landlord in one département) and returns
``Check`` rows: passed, failed or not applicable, with the figures and a French sentence saying
why. Rates are exact fractions and every comparison is made on integers: no float.

What each check measures (our reading; the texts fix the thresholds, not the counting):
- the État's caps (R.441-5-2 I) cap its reservations: its **rights** (its targets without
  carry-in, i.e. its percentages weighted by the vacancies it was eligible for) over the year's
  **flux base** (the counted vacancies, deductions and withdrawals excluded) must stay within the
  cap, and the dwellings actually **oriented** to it (the engine's realised count) may not exceed
  the cap by more than ``CAP_TOLERANCE`` dwellings: the allocation rule follows the rights only
  within its bound (design.md §7), so 12 dwellings out of 228 (5.26 %) for a 5 % right is the
  rule's rounding, not a breach; more than the bound is the landlord's overrides;
- "the État's share applies uniformly in each commune" (R.441-5-2 II, unless the convention says
  otherwise): in each commune, the État's orientations against its target over that commune's
  vacancies; a commune passes while the gap stays within ``COMMUNE_TOLERANCE`` dwellings (the
  bound the allocation rule keeps for a share balanced per commune, design.md §7);
- the hors-QPV rule (R.441-5-2 II, unless the convention says otherwise) is ambiguous: both
  readings are checked, each failing below 30 % (the share of the État's orientations that lie
  outside QPV; the État's share of the orientations outside QPV);
- L.441-1: at least 25 % of each reserver's **attributions** (CALEOL) to DALO or *prioritaire*
  households, and of the landlord's own on non-reserved or taken-back dwellings; the État is not
  concerned (its whole contingent is for *publics prioritaires*);
- loi Égalité et Citoyenneté, per EPCI: at least 25 % of the attributions outside QPV to
  first-quartile households, at least 50 % of those in QPV to the other quartiles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from flux.domain.conventions import Derogation, format_percent

FULL = 10_000  # basis-point units per dwelling, as in flux.domain.allocation

ETAT_CAP = Fraction(30, 100)
ETAT_AGENTS_CAP = Fraction(5, 100)
ETAT_HORS_QPV_MINIMUM = Fraction(30, 100)
DALO_PRIORITAIRES_MINIMUM = Fraction(25, 100)
FIRST_QUARTILE_HORS_QPV_MINIMUM = Fraction(25, 100)
OTHER_QUARTILES_QPV_MINIMUM = Fraction(50, 100)
COMMUNE_TOLERANCE = Fraction(5, 2)  # dwellings: the bound of a share with a sub-target
GUARANTEES_PRACTICE_BP = 2_000  # the 20 % of practice on loan-guarantee rights
CAP_TOLERANCE = Fraction(5, 2)  # dwellings: the same bound, the État being spread by commune


class Status(StrEnum):
    PASSED = "passed"
    # Beyond the rule by no more than the allocation rule's bound (design.md §7): not a
    # breach the landlord chose, but not "respectée" either; the reason gives the excess.
    WITHIN_TOLERANCE = "within_tolerance"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    INFORMATION = "information"  # a figure shown for the record (a derogation, a late amendment)


STATUS_LABELS = {
    Status.PASSED: "respectée",
    Status.WITHIN_TOLERANCE: "dans la tolérance de la règle d'orientation",
    Status.FAILED: "non respectée",
    Status.NOT_APPLICABLE: "sans objet",
    Status.INFORMATION: "pour information",
}


class Code(StrEnum):
    ETAT_CAP = "etat_cap_30"
    ETAT_AGENTS_CAP = "etat_agents_cap_5"
    ETAT_UNIFORM_BY_COMMUNE = "etat_uniform_by_commune"
    ETAT_HORS_QPV_OF_ETAT = "etat_hors_qpv_of_etat"
    ETAT_HORS_QPV_OF_FLUX = "etat_hors_qpv_of_flux"
    DALO_PRIORITAIRES = "dalo_prioritaires_25"
    ACTION_LOGEMENT_DALO = "action_logement_dalo_25"
    ETAT_DEROGATION = "etat_derogation"
    GUARANTEES_20 = "guarantees_20"
    LATE_AMENDMENT = "late_amendment"
    DEDUCTED_LETTINGS = "deducted_lettings"
    FIRST_QUARTILE_HORS_QPV = "first_quartile_hors_qpv_25"
    OTHER_QUARTILES_QPV = "other_quartiles_qpv_50"


LABELS = {
    Code.ETAT_CAP: "État : au plus 30 % du flux annuel (R.441-5-2 I)",
    Code.ETAT_AGENTS_CAP: "Agents de l'État : au plus 5 % du flux annuel (R.441-5-2 I)",
    Code.ETAT_UNIFORM_BY_COMMUNE: "État : part uniforme dans chaque commune (R.441-5-2 II)",
    Code.ETAT_HORS_QPV_OF_ETAT: (
        "État hors QPV, lecture 1 : au moins 30 % des logements de l'État hors QPV (R.441-5-2 II)"
    ),
    Code.ETAT_HORS_QPV_OF_FLUX: (
        "État hors QPV, lecture 2 : au moins 30 % du flux hors QPV à l'État (R.441-5-2 II)"
    ),
    Code.DALO_PRIORITAIRES: (
        "Au moins 25 % des attributions aux ménages DALO ou prioritaires (L.441-1)"
    ),
    Code.ACTION_LOGEMENT_DALO: (
        "Action Logement : part de ses attributions aux ménages DALO (L.313-26-2)"
    ),
    Code.ETAT_DEROGATION: "Dérogation du préfet aux plafonds de l'État (R.441-5-2 I al.2)",
    Code.GUARANTEES_20: (
        "Garanties d'emprunt : au plus 20 % des droits, toutes collectivités confondues (usage)"
    ),
    Code.DEDUCTED_LETTINGS: (
        "Logements soustraits du flux : attributions et baux de ces relogements (R.441-5 I)"
    ),
    Code.LATE_AMENDMENT: "Avenant saisi après des libérations qu'il concerne (avenant tardif)",
    Code.FIRST_QUARTILE_HORS_QPV: (
        "Hors QPV : attributions suivies d'un bail au premier quartile ou à des relogés "
        "ANRU/ORCOD, au moins 25 % ou le taux de l'EPCI (L.441-1)"
    ),
    Code.OTHER_QUARTILES_QPV: (
        "En QPV : attributions suivies d'un bail aux autres quartiles, au moins 50 % ou le taux "
        "de l'EPCI (L.441-1)"
    ),
}


@dataclass(frozen=True)
class Check:
    """One obligation checked on one scope (the landlord, a commune, an EPCI, a reserver)."""

    code: Code
    scope: str  # French: what the figures cover ("bailleur", "commune 31555 Toulouse"…)
    status: Status
    reason: str  # French: why it passed, failed or does not apply, with the figures
    numerator: int | None = None
    denominator: int | None = None
    threshold: Fraction | None = None
    target_units: int | None = None  # État per commune: its target there (basis-point units)
    gap_units: int | None = None  # État per commune: FULL·realised − target

    @property
    def label(self) -> str:
        return LABELS[self.code]

    @property
    def rate(self) -> Fraction | None:
        """numerator / denominator, None when there is nothing to divide by."""
        if self.numerator is None or not self.denominator:
            return None
        return Fraction(self.numerator, self.denominator)


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EtatFigures:
    """A scope's year as the État's checks see it."""

    flux: int  # counted vacancies of the year (the base), withdrawn ones excluded
    etat: int  # of which oriented to the État's shares (held by them at the report's date)
    agents: int  # of which to its share for State agents
    rights_units: int  # the État's targets without carry-in (basis-point units)
    agents_rights_units: int
    flux_hors_qpv: int = 0  # counted vacancies outside QPV
    etat_hors_qpv: int = 0  # of which oriented to the État
    rights_hors_qpv_units: int = 0  # the État's rights over the hors-QPV vacancies
    cap: Fraction = ETAT_CAP  # lifted by a préfet's derogation covering the year
    agents_cap: Fraction = ETAT_AGENTS_CAP


@dataclass(frozen=True)
class CommuneFigures:
    """The État in one commune: its target over the commune's vacancies and what it got."""

    code: str
    name: str
    flux: int
    target_units: int
    realised: int


@dataclass(frozen=True)
class AttributionGroup:
    """A reserver's attributions (or the landlord's own) for the L.441-1 25 % rule."""

    name: str  # "Action Logement Services", "Bailleur (non réservé ou repris)"
    attributions: int
    dalo_or_prioritaire: int
    is_etat: bool = False
    # L.441-1 names the collectivités, their groupements and Action Logement (and the
    # landlord); employers, non-profit bodies and other reservers are not bound.
    bound: bool = True
    dalo: int = 0


@dataclass(frozen=True)
class EpciAttributions:
    """Attributions followed by a signed lease on one EPCI's dwellings, split in and out of
    QPV, by income quartile (L.441-1): only EPCIs subject to the attribution reform.

    Outside QPV the numerator counts first-quartile households and households rehoused by an
    ANRU/NPNRU or ORCOD operation; the denominators include internal transfers (mutations).
    """

    code: str | None  # SIREN
    name: str
    hors_qpv: int
    hors_qpv_first_quartile: int  # first quartile, or rehoused (ANRU/NPNRU, ORCOD)
    qpv: int
    qpv_other_quartiles: int
    first_quartile_minimum: Fraction = Fraction(25, 100)  # the EPCI's rate, default 25 %
    other_quartiles_minimum: Fraction = Fraction(50, 100)  # default 50 %
    rehoused: int = 0  # of the numerator outside QPV, rehoused households (shown apart)
    arrete_years: tuple[int, ...] = ()  # the ministerial arrêtés the quartile flags refer to


# --- the checks -----------------------------------------------------------------------------


def etat_caps(figures: EtatFigures, has_etat: bool) -> list[Check]:
    """État ≤ 30 % of the flux and its agents ≤ 5 % (R.441-5-2 I), on the year's orientations."""
    return [
        _cap(
            Code.ETAT_CAP,
            figures.etat,
            figures.flux,
            figures.cap,
            figures.rights_units,
            has_etat,
            "l'État",
        ),
        _cap(
            Code.ETAT_AGENTS_CAP,
            figures.agents,
            figures.flux,
            figures.agents_cap,
            figures.agents_rights_units,
            has_etat,
            "les agents de l'État",
        ),
    ]


def _cap(
    code: Code,
    part: int,
    flux: int,
    cap: Fraction,
    rights_units: int,
    has_etat: bool,
    who: str,
) -> Check:
    scope = "bailleur"
    if not has_etat:
        return _not_applicable(code, scope, "Aucune convention de l'État dans ce périmètre.")
    if flux == 0:
        return _not_applicable(code, scope, "Aucun logement dans le flux de l'année.", part, flux)
    rate = Fraction(part, flux)
    rights = Fraction(rights_units, FULL * flux)
    excess = part - cap * flux  # dwellings oriented beyond the cap
    if rights > cap:
        status, why = Status.FAILED, f"droits au-delà du plafond de {_pc(cap)}"
    elif excess > CAP_TOLERANCE:
        status = Status.FAILED
        why = (
            f"{_dw(excess)} logement(s) au-delà du plafond de {_pc(cap)}, plus que la "
            f"tolérance de {_dw(CAP_TOLERANCE)} de la règle d'orientation"
        )
    elif excess > 0:
        status = Status.WITHIN_TOLERANCE
        why = (
            f"{_dw(excess)} logement(s) au-delà du plafond de {_pc(cap)}, dans la tolérance de "
            f"{_dw(CAP_TOLERANCE)} de la règle d'orientation"
        )
    else:
        status, why = Status.PASSED, f"plafond de {_pc(cap)} respecté"
    reason = (
        f"{_count(part)} orienté(s) vers {who} sur un flux de {flux} ({_pc(rate)}), pour des "
        f"droits de {_pc(rights)} : {why}."
    )
    return Check(code, scope, status, reason, part, flux, cap)


def etat_uniform_by_commune(
    communes: Sequence[CommuneFigures], applies: bool | None
) -> list[Check]:
    """The État's share in each commune (R.441-5-2 II): a summary row, then one per commune.

    ``applies``: None when the scope has no État convention, False when it stipulates otherwise.
    """
    code, scope = Code.ETAT_UNIFORM_BY_COMMUNE, "bailleur"
    if applies is None:
        return [_not_applicable(code, scope, "Aucune convention de l'État dans ce périmètre.")]
    if not applies:
        return [
            _not_applicable(
                code,
                scope,
                "La convention de l'État stipule que sa part ne s'applique pas uniformément "
                "dans chaque commune (« sauf stipulation contraire »).",
            )
        ]
    rows = [_commune(commune) for commune in communes if commune.flux]
    if not rows:
        return [_not_applicable(code, scope, "Aucun logement dans le flux de l'année.")]
    failed = [row for row in rows if row.status is Status.FAILED]
    reason = (
        f"Écart de l'État à son objectif au plus {_dw(COMMUNE_TOLERANCE)} logement(s) dans "
        f"chacune des {len(rows)} commune(s)."
        if not failed
        else f"Écart de l'État à son objectif supérieur à {_dw(COMMUNE_TOLERANCE)} logement(s) "
        f"dans {len(failed)} commune(s) sur {len(rows)} : "
        + ", ".join(row.scope.removeprefix("commune ") for row in failed)
        + "."
    )
    tolerated = [row for row in rows if row.status is Status.WITHIN_TOLERANCE]
    if not failed and tolerated:
        reason = (
            f"Écart de l'État à son objectif d'un logement ou plus, dans la tolérance de "
            f"{_dw(COMMUNE_TOLERANCE)} de la règle d'orientation, dans {len(tolerated)} "
            f"commune(s) sur {len(rows)} : "
            + ", ".join(row.scope.removeprefix("commune ") for row in tolerated)
            + "."
        )
    summary = Check(
        code,
        scope,
        Status.FAILED if failed else Status.WITHIN_TOLERANCE if tolerated else Status.PASSED,
        reason,
        len(rows) - len(failed),
        len(rows),
        target_units=sum(c.target_units for c in communes if c.flux),
        gap_units=sum(row.gap_units or 0 for row in rows),
    )
    return [summary, *rows]


def _commune(commune: CommuneFigures) -> Check:
    gap_units = FULL * commune.realised - commune.target_units
    gap = abs(Fraction(gap_units, FULL))
    target = Fraction(commune.target_units, FULL)
    # Under one dwelling the count is as close to the target as whole dwellings allow.
    if gap < 1:
        status, tail = Status.PASSED, ", moins d'un logement : part uniforme respectée."
    elif gap <= COMMUNE_TOLERANCE:
        status = Status.WITHIN_TOLERANCE
        tail = f", dans la tolérance de {_dw(COMMUNE_TOLERANCE)} de la règle d'orientation."
    else:
        status, tail = Status.FAILED, f", au-delà de la tolérance de {_dw(COMMUNE_TOLERANCE)}."
    reason = (
        f"{_count(commune.realised)} à l'État sur {commune.flux} dans la commune, pour un "
        f"objectif de {_dw(target)} : écart de {_dw(Fraction(gap_units, FULL), signed=True)}" + tail
    )
    return Check(
        Code.ETAT_UNIFORM_BY_COMMUNE,
        f"commune {commune.code} {commune.name}".strip(),
        status,
        reason,
        commune.realised,
        commune.flux,
        Fraction(commune.target_units, FULL * commune.flux),
        commune.target_units,
        gap_units,
    )


def etat_hors_qpv(figures: EtatFigures, applies: bool | None) -> list[Check]:
    """The hors-QPV rule (R.441-5-2 II) under both readings, with the allocation rule's
    tolerance (``CAP_TOLERANCE`` dwellings short of the expected count).

    Reading 1: at least 30 % of the État's orientations lie outside QPV. Reading 2: the État
    gets its own rate of the flux outside QPV (its rights over the hors-QPV vacancies): a flat
    30 % would fail every État convention below 30 %, which the text cannot mean.
    ``applies`` as for ``etat_uniform_by_commune``.
    """
    scope = "bailleur"
    checks = []
    for code in (Code.ETAT_HORS_QPV_OF_ETAT, Code.ETAT_HORS_QPV_OF_FLUX):
        of_etat = code is Code.ETAT_HORS_QPV_OF_ETAT
        denominator = figures.etat if of_etat else figures.flux_hors_qpv
        if applies is None:
            checks.append(
                _not_applicable(code, scope, "Aucune convention de l'État dans ce périmètre.")
            )
        elif not applies:
            checks.append(
                _not_applicable(
                    code,
                    scope,
                    "La convention de l'État écarte la règle des 30 % hors QPV "
                    "(« sauf stipulation contraire »).",
                )
            )
        elif denominator == 0:
            nothing = (
                "Aucun logement orienté vers l'État dans l'année."
                if of_etat
                else "Aucun logement hors QPV dans le flux de l'année."
            )
            checks.append(_not_applicable(code, scope, nothing, figures.etat_hors_qpv, 0))
        else:
            minimum = (
                ETAT_HORS_QPV_MINIMUM
                if of_etat
                else Fraction(figures.rights_hors_qpv_units, FULL * denominator)
            )
            of_what = "des logements orientés vers l'État" if of_etat else "du flux hors QPV"
            checks.append(
                _tolerated_minimum(
                    code, scope, figures.etat_hors_qpv, denominator, minimum, of_what
                )
            )
    return checks


def _tolerated_minimum(
    code: Code, scope: str, part: int, total: int, minimum: Fraction, of_what: str
) -> Check:
    rate = Fraction(part, total)
    shortfall = minimum * total - part  # dwellings missing to reach the minimum
    head = (
        f"{part} logement(s) de l'État hors QPV sur {total} ({_pc(rate)} {of_what}), pour un "
        f"minimum de {_pc(minimum)}"
    )
    if shortfall <= 0:
        status, tail = Status.PASSED, " : atteint."
    elif shortfall <= CAP_TOLERANCE:
        status = Status.WITHIN_TOLERANCE
        tail = (
            f" : {_dw(shortfall)} logement(s) en dessous, dans la tolérance de "
            f"{_dw(CAP_TOLERANCE)} de la règle d'orientation."
        )
    else:
        status = Status.FAILED
        tail = (
            f" : {_dw(shortfall)} logement(s) en dessous, au-delà de la tolérance de "
            f"{_dw(CAP_TOLERANCE)}."
        )
    return Check(code, scope, status, head + tail, part, total, minimum)


def dalo_prioritaires(group: AttributionGroup) -> Check:
    """At least 25 % of the attributions of the collectivités, their groupements and Action
    Logement, and of the landlord's own on non-reserved or taken-back dwellings, to DALO or
    prioritaire households (L.441-1); the État's contingent and the reservers the article does
    not name (employers, non-profit bodies, others) are not concerned."""
    code, scope = Code.DALO_PRIORITAIRES, group.name
    if group.is_etat:
        return _not_applicable(
            code,
            scope,
            "Le contingent de l'État est entièrement destiné aux publics prioritaires : la règle "
            "des 25 % vise les autres réservataires et le bailleur.",
            group.dalo_or_prioritaire,
            group.attributions,
        )
    if not group.bound:
        return _not_applicable(
            code,
            scope,
            "L'article L.441-1 vise les collectivités territoriales, leurs groupements, Action "
            "Logement et le bailleur : ce réservataire n'est pas soumis à la règle des 25 %.",
            group.dalo_or_prioritaire,
            group.attributions,
        )
    if group.attributions == 0:
        return _not_applicable(code, scope, "Aucune attribution dans l'année.", 0, 0)
    return _minimum(
        code,
        scope,
        group.dalo_or_prioritaire,
        group.attributions,
        DALO_PRIORITAIRES_MINIMUM,
        "des attributions",
        "attribution(s) à des ménages DALO ou prioritaires",
    )


def action_logement_dalo(group: AttributionGroup) -> Check:
    """Action Logement's DALO-only share of its attributions, shown apart for the record: the
    loi MOLLE's quarter for DALO households (L.313-26-2) is not read in the text yet (legal
    review H3, unconfirmed), so the figure is information, not a verdict."""
    code, scope = Code.ACTION_LOGEMENT_DALO, group.name
    if group.attributions == 0:
        return _not_applicable(code, scope, "Aucune attribution dans l'année.", 0, 0)
    rate = Fraction(group.dalo, group.attributions)
    return Check(
        code,
        scope,
        Status.INFORMATION,
        f"{group.dalo} attribution(s) à des ménages DALO sur {group.attributions} "
        f"({_pc(rate)}), à rapprocher du quart d'attributions DALO attendu d'Action Logement "
        "(L.313-26-2, texte à confirmer) ; les prioritaires comptent dans la ligne des 25 %.",
        group.dalo,
        group.attributions,
        DALO_PRIORITAIRES_MINIMUM,
    )


def quartiles(epci: EpciAttributions) -> list[Check]:
    """Per EPCI subject to the reform: at least its rate (default 25 %) of the attributions
    followed by a signed lease outside QPV to first-quartile or rehoused households, and at
    least its rate (default 50 %) of those in QPV to the other quartiles (L.441-1)."""
    scope = f"EPCI {epci.code} {epci.name}" if epci.code else epci.name
    arretes = (
        " Premier quartile au sens de l'arrêté ministériel de "
        + ", ".join(str(year) for year in epci.arrete_years)
        + "."
        if epci.arrete_years
        else ""
    )
    rehoused = f" Dont {epci.rehoused} relogement(s) ANRU/NPNRU ou ORCOD." if epci.rehoused else ""
    checks = []
    for code, part, total, minimum, what, where, extra in (
        (
            Code.FIRST_QUARTILE_HORS_QPV,
            epci.hors_qpv_first_quartile,
            epci.hors_qpv,
            epci.first_quartile_minimum,
            "bail(s) hors QPV au premier quartile ou à des relogés",
            "hors QPV",
            rehoused + arretes,
        ),
        (
            Code.OTHER_QUARTILES_QPV,
            epci.qpv_other_quartiles,
            epci.qpv,
            epci.other_quartiles_minimum,
            "bail(s) en QPV aux autres quartiles",
            "en QPV",
            arretes,
        ),
    ):
        if total == 0:
            checks.append(
                _not_applicable(
                    code, scope, f"Aucune attribution suivie d'un bail {where} dans l'année.", 0, 0
                )
            )
            continue
        check = _minimum(code, scope, part, total, minimum, f"des baux signés {where}", what)
        if extra:
            check = Check(
                check.code,
                check.scope,
                check.status,
                check.reason + extra,
                check.numerator,
                check.denominator,
                check.threshold,
            )
        checks.append(check)
    return checks


def etat_derogation(derogation: Derogation, year: int) -> Check:
    """A préfet's arrêté lifting the État's caps during the year, shown for the record."""
    caps = (
        f"plafonds portés à {format_percent(derogation.etat_cap_bp).replace('.', ',')} % "
        f"dont {format_percent(derogation.agents_cap_bp).replace('.', ',')} % pour les agents"
    )
    return Check(
        Code.ETAT_DEROGATION,
        "bailleur",
        Status.INFORMATION,
        f"Arrêté « {derogation.reference} » du {derogation.starts_on:%d/%m/%Y} au "
        f"{derogation.ends_on:%d/%m/%Y} : {caps} (R.441-5-2 I al.2, au plus un an) ; les "
        f"contrôles des plafonds de {year} en tiennent compte.",
        threshold=Fraction(derogation.etat_cap_bp, FULL),
    )


def late_amendment(
    reference: str,
    version: int,
    effective_from: date,
    recorded_on: date,
    latest_vacancy: str | None,
    retargeted: int,
) -> Check:
    """An amendment keyed after vacancies it reaches back over, for the record: decisions
    already taken stayed, targets follow the new terms from its effective date."""
    return Check(
        Code.LATE_AMENDMENT,
        f"convention {reference}",
        Status.INFORMATION,
        f"Version {version} de la convention {reference}, en vigueur le "
        f"{effective_from:%d/%m/%Y}, enregistrée le {recorded_on:%d/%m/%Y}"
        + (
            f" alors que des libérations étaient enregistrées jusqu'au "
            f"{date.fromisoformat(latest_vacancy):%d/%m/%Y}"
            if latest_vacancy
            else ""
        )
        + f" : les orientations déjà décidées sont restées, les objectifs de {retargeted} "
        "libération(s) ont été recalculés aux nouveaux termes et les suivantes rattrapent "
        "l'écart.",
        numerator=retargeted,
    )


def deducted_lettings(category: str, vacancies: int, attributions: int, leases: int) -> Check:
    """The bilan of the attributions made for the rehousings (and mutations) deducted from the
    flux (R.441-5 I), for the record: vacancies, attributions, signed leases."""
    return Check(
        Code.DEDUCTED_LETTINGS,
        category,
        Status.INFORMATION,
        f"{vacancies} logement(s) soustrait(s) du flux ({category}) : {attributions} "
        f"attribution(s) en CALEOL, {leases} bail(baux) signé(s).",
        attributions,
        vacancies,
    )


def guarantees(total_bp: int, commune: str) -> Check:
    """The rights granted for loan guarantees, every guarantor together, against the 20 % of
    practice (old R*441-5): a warning the prefecture sees, not a legal breach."""
    limit = Fraction(20, 100)
    rate = Fraction(total_bp, FULL)
    above = rate > limit
    return Check(
        Code.GUARANTEES_20,
        f"commune {commune}",
        Status.FAILED if above else Status.PASSED,
        f"Droits accordés en contrepartie de garanties d'emprunt, toutes collectivités "
        f"confondues : {_pc(rate)} du flux de la commune, "
        + (
            f"au-delà des {_pc(limit)} de l'usage (avertissement, la convention reste valable)."
            if above
            else f"dans les {_pc(limit)} de l'usage."
        ),
        threshold=limit,
    )


# --- helpers --------------------------------------------------------------------------------


def _minimum(
    code: Code,
    scope: str,
    part: int,
    total: int,
    minimum: Fraction,
    of_what: str,
    what: str,
) -> Check:
    rate = Fraction(part, total)
    passed = rate >= minimum
    reason = f"{part} {what} sur {total} ({_pc(rate)} {of_what}) : minimum de {_pc(minimum)} " + (
        "atteint." if passed else "non atteint."
    )
    return Check(
        code, scope, Status.PASSED if passed else Status.FAILED, reason, part, total, minimum
    )


def _not_applicable(
    code: Code,
    scope: str,
    reason: str,
    numerator: int | None = None,
    denominator: int | None = None,
) -> Check:
    return Check(code, scope, Status.NOT_APPLICABLE, reason, numerator, denominator)


def _count(n: int) -> str:
    return f"{n} logement(s)"


def _pc(rate: Fraction) -> str:
    """A rate in French: Fraction(1, 3) -> "33,33 %"."""
    value = (Decimal(rate.numerator) * 100 / Decimal(rate.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return f"{value:.2f}".replace(".", ",") + " %"


def _dw(value: Fraction, signed: bool = False) -> str:
    """Dwellings in French, two decimals: Fraction(5, 2) -> "2,50"."""
    number = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    text = f"{number:+.2f}" if signed else f"{number:.2f}"
    return text.replace(".", ",")


def bilan_recipients(
    landlord_communes: dict[tuple[int, str], frozenset[str]],
    epci_of_commune: dict[str, str],
    epci_organisations: dict[str, int],
    reform_epcis: frozenset[str],
) -> set[tuple[int, str, int]]:
    """Who receives a landlord's bilan besides its reservers (R.441-5-1 al.2; DRIHL: "chacun
    des réservataires et des EPCI soumis à la réforme des attributions (EPCI dits LEC et
    EPT)"): each EPCI or EPT subject to the reform in the year, represented by an organisation,
    receives the bilan of every landlord with dwellings on its territory.

    ``landlord_communes``: (landlord, département) -> the communes of its dwellings there;
    ``epci_organisations``: EPCI/EPT SIREN -> the organisation that represents it. Returns
    (landlord, département, organisation) triples, the bilan campaign's pairs to add.
    """
    recipients = set()
    for (landlord, departement), communes in landlord_communes.items():
        for commune in communes:
            epci = epci_of_commune.get(commune)
            if epci in reform_epcis and epci in epci_organisations:
                recipients.add((landlord, departement, epci_organisations[epci]))
    return recipients
