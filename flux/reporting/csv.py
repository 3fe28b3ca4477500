"""The report as one CSV file for a French spreadsheet user (Excel or LibreOffice in French).

Encoding and separator (design.md §6): UTF-8 with a byte-order mark, so Excel reads the accents;
``;`` between fields, since the comma is the French decimal separator; CRLF line ends; fields
quoted only when needed. No ``sep=;`` first line: Excel then ignores the BOM and garbles accents.

Layout: one file, not a ZIP of one file per part, because a user double-clicks a CSV and expects
the whole report on screen. The file reads top to bottom like the printed report:

    Bilan annuel 2025 de la gestion en flux      (the title)
    Bailleur;Habitat 31                          (the title block: one "label;value" per line)
    ...
    <blank line>
    Parts par convention                          (each part: its title on its own line,
    Note : ...                                    its note if any,
    Réservataire;Part;Cible;...                   its French headers,
    ...                                           its rows, the total row last)
    <blank line>

For programs, the tidy layout (issue 13; ``render_part_csv``, ``?format=csv&part=<key>``, and
``render_zip``, ``?format=zip``: every part in one archive): one file per part, one header row
of the columns' keys (snake_case, as the JSON's fields), one row per record (no title, note or
total row), the ids and codes as columns; ``,`` between fields, UTF-8 without BOM, values as the
JSON writes them (integers bare, dwellings and percentages with a decimal point, "178.75" and
"25.00", dates ISO 8601, a missing value an empty field). ``pandas.read_csv(path)`` reads it
as is, to the rows of the JSON.

Values: integers bare ("1234"); dwellings with a decimal comma and at least two decimals, exact
otherwise ("178,75", "0,3333"), so a user's SUM over a column equals the total row; no thousands
separator, which would turn a number into text on import. Percentages as "25,00 %": what the
reader expects to see and what a French user types, which a French spreadsheet reads as the
number 0,25 shown as a percentage (a bare "25,00" would be 100 times the rate in a formula, a
bare "0,25" misread by a person). Dates JJ/MM/AAAA, read as dates by a French spreadsheet. A
missing value is an empty field. A text starting with = + - @ gets a leading apostrophe, so a
spreadsheet shows it as text instead of running it as a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

from flux.reporting.model import Column, Part, Report
from flux.reporting.render import (
    Value,
    fr_date,
    fr_number,
    fr_percent,
    json_value,
    rows,
    scope_labels,
)

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render_csv(report: Report) -> bytes:
    """The report as UTF-8 (with BOM) CSV bytes; the same report gives the same bytes."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_text(report.meta.title)])
    for label, value in scope_labels(report.meta):
        writer.writerow([label, _text(value)])
    for part in report.parts:
        writer.writerow([])
        writer.writerow([_text(part.title)])
        if part.note:
            writer.writerow([_text(f"Note : {part.note}")])
        writer.writerow([_text(column.label) for column in part.columns])
        for row in rows(part):
            writer.writerow(
                [_field(value, column) for value, column in zip(row, part.columns, strict=True)]
            )
    return (BOM + buffer.getvalue()).encode("utf-8")


def _field(value: Value, column: Column) -> str:
    if value is None:
        return ""
    kind = column.kind
    if kind == "integer":
        return str(value)
    if kind == "dwellings":
        return _exact(value)  # type: ignore[arg-type]
    if kind == "percent":
        return fr_percent(value)  # type: ignore[arg-type]
    if kind == "date":
        return fr_date(value)  # type: ignore[arg-type]
    return _text(str(value))


def _exact(value: Decimal) -> str:
    """At least two decimals, and every decimal the figure has (targets have up to four)."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return fr_number(value, places)


def _text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


# --- the tidy layout, for programs -------------------------------------------------------------


def render_part_csv(part: Part) -> bytes:
    """One part as a tidy CSV (see the module's docstring): keys as headers, records only."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.key for column in part.columns])
    records = list(rows(part))
    if part.total and records:
        records.pop()  # a total is no record
    for row in records:
        writer.writerow(
            [
                "" if value is None else json_value(value, column)
                for value, column in zip(row, part.columns, strict=True)
            ]
        )
    return buffer.getvalue().encode("utf-8")


# Every member of the archive carries this date: the same report gives the same bytes.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def render_zip(report: Report) -> bytes:
    """Every part as a tidy CSV (``<key>.csv``) in one ZIP archive, in the report's order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for part in report.parts:
            member = zipfile.ZipInfo(f"{part.key}.csv", date_time=_ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, render_part_csv(part))
    return buffer.getvalue()
