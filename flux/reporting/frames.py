"""Frames of a report: rows of plain Python values in a pandas frame of declared columns.

The bilan annuel is built by ``flux.reporting.annual`` from the facts of each scope's year
(``flux.reporting.facts``); this module holds what every part shares: the frame itself (object
columns, so values stay Python ``int``/``Decimal``/``date``/``str`` as ``model.py`` requires, never
numpy floats), the total row, and the conversions from the engine's units.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pandas as pd

from flux.reporting.model import Column, Part

TOTAL = "Total"
_SUMMED = ("integer", "dwellings")
_RATE_PLACES = Decimal("0.000001")  # a rate to 1/10 000 of a percent point; shown with two


def dwellings(units: int) -> Decimal:
    """Basis-point units as dwellings, exact: 1787500 -> Decimal("178.7500")."""
    return Decimal(units).scaleb(-4)


def percent(basis_points: int) -> Decimal:
    """A convention's percentage as a fraction, exact: 2500 -> Decimal("0.2500")."""
    return Decimal(basis_points).scaleb(-4)


def rate(value: Fraction | None) -> Decimal | None:
    """An exact rate as a Decimal fraction, rounded half up to 10⁻⁶ (display only)."""
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        _RATE_PLACES, rounding=ROUND_HALF_UP
    )


def frame(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows (tuples in the columns' order) as a frame of object columns."""
    keys = [column.key for column in columns]
    if not rows:
        return pd.DataFrame({key: pd.Series([], dtype=object) for key in keys})
    return pd.DataFrame(list(rows), columns=keys, dtype=object)


def total_row(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """The sums of the integer and dwellings columns (not the ids); "Total" in the first text
    column."""
    first_text = next(i for i, column in enumerate(columns) if column.kind == "text")
    values: list[Any] = []
    for index, column in enumerate(columns):
        if column.kind in _SUMMED and not column.machine:  # an id is no figure
            found = [row[index] for row in rows if row[index] is not None]
            zero: Any = 0 if column.kind == "integer" else dwellings(0)
            values.append(sum(found, zero))
        elif index == first_text:
            values.append(TOTAL)
        else:
            values.append(None)
    return tuple(values)


def part(
    key: str,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    total: bool = False,
    note: str | None = None,
    detail: bool = False,
    total_values: dict[str, Any] | None = None,
) -> Part:
    """A part from its rows, with its total row last when ``total``: the sums, except the
    columns of ``total_values``, whose total is not a sum (the flux is a number of distinct
    vacancies, not the sum of each share's eligible ones)."""
    rows = list(rows)
    if total:
        last = list(total_row(columns, rows))
        for index, column in enumerate(columns):
            if total_values and column.key in total_values:
                last[index] = total_values[column.key]
        rows.append(tuple(last))
    return Part(
        key, title, tuple(columns), frame(columns, rows), total=total, note=note, detail=detail
    )
