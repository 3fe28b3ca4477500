"""Deduction forecasts (domain.md §3): before 28 February of year N the landlord tells every
reserver how many vacancies of N it expects to deduct from the flux base, by category; the bilan
of N sets them against the actual deductions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flux.domain.reference import DeductionCategory

FIRST_YEAR = 2020  # décret n° 2020-145: the management in flux starts
MAX_FORECAST = 1_000_000  # dwellings: more than any landlord's stock in a département


def year_refusal(year: int, today: date) -> str | None:
    """Why no forecast may be declared for `year` (None when one may): from 2020 to next year."""
    if year < FIRST_YEAR:
        return f"Pas de prévision avant {FIRST_YEAR} (gestion en flux, décret n° 2020-145)."
    if year > today.year + 1:
        return f"Une prévision porte au plus sur l'année prochaine ({today.year + 1})."
    return None


def count_refusal(forecast: int) -> str | None:
    """Why a forecast figure is refused (None when it is a count of dwellings)."""
    if isinstance(forecast, bool) or not isinstance(forecast, int):
        return "Nombre entier de logements attendu."
    if not 0 <= forecast <= MAX_FORECAST:
        return f"Nombre de logements entre 0 et {MAX_FORECAST}."
    return None


def changes(
    declared: Mapping[DeductionCategory, int], current: Mapping[DeductionCategory, int]
) -> dict[DeductionCategory, int]:
    """The figures a declaration changes: new categories and different figures, in the order of
    the law's list; a figure declared again as it stands changes nothing."""
    return {
        category: declared[category]
        for category in DeductionCategory
        if category in declared and current.get(category) != declared[category]
    }


def deadline(year: int) -> date:
    """The last day a forecast of `year` reaches the reservers in time ("before 28 February":
    the 28th itself is taken as in time)."""
    return date(year, 2, 28)


def is_late(year: int, declared_on: date) -> bool:
    """Whether a forecast of `year` declared on `declared_on` (a Paris date) came after its
    deadline: one declared before it, or for a year whose deadline is still to come, is not."""
    return declared_on > deadline(year)
