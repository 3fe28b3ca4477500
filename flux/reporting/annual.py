"""The bilan annuel (domain.md §7) as a ``Report``: five parts built once from the facts of each
scope's year, then rendered four ways (``flux.reporting.render``).

Definitions (the README's "Bilan annuel" says the same in French):
- **proposed**: the vacancies of the year put at the share's disposal, by their orientation or a
  re-orientation (override) to it; a vacancy re-oriented counts once for each share that received
  it. Withdrawn vacancies are counted nowhere (they left the base), deducted ones are never
  proposed;
- **taken back, counted / not counted**: of those, the vacancies the landlord took back from the
  share (carence, take-back after a CALEOL refusal), split by the convention's policy;
- **attributed** / **leases**: the vacancies with a live CALEOL attribution / signed lease (not
  reversed by a correction), counted for the share that held the vacancy then;
- **realised**: the allocation engine's counted orientations; **counted**: the realised per the
  convention's counting event (orientation by default, attribution or lease); **gap** = counted −
  target, the gap the carry-over compensates;
- **carry-out**: once the year is closed, the carry-over entries its close wrote into N+1
  (final); before, what closing it now would write (provisional);
- **overrides**: the landlord's decisions differing from the proposal (an orientation other than
  the proposed share, or a later re-orientation), counted both for the share that received the
  vacancy and for the share that lost it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flux.domain import allocation
from flux.domain.allocation import FULL, LANDLORD, ShareRef
from flux.domain.obligations import Status
from flux.domain.reference import DeductionCategory
from flux.reporting import checks as scope_checks
from flux.reporting import late_entries
from flux.reporting.catalogue import LANDLORD_PART, Catalogue
from flux.reporting.facts import ScopeYear
from flux.reporting.frames import dwellings, part, percent
from flux.reporting.model import Column, Report, ReportMeta
from flux.services.allocation_book import Scope

LANDLORD_RESERVER = "Bailleur (part non réservée)"
COUNTING_EVENTS = {"orientation": "orientation", "attribution": "attribution", "lease": "bail"}
DEDUCTIONS = {
    DeductionCategory.INTERNAL_TRANSFER: "Mutations internes",
    DeductionCategory.URBAN_RENEWAL: "Relogements ANRU / NPNRU",
    DeductionCategory.DEGRADED_CONDO: "Relogements ORCOD (copropriétés dégradées)",
    DeductionCategory.UNFIT_HOUSING: "Relogements habitat indigne (L.521-3-1 à L.521-3-3)",
    DeductionCategory.SALE: "Relogements liés à la vente de logements sociaux",
}
# Construction periods of the breakdown: (first year after the period, label).
PERIODS = (
    (1949, "avant 1949"),
    (1975, "1949 à 1974"),
    (1990, "1975 à 1989"),
    (2005, "1990 à 2004"),
    (2015, "2005 à 2014"),
)
UNKNOWN = "inconnue"
# The report's parts, in order (the API's part= parameter).
PART_KEYS = (
    "key_figures",
    "synthesis",
    "shares",
    "breakdown",
    "breakdown_summary",
    "deductions",
    "checks",
    "late_entries",
    "share_periods",
)


EVERY_RESERVER_VIEW = -1  # the cache's view id of the rows every reserver's bilan shows alike


@dataclass(frozen=True)
class View:
    """What of the scopes' figures the report shows: everything (``reserver_id`` None), or one
    reserver's bilan. A reserver's bilan never shows the landlord's own part (its shares, rows
    of the breakdown, checks and late entries); of the reservers' rows it shows:
    - ``every_reserver``: those of every reserver of the landlord (R.441-5-1 sends each of them
      the bilan "par réservataire"; the setting ``BILAN_EVERY_RESERVER``, and always for an
      EPCI or EPT that receives the landlord's bilan as such (R.441-5-1), whether or not it is
      also one of the landlord's reservers);
    - otherwise its own only.
    """

    reserver_id: int | None = None
    every_reserver: bool = False

    def shows(self, reserver_id: int | None) -> bool:
        """Whether a row of this reserver (None: the landlord's own) is in the view."""
        if self.reserver_id is None:
            return True
        if self.every_reserver:
            return reserver_id is not None
        return reserver_id == self.reserver_id

    @property
    def cache_id(self) -> int | None:
        """The view's id among the kept rows (``flux.reporting.cache``): None for every row,
        the reserver's id for its own rows, ``EVERY_RESERVER_VIEW`` for every reserver's rows
        (the same for each reserver): rows made for one value of the setting are never read
        for the other."""
        if self.reserver_id is None:
            return None
        return EVERY_RESERVER_VIEW if self.every_reserver else self.reserver_id


def construction_period(year: int | None) -> str:
    if year is None:
        return UNKNOWN
    return next((label for bound, label in PERIODS if year < bound), "2015 et après")


@dataclass
class ScopeRows:
    """One scope's year turned into report rows for one view: what a closed year's cache keeps
    (``flux.reporting.cache``), so that a bilan already made is not read again from the journal.
    The deductions' forecasts are not in it (they are read at each edition)."""

    scope: Scope
    closed: bool
    flux: int  # distinct vacancies counted in the year's base
    shares: list[tuple[Any, ...]]
    breakdown: dict[tuple[Any, ...], list[int]]
    deducted: dict[str, int]  # category value -> vacancies deducted
    checks: list[tuple[Any, ...]]
    late: list[tuple[Any, ...]]
    periods: list[tuple[Any, ...]]


def scope_rows(scope_year: ScopeYear, catalogue: Catalogue, view: View) -> ScopeRows:
    """The rows of one scope's year, as ``view`` shows them."""
    landlord_id = scope_year.scope.landlord_id
    deducted = Counter(
        vacancy.deduction
        for vacancy in scope_year.vacancies.values()
        if vacancy.deduction is not None and not vacancy.withdrawn
    )
    breakdown: dict[tuple[Any, ...], list[int]] = {}
    _count_breakdown(breakdown, scope_year, catalogue, view)
    return ScopeRows(
        scope=scope_year.scope,
        closed=scope_year.closed,
        flux=sum(1 for vacancy in scope_year.vacancies.values() if vacancy.in_flux),
        shares=_share_rows(scope_year, catalogue, view),
        breakdown=breakdown,
        deducted=dict(deducted),
        checks=[
            (*row, landlord_id) for row in scope_checks.rows(scope_year, catalogue, view.shows)
        ],
        late=late_entries.rows(scope_year, catalogue, view.shows),
        periods=_period_rows(scope_year.scope, catalogue, view),
    )


def build(
    meta: ReportMeta,
    scopes: Iterable[ScopeRows],
    catalogue: Catalogue,
    forecasts: dict[Scope, dict[str, int]],
) -> Report:
    """The report's parts, in the contract's order, from each scope's rows in turn (each read
    once, then dropped: a national report never holds every vacancy of the country at once).
    ``meta.closed`` is set here: whether every scope's year is closed."""
    shares: list[tuple[Any, ...]] = []
    breakdown: dict[tuple[Any, ...], list[int]] = {}  # dimensions -> [proposed, attributed]
    deductions: list[tuple[Any, ...]] = []
    checks: list[tuple[Any, ...]] = []
    late: list[tuple[Any, ...]] = []
    periods: list[tuple[Any, ...]] = []
    closed = []
    flux = 0
    for rows in scopes:
        shares += rows.shares
        for key, (proposed, attributed) in rows.breakdown.items():
            figures = breakdown.get(key) or breakdown.setdefault(key, [0, 0])
            figures[0] += proposed
            figures[1] += attributed
        deductions += _deduction_rows(rows, catalogue, forecasts)
        checks += rows.checks
        late += rows.late
        periods += rows.periods
        closed.append(rows.closed)
        flux += rows.flux
    landlords = len({row[-7] for row in shares})  # landlord_id (SHARE_COLUMNS)
    return Report(
        dataclasses.replace(meta, closed=bool(closed) and all(closed)),
        (
            part(
                "key_figures",
                "Chiffres clés",
                KEY_FIGURE_COLUMNS,
                _key_figures(flux, landlords, shares, deductions, checks),
                note=KEY_FIGURES_NOTE,
            ),
            part(
                "synthesis",
                "Objectif et réalisé par réservataire",
                SYNTHESIS_COLUMNS,
                _synthesis_rows(shares),
                total=True,
                note=SYNTHESIS_NOTE,
                total_values={"landlords": landlords},
            ),
            part(
                "shares",
                "Droits par part",
                SHARE_COLUMNS,
                shares,
                total=True,
                note=SHARES_NOTE,
                total_values={"eligible": flux},
            ),
            part(
                "breakdown",
                "Répartition des logements",
                BREAKDOWN_COLUMNS,
                [(*key[:9], *counts, *key[9:]) for key, counts in _sorted(breakdown)],
                total=True,
                note=BREAKDOWN_NOTE,
                detail=True,
            ),
            part(
                "breakdown_summary",
                "Répartition par dimension",
                SUMMARY_COLUMNS,
                _summary_rows(breakdown),
                note=SUMMARY_NOTE,
            ),
            part(
                "deductions",
                "Logements soustraits du flux",
                DEDUCTION_COLUMNS,
                deductions,
                total=True,
                note=DEDUCTIONS_NOTE,
            ),
            part(
                "checks",
                "Contrôle des obligations",
                CHECK_COLUMNS,
                checks,
                note=scope_checks.NOTE,
            ),
            part(
                "late_entries",
                "Écritures tardives",
                late_entries.COLUMNS,
                late,
                note=late_entries.NOTE,
            ),
            part(
                "share_periods",
                "Pourcentages des droits",
                PERIOD_COLUMNS,
                periods,
                note=PERIODS_NOTE,
            ),
        ),
    )


# --- 0. the synthesis ---------------------------------------------------------------------------

KEY_FIGURE_COLUMNS = (
    Column("figure", "Code", "text", True),
    Column("label", "Chiffre"),
    Column("value", "Valeur", "integer"),
)
KEY_FIGURES_NOTE = (
    "Le flux est le nombre de logements libérés dans l'année et comptés dans l'assiette "
    "(ni soustraits, ni retirés), chacun compté une fois. Une obligation « dans la tolérance » "
    "est respectée grâce à la tolérance de la règle d'orientation."
)


def within_tolerance(status: str) -> bool:
    """A check met only within the allocation rule's tolerance, by its own status alone: the
    reason is a sentence for people (a passed check may mention the tolerance it did not need,
    a check within tolerance may word it otherwise)."""
    return status == Status.WITHIN_TOLERANCE.value


def _key_figures(
    flux: int,
    landlords: int,
    shares: list[tuple[Any, ...]],
    deductions: list[tuple[Any, ...]],
    checks: list[tuple[Any, ...]],
) -> list[tuple[Any, ...]]:
    keys = [column.key for column in CHECK_COLUMNS]
    status = keys.index("status")
    failed = sum(1 for row in checks if row[status] == "failed")
    tolerance = sum(1 for row in checks if within_tolerance(row[status]))
    forecasts = [row[4] for row in deductions if row[4] is not None]
    share_keys = [column.key for column in SHARE_COLUMNS]
    proposed, attributed = share_keys.index("proposed"), share_keys.index("attributed")
    return [
        ("flux", "Flux de l'année : logements comptés, chacun une fois", flux),
        ("deducted", "Logements soustraits du flux", sum(row[3] for row in deductions)),
        (
            "deduction_forecast",
            "Logements soustraits prévus (prévisions déclarées)",
            sum(forecasts) if forecasts else None,
        ),
        (
            "proposed",
            "Mises à disposition (orientations et réorientations)",
            sum(row[proposed] for row in shares),
        ),
        ("attributed", "Logements attribués", sum(row[attributed] for row in shares)),
        ("landlords", "Bailleurs", landlords),
        ("checks_failed", "Obligations non respectées", failed),
        ("checks_tolerance", "Obligations respectées dans la tolérance seulement", tolerance),
    ]


SYNTHESIS_COLUMNS = (
    Column("reserver", "Réservataire"),
    Column("share", "Droit"),
    Column("landlords", "Bailleurs", "integer"),
    Column("target", "Objectif (report compris)", "dwellings"),
    Column("counted", "Réalisé compté", "integer"),
    Column("gap", "Écart", "dwellings"),
    Column("carry_out", "Report sur l'année suivante", "dwellings"),
)
SYNTHESIS_NOTE = (
    "Les droits de l'annexe « Droits par part », additionnés par réservataire et intitulé de "
    "droit, tous bailleurs du bilan confondus. Écart = réalisé compté − objectif : négatif, le "
    "réservataire a reçu moins que son dû, reporté sur l'année suivante."
)


def _synthesis_rows(shares: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    keys = [column.key for column in SHARE_COLUMNS]
    at = {key: keys.index(key) for key in keys}
    sums: dict[tuple[str, str], list[Any]] = {}
    landlords: dict[tuple[str, str], set[int]] = {}
    for row in shares:
        key = (row[at["reserver"]] or "", row[at["share"]] or "")
        figures = sums.setdefault(key, [dwellings(0), 0, dwellings(0), dwellings(0)])
        figures[0] += row[at["target"]]
        figures[1] += row[at["counted"]]
        figures[2] += row[at["gap"]]
        figures[3] += row[at["carry_out"]]
        landlords.setdefault(key, set()).add(row[at["landlord_id"]])
    # The landlord part last, as in the shares.
    order = sorted(sums, key=lambda key: (key[0] == LANDLORD_RESERVER, key))
    return [(*key, len(landlords[key]), *sums[key]) for key in order]


# The checks' columns (flux/reporting/checks.py), with the landlord's id for programs.
CHECK_COLUMNS = (*scope_checks.COLUMNS, Column("landlord_id", "Id bailleur", "integer", True))
# Check columns that are codes, not French: kept for programs, never printed.
MACHINE_KEYS = frozenset({"code", "status"})


def _sorted(breakdown: dict[tuple[Any, ...], list[int]]) -> list[tuple[Any, list[int]]]:
    """By the dimensions' labels, then the ids (the landlord part's reserver id is None):
    tuples compared natively, a key function only when two rows share every label."""
    try:
        return sorted(breakdown.items())
    except TypeError:  # two reservers of one name, one of them the landlord part (None)
        return sorted(breakdown.items(), key=lambda item: (item[0][:10], item[0][10] or 0))


def _where(catalogue: Catalogue, scope: Scope) -> tuple[str, str]:
    return catalogue.organisations.get(scope.landlord_id, str(scope.landlord_id)), scope.departement


# --- 1. shares --------------------------------------------------------------------------------

SHARE_COLUMNS = (
    Column("landlord", "Bailleur"),
    Column("departement", "Département"),
    Column("reserver", "Réservataire"),
    Column("convention", "Convention"),
    Column("share", "Droit"),
    Column("percent", "Pourcentage", "percent"),
    Column("eligible", "Libérations éligibles", "integer"),
    Column("carry_in", "Report reçu", "dwellings"),
    Column("target", "Objectif (report compris)", "dwellings"),
    Column("proposed", "Proposés", "integer"),
    Column("taken_back_counted", "dont repris, comptés", "integer"),
    Column("taken_back_not_counted", "dont repris, non comptés", "integer"),
    Column("attributed", "Attribués", "integer"),
    Column("leases", "Baux signés", "integer"),
    Column("realised", "Réalisé (orientations)", "integer"),
    Column("counting_event", "Fait générateur"),
    Column("counted", "Réalisé compté", "integer"),
    Column("gap", "Écart", "dwellings"),
    Column("carry_out", "Report sur l'année suivante", "dwellings"),
    Column("carry_out_status", "Report"),
    Column("overrides_received", "Dérogations reçues", "integer"),
    Column("overrides_lost", "Dérogations perdues", "integer"),
    Column("landlord_id", "Id bailleur", "integer", True),
    Column("landlord_code", "Code bailleur", "text", True),
    Column("reserver_id", "Id réservataire", "integer", True),
    Column("reserver_code", "Code réservataire", "text", True),
    Column("convention_id", "Id convention", "integer", True),
    Column("share_id", "Id droit", "integer", True),
    Column("counting_event_code", "Code du fait générateur", "text", True),
)
SHARES_NOTE = (
    "Proposés : logements mis à disposition de la part (orientation ou réorientation) ; "
    "attribués et baux : comptés pour la part qui détenait alors le logement. Réalisé : "
    "orientations comptées par le moteur ; réalisé compté : selon le fait générateur de la "
    "convention. Écart = réalisé compté − objectif. Report : inscrit au journal à la clôture "
    "(définitif), sinon projeté (provisoire). Dérogations : choix du bailleur différents de la "
    "proposition, comptés pour la part qui reçoit le logement et pour celle qui le perd. Les "
    "logements retirés ne comptent nulle part. Ligne de total : « Libérations éligibles » y "
    "donne le flux, nombre de logements distincts comptés (un logement est éligible pour "
    "plusieurs parts) ; les autres colonnes sont des sommes."
)


def _share_rows(scope_year: ScopeYear, catalogue: Catalogue, view: View) -> list[tuple[Any, ...]]:
    """One row per share of the scope (in force in the year, or in its balances), then the
    landlord part; a reserver's own shares only in its bilan."""
    counts = _share_counts(scope_year)
    listed = {info.share_id for info in catalogue.scope_shares(scope_year.scope)}
    rows = []
    for share in [*sorted(listed | {s for s in scope_year.balances if s != LANDLORD}), LANDLORD]:
        info = catalogue.shares.get(share) if share != LANDLORD else None
        if view.shows(info.reserver_id if info else None):
            rows.append(_share_row(scope_year, catalogue, share, scope_year.balance(share), counts))
    return rows


_COUNTS = (
    "proposed",
    "taken_back_counted",
    "taken_back_not_counted",
    "attributed",
    "leases",
    "overrides_received",
    "overrides_lost",
)


def _share_counts(scope_year: ScopeYear) -> dict[str, Counter]:
    """Per share: the vacancies proposed, taken back, attributed, leased, and the overrides."""
    counts: dict[str, Counter] = {key: Counter() for key in _COUNTS}
    proposed, attributed, leases = counts["proposed"], counts["attributed"], counts["leases"]
    for vacancy in scope_year.vacancies.values():
        if not vacancy.in_flux:
            continue
        for share in vacancy.proposed:
            proposed[share] += 1
        if vacancy.taken_back:
            for share, counted in set(vacancy.taken_back):
                counts["taken_back_counted" if counted else "taken_back_not_counted"][share] += 1
        if vacancy.attributed is not None:
            attributed[vacancy.attributed] += 1
        if vacancy.leased is not None:
            leases[vacancy.leased] += 1
        for lost, received in vacancy.overrides:
            counts["overrides_lost"][lost] += 1
            counts["overrides_received"][received] += 1
    return counts


def _share_row(
    scope_year: ScopeYear,
    catalogue: Catalogue,
    share: ShareRef,
    balance: allocation.Balance,
    counts: dict[str, Counter],
) -> tuple[Any, ...]:
    landlord, departement = _where(catalogue, scope_year.scope)
    info = catalogue.shares.get(share) if share != LANDLORD else None
    if share == LANDLORD:
        names: tuple[Any, ...] = (LANDLORD_RESERVER, None, LANDLORD_PART, None)
    elif info is None:
        names = (None, None, f"Droit {share}", None)
    else:
        names = (
            info.reserver_name,
            info.convention_reference,
            info.label,
            percent(info.basis_points),
        )
    reconciled = scope_year.reconciled.get(share)  # None: no vacancy in a closed year
    counted = reconciled.counted if reconciled else balance.realised
    event = reconciled.counting_event if reconciled else (info.counting_event if info else "")
    gap = reconciled.gap_units if reconciled else FULL * counted - balance.target_units
    carry = reconciled.carry_units if reconciled else 0
    final = reconciled.final if reconciled else scope_year.closed
    landlord_id = scope_year.scope.landlord_id
    reserver_id = info.reserver_id if info else None
    ids = (
        landlord_id,
        catalogue.codes.get(landlord_id),
        reserver_id,
        catalogue.codes.get(reserver_id) if reserver_id is not None else None,
        info.convention_id if info else None,
        None if share == LANDLORD else share,
        event or None,
    )
    return (
        landlord,
        departement,
        *names,
        balance.eligible,
        dwellings(balance.carry_in_units),
        dwellings(balance.target_units),
        counts["proposed"][share],
        counts["taken_back_counted"][share],
        counts["taken_back_not_counted"][share],
        counts["attributed"][share],
        counts["leases"][share],
        balance.realised,
        COUNTING_EVENTS.get(event, event),
        counted,
        dwellings(gap),
        dwellings(carry),
        "définitif" if final else "provisoire",
        counts["overrides_received"][share],
        counts["overrides_lost"][share],
        *ids,
    )


# --- 2. breakdown -------------------------------------------------------------------------------

SUMMARY_COLUMNS = (
    Column("reserver", "Réservataire"),
    Column("dimension", "Dimension"),
    Column("value", "Valeur"),
    Column("proposed", "Proposés", "integer"),
    Column("attributed", "Attribués", "integer"),
)
SUMMARY_NOTE = (
    "La répartition précédente, par réservataire et une dimension à la fois (tous bailleurs "
    "du bilan confondus) : chaque logement y figure une fois par dimension, d'où l'absence de "
    "total. C'est la lecture de l'article R.441-5-1 « par typologie, financement, situation en "
    "ou hors QPV, commune et période de construction »."
)
# Dimensions summarised one at a time: (label, index or indexes in the breakdown's key).
_SUMMARISED = (
    ("Typologie", (3,)),
    ("Financement", (4,)),
    ("QPV", (5,)),
    ("Commune", (6, 7)),
    ("Période de construction", (8,)),
)

DIMENSIONS = (
    Column("landlord", "Bailleur"),
    Column("departement", "Département"),
    Column("reserver", "Réservataire"),
    Column("typology", "Typologie"),
    Column("financing", "Financement"),
    Column("qpv", "QPV"),
    Column("commune", "Commune (INSEE)"),
    Column("commune_name", "Commune"),
    Column("construction_period", "Période de construction"),
)
BREAKDOWN_COLUMNS = (
    *DIMENSIONS,
    Column("proposed", "Proposés", "integer"),
    Column("attributed", "Attribués", "integer"),
    Column("landlord_id", "Id bailleur", "integer", True),
    Column("reserver_id", "Id réservataire", "integer", True),
)
BREAKDOWN_NOTE = (
    "Logements proposés et attribués par réservataire, typologie, financement, situation en "
    "ou hors QPV, commune et période de construction, tels qu'ils étaient à leur libération "
    "(instantané du journal). Un logement réorienté compte pour chaque part qui l'a reçu."
)


def _summary_rows(breakdown: dict[tuple[str, ...], list[int]]) -> list[tuple[Any, ...]]:
    """The breakdown summed per reserver and one dimension (from the same counts)."""
    sums: dict[tuple[str, int, str], list[int]] = {}
    communes: dict[tuple[str, str], str] = {}  # (INSEE, name) -> "31555 Toulouse"
    for key, (proposed, attributed) in breakdown.items():
        # The dimensions are key[:9] (the ids follow); one value per summarised dimension.
        commune = communes.get((key[6], key[7]))
        if commune is None:
            commune = communes.setdefault(
                (key[6], key[7]), " ".join(str(part) for part in (key[6], key[7]) if part)
            )
        for order, value in enumerate((key[3], key[4], key[5], commune, key[8])):
            counts = sums.get((key[2], order, value))
            if counts is None:
                counts = sums[key[2], order, value] = [0, 0]
            counts[0] += proposed
            counts[1] += attributed
    return [
        (reserver, _SUMMARISED[order][0], value, *counts)
        for (reserver, order, value), counts in sorted(sums.items())
    ]


def _count_breakdown(
    counts: dict[tuple[str, ...], list[int]],
    scope_year: ScopeYear,
    catalogue: Catalogue,
    view: View,
) -> None:
    """Add the scope's proposed and attributed dwellings to ``counts``, keyed by the breakdown's
    dimensions (a dict of tuples: several times faster than a pandas group-by over the same
    object columns, and it needs no frame of every dwelling of the country)."""
    landlord, departement = _where(catalogue, scope_year.scope)
    landlord_id = scope_year.scope.landlord_id
    reservers: dict[ShareRef, tuple[int | None, str]] = {}
    places: dict[tuple[str | None, bool], tuple[str, str, str]] = {}
    periods: dict[int | None, str] = {}
    for vacancy in scope_year.vacancies.values():
        if not vacancy.in_flux:
            continue
        place = places.get((vacancy.commune, vacancy.qpv)) or places.setdefault(
            (vacancy.commune, vacancy.qpv), _place(catalogue, vacancy.commune, vacancy.qpv)
        )
        year = vacancy.construction_year
        period = periods.get(year) or periods.setdefault(year, construction_period(year))
        dwelling = (vacancy.typology or UNKNOWN, vacancy.financing or UNKNOWN, *place, period)
        held = [(share, 0) for share in vacancy.proposed]
        if vacancy.attributed is not None:
            held.append((vacancy.attributed, 1))
        for share, measure in held:
            reserver = reservers.get(share) or reservers.setdefault(
                share, _reserver(catalogue, share)
            )
            if view.shows(reserver[0]):
                key = (landlord, departement, reserver[1], *dwelling, landlord_id, reserver[0])
                figures = counts.get(key) or counts.setdefault(key, [0, 0])
                figures[measure] += 1


def _place(catalogue: Catalogue, commune: str | None, qpv: bool) -> tuple[str, str, str]:
    """In or out of QPV, the commune's INSEE code and its name."""
    info = catalogue.communes.get(commune or "")
    return "en QPV" if qpv else "hors QPV", commune or UNKNOWN, info.name if info else UNKNOWN


def _reserver(catalogue: Catalogue, share: ShareRef) -> tuple[int | None, str]:
    if share == LANDLORD:
        return None, LANDLORD_RESERVER
    info = catalogue.shares.get(share)
    return (info.reserver_id, info.reserver_name) if info else (None, f"Droit {share}")


# --- 3. deductions ------------------------------------------------------------------------------

DEDUCTION_COLUMNS = (
    Column("landlord", "Bailleur"),
    Column("departement", "Département"),
    Column("category", "Catégorie"),
    Column("actual", "Réalisé", "integer"),
    Column("forecast", "Prévision", "integer"),
    Column("difference", "Écart (réalisé − prévision)", "integer"),
    Column("landlord_id", "Id bailleur", "integer", True),
    Column("category_code", "Code de la catégorie", "text", True),
)
DEDUCTIONS_NOTE = (
    "Réalisé : logements libérés dans l'année et soustraits du flux (les retraits exclus). "
    "Prévision : déclarée par le bailleur pour l'année ; vide si elle n'a pas été déclarée, et "
    "l'écart avec elle."
)


def _deduction_rows(
    rows: ScopeRows, catalogue: Catalogue, forecasts: dict[Scope, dict[str, int]]
) -> list[tuple[Any, ...]]:
    landlord, departement = _where(catalogue, rows.scope)
    declared = forecasts.get(rows.scope, {})
    result = []
    for category, label in DEDUCTIONS.items():
        done, forecast = rows.deducted.get(category.value, 0), declared.get(category.value)
        difference = None if forecast is None else done - forecast
        result.append(
            (
                landlord,
                departement,
                label,
                done,
                forecast,
                difference,
                rows.scope.landlord_id,
                category.value,
            )
        )
    return result


# --- 4. the percentages of each share -----------------------------------------------------------

PERIOD_COLUMNS = (
    Column("landlord", "Bailleur"),
    Column("departement", "Département"),
    Column("reserver", "Réservataire"),
    Column("convention", "Convention"),
    Column("share", "Droit"),
    Column("valid_from", "Du", "date"),
    Column("valid_until", "Au", "date"),
    Column("percent", "Pourcentage", "percent"),
    Column("landlord_id", "Id bailleur", "integer", True),
    Column("reserver_id", "Id réservataire", "integer", True),
    Column("reserver_code", "Code réservataire", "text", True),
    Column("convention_id", "Id convention", "integer", True),
    Column("share_id", "Id droit", "integer", True),
)
PERIODS_NOTE = (
    "Le pourcentage de chaque droit pendant l'année : une ligne par période, plusieurs pour un "
    "droit modifié par avenant en cours d'année (son objectif en tient compte, libération par "
    "libération)."
)


def _period_rows(scope: Scope, catalogue: Catalogue, view: View) -> list[tuple[Any, ...]]:
    landlord, departement = _where(catalogue, scope)
    rows = []
    for info in catalogue.scope_shares(scope):
        if not view.shows(info.reserver_id):
            continue
        for first, last, basis_points in info.periods:
            rows.append(
                (
                    landlord,
                    departement,
                    info.reserver_name,
                    info.convention_reference,
                    info.label,
                    first,
                    last,
                    percent(basis_points),
                    scope.landlord_id,
                    info.reserver_id,
                    catalogue.codes.get(info.reserver_id),
                    info.convention_id,
                    info.share_id,
                )
            )
    return rows
