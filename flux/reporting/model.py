"""The shape every report takes between its figures and its renderers.

A report is a title block (``ReportMeta``) and ordered parts; each part is one pandas frame whose
columns are declared (``Column``): a snake_case key (the JSON field and the frame's column name),
a French label (CSV/XLSX/PDF headers) and a kind that tells renderers how to show the values.

Values in frames, by kind:
- ``integer``: Python ``int`` (counts of dwellings, years);
- ``dwellings``: ``Decimal`` (targets, gaps, carry-over: exact, up to four decimals);
- ``percent``: ``Decimal`` fraction, 0.25 == 25 % (a rate, or a convention's percentage), or None
  when it is not defined (nothing to divide by);
- ``date``: ``datetime.date``;
- ``text``: ``str`` (or None).
No float anywhere: the renderers convert for display only (an XLSX cell is a number).

A part may end with a total row (``total=True``): the frame's last row, whose first text column
says "Total". Its figures are the sums of the rows above (tests recompute them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import pandas as pd

Kind = Literal["integer", "dwellings", "percent", "date", "text"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    # An identifier or a code for programs (landlord_id, reserver_code, check_code…): in the
    # JSON, the CSV (both layouts) and the XLSX; never printed in the PDF, read by people, which
    # shows the names and French labels next to them.
    machine: bool = False


@dataclass(frozen=True)
class Part:
    key: str  # stable, snake_case: "shares", "breakdown", "breakdown_summary", "deductions"…
    title: str  # French: the sheet's name (≤ 31 characters) and the section's heading
    columns: tuple[Column, ...]
    frame: pd.DataFrame  # exactly the columns' keys, in that order
    total: bool = False
    note: str | None = None  # French, one paragraph shown under the heading
    # A detail table (the breakdown's full cross product): always whole in JSON, CSV and XLSX,
    # whose readers filter and pivot; a PDF, read by people, prints it only when it is short
    # and otherwise says where to find it (see flux/reporting/pdf.py).
    detail: bool = False

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass(frozen=True)
class ReportMeta:
    title: str  # "Bilan annuel 2025 de la gestion en flux"
    year: int
    issued_on: date  # date d'édition
    landlord: str | None  # label of the landlord(s) covered, None for "all visible"
    reserver: str | None
    departement: str | None
    closed: bool  # every scope of the report has its year closed (figures frozen)
    generated_by: str = "Flux"
    filters: dict[str, str] = field(default_factory=dict)  # what the caller asked, for the record


@dataclass(frozen=True)
class Report:
    meta: ReportMeta
    parts: tuple[Part, ...]

    def part(self, key: str) -> Part:
        return next(p for p in self.parts if p.key == key)
