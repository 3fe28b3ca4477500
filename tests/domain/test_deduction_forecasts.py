"""The rules of deduction forecasts (domain.md §3), without a database."""

from __future__ import annotations

from datetime import date

import pytest

from flux.domain import deduction_forecasts as rules
from flux.domain.reference import DeductionCategory as C

TODAY = date(2026, 11, 21)


@pytest.mark.parametrize(
    ("year", "allowed"), [(2019, False), (2020, True), (2026, True), (2027, True), (2028, False)]
)
def test_a_forecast_covers_a_year_from_2020_to_next_year(year, allowed):
    assert (rules.year_refusal(year, TODAY) is None) is allowed


@pytest.mark.parametrize(
    ("forecast", "allowed"),
    [
        (0, True),
        (160, True),
        (rules.MAX_FORECAST, True),
        (-1, False),
        (rules.MAX_FORECAST + 1, False),
        (True, False),
        (1.0, False),
        ("3", False),
    ],
)
def test_a_forecast_is_a_whole_number_of_dwellings(forecast, allowed):
    assert (rules.count_refusal(forecast) is None) is allowed


def test_only_new_categories_and_different_figures_are_changes():
    current = {C.INTERNAL_TRANSFER: 160, C.SALE: 5}
    declared = {C.SALE: 5, C.INTERNAL_TRANSFER: 150, C.URBAN_RENEWAL: 40}

    changed = rules.changes(declared, current)

    assert changed == {C.INTERNAL_TRANSFER: 150, C.URBAN_RENEWAL: 40}
    assert list(changed) == [C.INTERNAL_TRANSFER, C.URBAN_RENEWAL]  # the law's order


def test_declaring_what_stands_changes_nothing():
    current = {C.INTERNAL_TRANSFER: 160, C.UNFIT_HOUSING: 0}

    assert rules.changes(dict(current), current) == {}


def test_a_zero_declared_for_an_undeclared_category_is_a_change():
    assert rules.changes({C.DEGRADED_CONDO: 0}, {}) == {C.DEGRADED_CONDO: 0}


def test_the_forecast_reaches_the_reservers_by_28_february():
    assert rules.deadline(2026) == date(2026, 2, 28)
    assert rules.deadline(2028) == date(2028, 2, 28)  # a leap year changes nothing
