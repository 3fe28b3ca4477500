"""Rules a convention de réservation must satisfy when it is created or amended (domain.md §2).

Pure: the service loads every version of the candidate and of the landlord's other conventions,
calls `check_convention`, refuses on `ConventionRuleViolation` and records the returned warnings.
Percentages are integer basis points (2500 == 25.00 %); never a float.

Long for one reason: every refusal carries its French message with the figures in it.

Days are handled as half-open ordinal intervals [start, end): `valid_until` and a share's
`ends_on` are inclusive last days, `effective_until` is exclusive (the next version's first day).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import NoReturn

from flux.domain.errors import DomainError

FULL_BP = 10_000
ETAT_CAP_BP = 3_000  # R.441-5-2 I
ETAT_AGENTS_CAP_BP = 500  # R.441-5-2 I
GUARANTEE_PRACTICE_BP = 2_000  # practice: a warning, not a refusal

_OPEN = date.max.toordinal() + 1  # end of an open-ended interval, after every real day


class ReserverCategory(StrEnum):
    ETAT = "etat"
    ACTION_LOGEMENT = "action_logement"
    COMMUNE = "commune"
    EPCI = "epci"
    EPT = "ept"
    DEPARTEMENT = "departement"
    REGION = "region"
    METROPOLE_LYON = "metropole_lyon"  # collectivité à statut particulier (R.441-5-3)
    VILLE_PARIS = "ville_paris"  # collectivité à statut particulier (R.441-5-3)
    EMPLOYEUR = "employeur"
    ORGANISME_DESINTERESSE = "organisme_desinteresse"
    AUTRE = "autre"


COLLECTIVITES = frozenset(
    {
        ReserverCategory.COMMUNE,
        ReserverCategory.EPCI,
        ReserverCategory.EPT,
        ReserverCategory.DEPARTEMENT,
        ReserverCategory.REGION,
        ReserverCategory.METROPOLE_LYON,
        ReserverCategory.VILLE_PARIS,
    }
)
# Their convention covers their own territory only (R.441-5-3).
TERRITORIAL = frozenset(
    {
        ReserverCategory.COMMUNE,
        ReserverCategory.EPCI,
        ReserverCategory.EPT,
        ReserverCategory.METROPOLE_LYON,
        ReserverCategory.VILLE_PARIS,
    }
)
# L.441-1: the 25 % DALO-or-prioritaire rule binds the collectivités (and their groupements)
# and Action Logement, plus the landlord on its non-reserved or taken-back dwellings; not
# employers, non-profit bodies or other reservers, nor the État (its whole contingent is).
BOUND_BY_PRIORITAIRES_QUOTA = COLLECTIVITES | {ReserverCategory.ACTION_LOGEMENT}
# R.441-5 I al.3: a convention at département scale covers the landlord's whole patrimoine in
# the département; only the reservers of R.441-5-3 (TERRITORIAL) reserve on their territory.
WHOLE_PATRIMOINE = frozenset(
    {
        ReserverCategory.ETAT,
        ReserverCategory.ACTION_LOGEMENT,
        ReserverCategory.EMPLOYEUR,
        ReserverCategory.ORGANISME_DESINTERESSE,
    }
)
DEROGATION_MAX_DAYS = 366  # "une durée déterminée qui ne peut excéder un an" (R.441-5-2 I)


class SharePurpose(StrEnum):
    PRIORITAIRES = "prioritaires"  # État: publics prioritaires
    AGENTS_ETAT = "agents_etat"  # État: agents civils et militaires de l'État
    GENERAL = "general"  # every other share


_ETAT_PURPOSES = frozenset({SharePurpose.PRIORITAIRES, SharePurpose.AGENTS_ETAT})


@dataclass(frozen=True)
class ShareTerms:
    code: str  # stable within its convention, e.g. "prioritaires"
    label: str
    basis_points: int  # 0 < bp <= 10000
    purpose: SharePurpose
    guarantee_backed: bool = False  # collectivité rights in return for a loan guarantee
    ends_on: date | None = None  # inclusive last day; a share may end before its convention
    loan_repaid_on: date | None = None  # R.441-6: the guaranteed loan's last repayment


def guarantee_end(loan_repaid_on: date) -> date:
    """R.441-6: rights granted for a loan guarantee last until five years after the loan's last
    repayment (the inclusive last day; 29 February gives 28 February)."""
    return _years_after(loan_repaid_on, 5)


@dataclass(frozen=True)
class Derogation:
    """A préfet's arrêté lifting the État's caps for a period (R.441-5-2 I al.2)."""

    reference: str
    starts_on: date
    ends_on: date  # inclusive
    etat_cap_bp: int
    agents_cap_bp: int


def check_derogation(derogation: Derogation) -> None:
    """Its period is determined and at most one year; its caps are real percentages."""
    figures = {
        "starts_on": derogation.starts_on,
        "ends_on": derogation.ends_on,
        "reference": derogation.reference,
    }
    if derogation.ends_on < derogation.starts_on:
        _refuse(
            "invalid_dates",
            "ends_on",
            f"La dérogation finit le {_fr_date(derogation.ends_on)}, avant son début "
            f"({_fr_date(derogation.starts_on)}).",
            **figures,
        )
    last = _one_year_after(derogation.starts_on)
    if derogation.ends_on > last:
        _refuse(
            "derogation_above_one_year",
            "ends_on",
            f"Une dérogation du préfet aux plafonds de l'État vaut au plus un an (article "
            f"R.441-5-2 I du CCH) : commencée le {_fr_date(derogation.starts_on)}, elle finit "
            f"au plus tard le {_fr_date(last)}, non le {_fr_date(derogation.ends_on)}.",
            latest=last,
            **figures,
        )
    if not (0 < derogation.agents_cap_bp <= derogation.etat_cap_bp <= FULL_BP):
        _refuse(
            "invalid_share",
            "etat_cap",
            "Les plafonds dérogatoires vont de 0,01 % à 100 %, celui des agents ne dépassant pas "
            "celui de l'État.",
            etat_cap_bp=derogation.etat_cap_bp,
            agents_cap_bp=derogation.agents_cap_bp,
            **figures,
        )


def _one_year_after(start: date) -> date:
    """The last day of a one-year period starting on ``start``."""
    return date.fromordinal(_years_after(start, 1).toordinal() - 1)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class ConventionTerms:
    """One version of a convention, in force from effective_from until effective_until
    (exclusive) or its end."""

    reference: str
    landlord_id: int
    reserver_id: int
    reserver_category: ReserverCategory
    reserver_territory: frozenset[str] | None  # INSEE codes (commune/EPCI/EPT), else None
    departement: str
    communes: frozenset[str]  # the perimeter, resolved to INSEE codes (non-empty)
    valid_from: date
    valid_until: date | None  # inclusive last day, None = open-ended
    effective_from: date  # this version's first day (== valid_from for the first version)
    effective_until: date | None  # exclusive: the next version's effective_from, else None
    shares: tuple[ShareTerms, ...]


@dataclass(frozen=True)
class RuleWarning:
    rule: str  # machine code, e.g. "guarantee_share_above_20"
    message: str  # French
    figures: dict[str, str | int]


class ConventionRuleViolation(DomainError):
    """A convention breaks a rule of domain.md §2 and must be refused."""

    def __init__(
        self,
        rule: str,
        message: str,
        figures: Mapping[str, str | int] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message, figures)
        self.rule = rule
        self.field = field  # the input field concerned, for the problem document's `errors`


# --- percentages and dates --------------------------------------------------------------------


def format_percent(bp: int) -> str:
    """Basis points as the API writes a percentage: 2500 -> "25.00"."""
    return f"{Decimal(bp).scaleb(-2):.2f}"


def format_dwellings(units: int) -> str:
    """Basis-point units (FULL_BP per dwelling) as the API writes dwellings: 1787500 ->
    "178.75", rounded half up to two decimals."""
    value = (Decimal(units) / FULL_BP).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value:.2f}"


# ASCII digits only: `\d` would accept other scripts' digits, which Decimal reads silently.
_PERCENT = re.compile(r"([+-]?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)


def parse_percent(text: str) -> int:
    """A percentage written "25", "25.5" or "25.00" as basis points; ValueError (French) else."""
    match = _PERCENT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"« {text} » n'est pas un pourcentage : écrivez par exemple 25 ou 25.50.")
    sign, units, decimals = match.groups()
    if decimals is not None and len(decimals) > 2:
        raise ValueError(
            f"« {text} » a plus de deux décimales : un pourcentage se donne au centième "
            "(par exemple 25.55)."
        )
    value = Decimal(f"{units}.{decimals or '0'}")
    if sign == "-" and value:
        raise ValueError(f"« {text} » est négatif : un pourcentage va de 0 à 100.")
    if value > 100:
        raise ValueError(f"« {text} » dépasse 100 : un pourcentage va de 0 à 100.")
    return int(value * 100)


def _fr_percent(bp: int) -> str:
    return format_percent(bp).replace(".", ",") + " %"


def _fr_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _fr_day(ordinal: int) -> str:
    return _fr_date(date.fromordinal(ordinal))


def _fr_validity(version: ConventionTerms) -> str:
    if version.valid_until is None:
        return f"à partir du {_fr_date(version.valid_from)}, sans date de fin"
    return f"du {_fr_date(version.valid_from)} au {_fr_date(version.valid_until)}"


def _fr_codes(codes: Iterable[str], shown: int = 10) -> str:
    """A list of INSEE codes, cut short: a département holds hundreds of communes."""
    ordered = sorted(codes)
    text = ", ".join(ordered[:shown])
    return text if len(ordered) <= shown else f"{text}… ({len(ordered)} au total)"


def _end_after(last_day: date | None) -> int:
    """The exclusive end of an inclusive last day."""
    return _OPEN if last_day is None else last_day.toordinal() + 1


def _in_force(version: ConventionTerms) -> tuple[int, int]:
    """Days [start, end) on which this version applies: its effective period within validity.

    Validity is read on each version, not only the first: an amendment may extend or shorten
    the convention while the earlier versions keep the validity they were signed with.
    """
    start = max(version.effective_from, version.valid_from).toordinal()
    until = _OPEN if version.effective_until is None else version.effective_until.toordinal()
    return start, min(until, _end_after(version.valid_until))


def version_in_force(versions: Sequence[ConventionTerms], on: date) -> ConventionTerms | None:
    """The version of a convention that applies on a day, or None if it is not in force."""
    day = on.toordinal()
    for version in versions:
        start, end = _in_force(version)
        if start <= day < end:
            return version
    return None


def shares_in_force(versions: Sequence[ConventionTerms], on: date) -> tuple[ShareTerms, ...]:
    """The shares of a convention that apply on a day: its version's, less those ended."""
    version = version_in_force(versions, on)
    if version is None:
        return ()
    return tuple(s for s in version.shares if s.ends_on is None or on <= s.ends_on)


# --- the check --------------------------------------------------------------------------------


def check_convention(
    candidate: Sequence[ConventionTerms],
    others: Sequence[ConventionTerms],
    *,
    communes_departement: Mapping[str, str] | None = None,
    departement_communes: frozenset[str] | None = None,
    derogations: Sequence[Derogation] = (),
) -> list[RuleWarning]:
    """Raise ConventionRuleViolation for the first broken rule; return warnings otherwise.

    `candidate` = every version of the convention being created or amended (by effective_from);
    `others` = every version of every OTHER convention of the same landlord (any reserver, any
    date); versions of another landlord are ignored. `communes_departement` maps INSEE commune
    codes to their département: when given, the perimeter must lie in the convention's
    département; when None, that rule is skipped (the caller resolved the perimeter itself).
    `departement_communes`: every commune of the convention's département; when given, a
    non-territorial reserver's perimeter must cover them all (R.441-5 I al.3). `derogations`:
    the préfet's arrêtés lifting the État's caps for this landlord and département.
    """
    if not candidate:
        raise ValueError("check_convention needs at least one version of the candidate")
    versions = tuple(candidate)
    _check_versions_agree(versions)
    _check_dates(versions)
    for version in versions:
        _check_shares(version)
        _check_perimeter(version, communes_departement, departement_communes)
    landlord_id = versions[0].landlord_id
    # A convention of another landlord never shares a flux with this one.
    same_landlord = [other for other in others if other.landlord_id == landlord_id]
    _check_etat_caps(versions, same_landlord, derogations)
    _check_single_convention(versions, same_landlord)
    _check_commune_totals(versions, same_landlord)
    return guarantee_warnings(versions, same_landlord)


def _refuse(
    rule: str, field: str | None, message: str, **figures: str | int | date | None
) -> NoReturn:
    """Raise the violation; figures go out as integers (basis points) and ISO dates."""
    raise ConventionRuleViolation(
        rule,
        message,
        {
            name: value.isoformat() if isinstance(value, date) else ("" if value is None else value)
            for name, value in figures.items()
        },
        field=field,
    )


# What an amendment may not change: they identify the convention (valid_until may change).
_IDENTITY = {
    "reference": "la référence",
    "landlord_id": "le bailleur",
    "reserver_id": "le réservataire",
    "reserver_category": "la catégorie du réservataire",
    "reserver_territory": "le territoire du réservataire",
    "departement": "le département",
    "valid_from": "le début de validité",
}


def _check_versions_agree(versions: tuple[ConventionTerms, ...]) -> None:
    first = versions[0]
    for version in versions[1:]:
        for name, label in _IDENTITY.items():
            if getattr(version, name) != getattr(first, name):
                _refuse(
                    "inconsistent_versions",
                    name,
                    f"Un avenant ne peut pas changer {label} de la convention : la version du "
                    f"{_fr_date(version.effective_from)} diffère de la version initiale.",
                    attribute=name,
                    effective_from=version.effective_from,
                )


def _check_dates(versions: tuple[ConventionTerms, ...]) -> None:
    first = versions[0]
    if first.effective_from != first.valid_from:
        _refuse(
            "invalid_dates",
            "effective_from",
            f"La première version doit prendre effet au début de validité de la convention "
            f"({_fr_date(first.valid_from)}), non le {_fr_date(first.effective_from)}.",
            valid_from=first.valid_from,
            effective_from=first.effective_from,
        )
    for index, version in enumerate(versions):
        _check_validity(version)
        _check_succession(version, versions[index + 1] if index + 1 < len(versions) else None)
        for share in version.shares:
            _check_loan(share)
            # An end after the convention's is harmless (the convention's end bounds it) and
            # keeps the legal date of R.441-6 on record; an end before it starts is a typo.
            if share.ends_on is not None and share.ends_on < version.valid_from:
                _refuse(
                    "invalid_dates",
                    "shares",
                    f"La part « {share.label} » prend fin le {_fr_date(share.ends_on)}, avant le "
                    f"début de validité de la convention ({_fr_date(version.valid_from)}).",
                    share=share.code,
                    ends_on=share.ends_on,
                    valid_from=version.valid_from,
                )


def _check_loan(share: ShareTerms) -> None:
    """R.441-6: a guarantee-backed share ends five years after the loan's last repayment."""
    if share.loan_repaid_on is None:
        return
    if not share.guarantee_backed:
        _refuse(
            "invalid_share",
            "shares",
            f"La part « {share.label} » indique la fin d'un emprunt garanti, mais n'est pas liée "
            "à une garantie d'emprunt (guarantee_backed).",
            share=share.code,
        )
    expected = guarantee_end(share.loan_repaid_on)
    if share.ends_on != expected:
        _refuse(
            "invalid_dates",
            "shares",
            f"La part « {share.label} », liée à un emprunt remboursé le "
            f"{_fr_date(share.loan_repaid_on)}, prend fin cinq ans après, le "
            f"{_fr_date(expected)} (article R.441-6 du CCH).",
            share=share.code,
            loan_repaid_on=share.loan_repaid_on,
            ends_on=expected,
        )


def _check_validity(version: ConventionTerms) -> None:
    start, until, effective = version.valid_from, version.valid_until, version.effective_from
    figures = {"valid_from": start, "valid_until": until, "effective_from": effective}
    if until is not None and until < start:
        _refuse(
            "invalid_dates",
            "valid_until",
            f"La fin de validité ({_fr_date(until)}) précède le début de validité "
            f"({_fr_date(start)}).",
            **figures,
        )
    if effective < start or (until is not None and effective > until):
        _refuse(
            "invalid_dates",
            "effective_from",
            f"La version du {_fr_date(effective)} prend effet hors de la validité de la "
            f"convention ({_fr_validity(version)}).",
            **figures,
        )


def _check_succession(version: ConventionTerms, following: ConventionTerms | None) -> None:
    """Versions follow each other without gap nor overlap: each ends when the next begins."""
    if following is not None and following.effective_from <= version.effective_from:
        _refuse(
            "invalid_dates",
            "effective_from",
            f"Chaque avenant doit prendre effet après le précédent : le "
            f"{_fr_date(following.effective_from)} ne suit pas le "
            f"{_fr_date(version.effective_from)}.",
            effective_from=following.effective_from,
            previous_effective_from=version.effective_from,
        )
    expected = None if following is None else following.effective_from
    if version.effective_until != expected:
        cause = (
            "la dernière version n'a pas de fin d'effet"
            if expected is None
            else f"elle s'achève le {_fr_date(expected)}, quand la suivante prend effet"
        )
        _refuse(
            "invalid_dates",
            "effective_until",
            f"Fin d'effet incohérente pour la version du {_fr_date(version.effective_from)} : "
            f"{cause}.",
            effective_from=version.effective_from,
            effective_until=expected,
        )


def _shares_at_start(version: ConventionTerms) -> list[ShareTerms]:
    """The shares alive on the version's first day; shares end within a version but never
    start, so their total there is the version's largest daily total."""
    return [s for s in version.shares if s.ends_on is None or s.ends_on >= version.effective_from]


def _check_shares(version: ConventionTerms) -> None:
    since = version.effective_from
    if not version.shares:
        _refuse(
            "no_share",
            "shares",
            f"La convention doit comporter au moins une part (version du {_fr_date(since)}).",
            effective_from=since,
        )
    codes: set[str] = set()
    for share in version.shares:
        figures = {"effective_from": since, "share": share.code, "basis_points": share.basis_points}
        if not 0 < share.basis_points <= FULL_BP:
            _refuse(
                "invalid_share",
                "shares",
                f"La part « {share.label} » vaut {_fr_percent(share.basis_points)} ; une part est "
                "comprise entre 0,01 % et 100,00 %.",
                **figures,
            )
        if share.code in codes:
            _refuse(
                "duplicate_share_code",
                "shares",
                f"Le code de part « {share.code} » figure deux fois dans la version du "
                f"{_fr_date(since)} ; chaque part a son propre code.",
                **figures,
            )
        codes.add(share.code)
        if share.purpose in _ETAT_PURPOSES and version.reserver_category != ReserverCategory.ETAT:
            _refuse(
                "etat_purpose_outside_etat",
                "shares",
                f"La part « {share.label} » est destinée aux publics prioritaires ou aux agents "
                "de l'État : seule une convention avec l'État peut la porter.",
                purpose=str(share.purpose),
                **figures,
            )
    _check_total(
        version,
        _shares_at_start(version),
        FULL_BP,
        "convention_total_above_100",
        "Les parts de la convention totalisent",
    )


def _check_etat_caps(
    versions: tuple[ConventionTerms, ...],
    others: list[ConventionTerms],
    derogations: Sequence[Derogation],
) -> None:
    """R.441-5-2 I: the État holds at most 30 % of the landlord's flux in the département, of
    which at most 5 % for its agents, summed over every État convention of the landlord there
    (whatever the number of État organisations); a préfet's derogation lifts the caps for its
    period."""
    first = versions[0]
    if first.reserver_category != ReserverCategory.ETAT:
        return
    etat = [
        (v, False)
        for v in others
        if v.reserver_category == ReserverCategory.ETAT and v.departement == first.departement
    ] + [(v, True) for v in versions]
    for rule, subject, default, purposes in (
        ("etat_total_above_30", "Les droits de l'État atteignent", ETAT_CAP_BP, None),
        (
            "etat_agents_above_5",
            "Les droits réservés aux agents civils et militaires de l'État atteignent",
            ETAT_AGENTS_CAP_BP,
            {SharePurpose.AGENTS_ETAT},
        ),
    ):
        slices = [
            slice_
            for version, candidate in etat
            for slice_ in _slices(version, candidate, purposes)
        ]
        ends = {d.ends_on.toordinal() + 1 for d in derogations}
        for day in sorted({s.start for s in slices} | ends):
            active = [s for s in slices if s.start <= day < s.end]
            if not any(s.candidate for s in active):
                continue
            derogation = next(
                (d for d in derogations if d.starts_on.toordinal() <= day <= d.ends_on.toordinal()),
                None,
            )
            limit = default
            if derogation is not None:
                limit = derogation.agents_cap_bp if purposes else derogation.etat_cap_bp
            total = sum(s.basis_points for s in active)
            if total > limit:
                others_bp = sum(s.basis_points for s in active if not s.candidate)
                joint = (
                    f", dont {_fr_percent(others_bp)} par d'autres conventions de l'État"
                    if others_bp
                    else ""
                )
                lifted = (
                    f" (plafond relevé par l'arrêté « {derogation.reference} » jusqu'au "
                    f"{_fr_date(derogation.ends_on)})"
                    if derogation is not None
                    else ""
                )
                _refuse(
                    rule,
                    "shares",
                    f"{subject} {_fr_percent(total)} du flux du bailleur dans le département "
                    f"{first.departement} le {_fr_day(day)}{joint} ; le plafond est de "
                    f"{_fr_percent(limit)}{lifted} (article R.441-5-2 I du CCH).",
                    effective_from=date.fromordinal(day),
                    total_bp=total,
                    limit_bp=limit,
                )


def _check_total(
    version: ConventionTerms,
    shares: Sequence[ShareTerms],
    limit: int,
    rule: str,
    subject: str,
    source: str = "",
) -> None:
    total = sum(s.basis_points for s in shares)
    if total > limit:
        _refuse(
            rule,
            "shares",
            f"{subject} {_fr_percent(total)} du flux du bailleur à compter du "
            f"{_fr_date(version.effective_from)} ; le plafond est de {_fr_percent(limit)}{source}.",
            effective_from=version.effective_from,
            total_bp=total,
            limit_bp=limit,
        )


def _check_perimeter(
    version: ConventionTerms,
    communes_departement: Mapping[str, str] | None,
    departement_communes: frozenset[str] | None = None,
) -> None:
    since = version.effective_from
    if not version.communes:
        _refuse(
            "empty_perimeter",
            "perimeter",
            f"Le périmètre de la convention ne comprend aucune commune (version du "
            f"{_fr_date(since)}).",
            effective_from=since,
        )
    if version.reserver_category in TERRITORIAL:
        if version.reserver_territory is None:
            _refuse(
                "unknown_territory",
                "reserver",
                "Le territoire du réservataire (commune, EPCI, EPT, Métropole de Lyon ou Ville "
                "de Paris) n'est pas connu : "
                "impossible de vérifier que le périmètre s'y limite.",
                effective_from=since,
            )
        outside = version.communes - version.reserver_territory
        if outside:
            _refuse(
                "perimeter_outside_territory",
                "perimeter",
                f"Le périmètre comprend des communes hors du territoire du réservataire : "
                f"{_fr_codes(outside)}. Une commune, un EPCI ou un EPT ne réserve que sur son "
                "propre territoire (article R.441-5 du CCH).",
                effective_from=since,
                communes=",".join(sorted(outside)),
                count=len(outside),
            )
    if version.reserver_category in WHOLE_PATRIMOINE and departement_communes is not None:
        missing = departement_communes - version.communes
        if missing:
            _refuse(
                "perimeter_not_whole_departement",
                "perimeter",
                f"La convention d'un réservataire « {version.reserver_category} » porte sur "
                f"l'ensemble du patrimoine du bailleur dans le département "
                f"{version.departement} (article R.441-5 I du CCH) ; son périmètre omet "
                f"{_fr_codes(missing)}. Seuls les communes, EPCI, EPT, la Métropole de Lyon et "
                "la Ville de Paris réservent sur leur seul territoire (R.441-5-3).",
                effective_from=since,
                communes=",".join(sorted(missing)),
                count=len(missing),
            )
    if communes_departement is not None:
        # A commune missing from the mapping is not known to lie in the département either.
        departement = version.departement
        outside = {c for c in version.communes if communes_departement.get(c) != departement}
        if outside:
            _refuse(
                "perimeter_outside_departement",
                "perimeter",
                f"Le périmètre comprend des communes hors du département {departement} : "
                f"{_fr_codes(outside)}. Une convention ne couvre qu'un département.",
                effective_from=since,
                departement=departement,
                communes=",".join(sorted(outside)),
                count=len(outside),
            )


def _check_single_convention(
    versions: tuple[ConventionTerms, ...], others: list[ConventionTerms]
) -> None:
    """R.441-5: one convention per landlord × reserver × département at a time.

    For a commune, EPCI or EPT the convention covers its own territory, which is fixed, so the
    same key applies (an EPCI straddling two départements has one convention in each).
    """
    first = versions[0]
    clashes = []
    for rival in others:
        if (rival.reserver_id, rival.departement) != (first.reserver_id, first.departement):
            continue
        rival_start, rival_end = _in_force(rival)
        for version in versions:
            start, end = _in_force(version)
            if max(start, rival_start) < min(end, rival_end):
                clashes.append((max(start, rival_start), rival.reference, rival))
    if clashes:
        day, _, rival = min(clashes, key=lambda clash: clash[:2])
        _refuse(
            "duplicate_convention",
            None,
            f"Le bailleur a déjà une convention avec ce réservataire dans le département "
            f"{first.departement} (« {rival.reference} », {_fr_validity(rival)}) ; les deux "
            f"seraient en vigueur ensemble à partir du {_fr_day(day)}. Une seule convention est "
            "admise par bailleur, réservataire et département (article R.441-5 du CCH).",
            other_reference=rival.reference,
            departement=first.departement,
            date=date.fromordinal(day),
        )


@dataclass(frozen=True)
class _Slice:
    """One share of one version over the days it applies, in ordinal days [start, end)."""

    start: int
    end: int
    basis_points: int
    reference: str
    candidate: bool


def _slices(
    version: ConventionTerms,
    candidate: bool,
    purposes: frozenset[SharePurpose] | set[SharePurpose] | None = None,
    guarantee_only: bool = False,
) -> list[_Slice]:
    start, end = _in_force(version)
    return [
        _Slice(start, share_end, share.basis_points, version.reference, candidate)
        for share in version.shares
        if (purposes is None or share.purpose in purposes)
        and (share.guarantee_backed or not guarantee_only)
        and start < (share_end := min(end, _end_after(share.ends_on)))
    ]


def _first_excess(slices: list[_Slice]) -> tuple[int, dict[str, int]] | None:
    """The first day on which the candidate takes part in a total above 100 %, with each
    convention's contribution that day.

    Totals only grow, and the candidate only joins, on a slice's first day, so those days are
    the only ones to look at: the check runs on date intervals, not day by day.
    """
    for day in sorted({s.start for s in slices}):
        active = [s for s in slices if s.start <= day < s.end]
        if any(s.candidate for s in active) and sum(s.basis_points for s in active) > FULL_BP:
            contributions: dict[str, int] = defaultdict(int)
            for s in active:
                contributions[s.reference] += s.basis_points
            return day, dict(contributions)
    return None


def _check_commune_totals(
    versions: tuple[ConventionTerms, ...], others: list[ConventionTerms]
) -> None:
    """In any commune, on any day, the shares in force that cover it total at most 100 %.

    Only days and communes where the candidate has a share are checked: an excess the candidate
    takes no part in is not its fault, and refusing it would block unrelated amendments.
    """
    tagged = [(v, True) for v in versions] + [(o, False) for o in others]
    # Communes covered by the same versions (a département-wide perimeter: hundreds of them)
    # have the same totals: sweep each such group once.
    groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for commune in frozenset[str]().union(*(v.communes for v in versions)):
        covering = tuple(i for i, (v, _) in enumerate(tagged) if commune in v.communes)
        groups[covering].append(commune)
    excesses = []
    for covering, communes in groups.items():
        found = _first_excess([s for i in covering for s in _slices(*tagged[i])])
        if found is not None:
            excesses.append((found[0], min(communes), found[1]))
    if not excesses:
        return
    day, commune, contributions = min(excesses, key=lambda excess: excess[:2])
    own = versions[0].reference
    parts = ", ".join(
        f"« {reference} »{' (cette convention)' if reference == own else ''} {_fr_percent(bp)}"
        for reference, bp in sorted(contributions.items(), key=lambda item: (-item[1], item[0]))
    )
    total = sum(contributions.values())
    _refuse(
        "commune_total_above_100",
        "shares",
        f"Dans la commune {commune}, à partir du {_fr_day(day)}, les conventions du bailleur "
        f"réserveraient ensemble {_fr_percent(total)} du flux, au-delà de "
        f"{_fr_percent(FULL_BP)} : {parts}.",
        commune=commune,
        date=date.fromordinal(day),
        total_bp=total,
        limit_bp=FULL_BP,
        **{f"contribution:{reference}": bp for reference, bp in contributions.items()},
    )


def guarantee_warnings(
    versions: tuple[ConventionTerms, ...], others: Sequence[ConventionTerms] = ()
) -> list[RuleWarning]:
    """Practice (old R*441-5): rights granted for loan guarantees total at most 20 %
    "globalement": summed over every guarantor's guarantee-backed shares covering a commune of
    the landlord, on any day the candidate takes part. A warning, never a refusal."""
    if versions[0].reserver_category not in COLLECTIVITES:
        return []
    if not any(s.guarantee_backed for v in versions for s in v.shares):
        return []
    tagged = [(v, True) for v in versions] + [
        (o, False) for o in others if o.reserver_category in COLLECTIVITES
    ]
    groups: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for commune in frozenset[str]().union(*(v.communes for v in versions)):
        covering = tuple(i for i, (v, _) in enumerate(tagged) if commune in v.communes)
        groups[covering].append(commune)
    found = []
    for covering, communes in groups.items():
        slices = [s for i in covering for s in _slices(*tagged[i], guarantee_only=True)]
        for day in sorted({s.start for s in slices}):
            active = [s for s in slices if s.start <= day < s.end]
            total = sum(s.basis_points for s in active)
            if any(s.candidate for s in active) and total > GUARANTEE_PRACTICE_BP:
                contributions: dict[str, int] = defaultdict(int)
                for s in active:
                    contributions[s.reference] += s.basis_points
                found.append((day, min(communes), total, dict(contributions)))
                break
    if not found:
        return []
    day, commune, total, contributions = min(found, key=lambda item: item[:2])
    parts = ", ".join(
        f"« {reference} » {_fr_percent(bp)}" for reference, bp in sorted(contributions.items())
    )
    return [
        RuleWarning(
            "guarantee_share_above_20",
            f"Les droits accordés en contrepartie de garanties d'emprunt atteignent ensemble "
            f"{_fr_percent(total)} du flux dans la commune {commune} à compter du "
            f"{_fr_day(day)} ({parts}) ; l'usage limite ces droits à "
            f"{_fr_percent(GUARANTEE_PRACTICE_BP)} globalement.",
            {
                "commune": commune,
                "total_bp": total,
                "limit_bp": GUARANTEE_PRACTICE_BP,
                "effective_from": date.fromordinal(day).isoformat(),
                **{f"contribution:{reference}": bp for reference, bp in contributions.items()},
            },
        )
    ]
