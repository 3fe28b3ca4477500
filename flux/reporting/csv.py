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

A program splits the file on blank lines and reads each block with
``pandas.read_csv(..., sep=";", decimal=",", skiprows=<1, or 2 with a note>)``; programs should
rather use the JSON of the API.

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
from decimal import Decimal

from flux.reporting.model import Column, Report
from flux.reporting.render import Value, fr_date, fr_number, fr_percent, rows, scope_labels

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
