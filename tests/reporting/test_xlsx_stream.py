"""The XLSX body is written as the sheet's XML by flux (issue 13: xlsxwriter's per-cell path
made the XLSX the slowest format). The bytes must be those xlsxwriter writes itself through its
public writers: the same workbook, cell for cell, style for style, row height for row height."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from flux.reporting import xlsx
from flux.reporting.model import Column, Part, Report, ReportMeta
from flux.reporting.render import render

COLUMNS = (
    Column("commune", "Commune"),
    Column("code", "Code INSEE"),
    Column("proposed", "Proposés", "integer"),
    Column("target", "Objectif", "dwellings"),
    Column("rate", "Taux", "percent"),
    Column("on", "Date", "date"),
)
LONG = "Une commune au nom bien plus long que la colonne ne le permet " * 3
TRICKY = [
    ("Saint-Jean & <Fils>", "01004", 12, Decimal("3.25"), Decimal("0.2512"), date(2025, 3, 1)),
    ("  espaces aux bouts  ", "2A004", None, None, None, None),
    ("=SOMME(A1:A2)", "00000", 0, Decimal("-0.004"), Decimal(0), date(2025, 12, 31)),
    ('contrôle\x07 _x0041_ "guillemets"', None, 10**12, Decimal("12345.678"), None, None),
    (LONG, "97411", 7, Decimal("1"), Decimal("1"), date(2024, 2, 29)),
    ("ligne\nsuivante", "59350", -3, Decimal("0.5"), Decimal("0.5"), None),
    ("Total", None, 10**12 + 16, Decimal("12350.424"), None, None),
]


def _report() -> Report:
    keys = [c.key for c in COLUMNS]
    frame = pd.DataFrame(TRICKY, columns=keys, dtype=object)
    empty = pd.DataFrame([], columns=keys, dtype=object)
    meta = ReportMeta(
        title="Bilan annuel 2025",
        year=2025,
        issued_on=date(2026, 1, 2),
        landlord="OPH & Cie",
        reserver=None,
        departement="31",
        closed=True,
    )
    return Report(
        meta,
        (
            Part("communes", "Communes", COLUMNS, frame, note="Une note.", total=True),
            Part("sans_total", "Sans total", COLUMNS, frame.iloc[:-1]),
            Part("vide", "Vide", COLUMNS, empty),
        ),
    )


def _by_xlsxwriter(sheet, first, body, columns, formats, texts):  # noqa: ANN001, ANN202
    """The body through xlsxwriter's public writers (the way before issue 13)."""
    for index, record in enumerate(body):
        row = first + index
        xlsx._write_row(sheet, row, record, columns, formats, False)
        lines = 1
        for i, width in texts:
            value = record[i]
            if value is not None and (len(value) > width - 2 or "\n" in value):
                lines = max(lines, xlsx._lines(str(value), width))
        if lines > 1:
            sheet.set_row(row, xlsx._LINE_HEIGHT * lines)


def _files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_streamed_body_is_what_xlsxwriter_writes(monkeypatch):
    streamed = _files(render(_report(), "xlsx").content)
    monkeypatch.setattr(xlsx, "_stream_body", _by_xlsxwriter)
    written = _files(render(_report(), "xlsx").content)

    assert streamed.keys() == written.keys()
    for name in written:
        assert streamed[name] == written[name], name


@pytest.mark.parametrize("sheet_name", ["Communes", "Sans total"])
def test_the_streamed_body_reads_back_with_its_values_and_types(sheet_name):
    book = openpyxl.load_workbook(io.BytesIO(render(_report(), "xlsx").content))
    sheet = book[sheet_name]
    header = 8  # every sheet's header row (xlsx._write_part)
    assert [c.value for c in sheet[header]] == [c.label for c in COLUMNS]
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=header + 1)]
    expected = TRICKY if sheet_name == "Communes" else TRICKY[:-1]
    assert len(body) == len(expected)
    first = body[0]
    assert first[:3] == ["Saint-Jean & <Fils>", "01004", 12]
    assert first[3] == 3.25 and first[4] == pytest.approx(0.2512)
    assert first[5].date() == date(2025, 3, 1)
    assert body[1][0] == "  espaces aux bouts  " and body[1][2:] == [None] * 4
    assert body[2][0] == "=SOMME(A1:A2)" and body[2][1] == "00000"  # text, not a formula
    # Control characters are written _xHHHH_ as xlsxwriter does (the test above); openpyxl
    # does not decode them back, Excel does.
    assert body[3][0].startswith("contrôle") and body[3][2] == 10**12
    assert body[4][5].date() == date(2024, 2, 29)
    assert sheet.cell(header + 1, 2).number_format == "@"
    assert sheet.row_dimensions[header + 5].height > 15  # the long name wraps: a taller row
    assert sheet.freeze_panes == f"A{header + 1}"
