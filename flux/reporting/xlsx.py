"""The report as an Excel workbook (xlsxwriter): one sheet per part, formatted for reading.

Each sheet: the title block (report title; landlord, reserver, département; year, date of issue,
final or provisional figures), the part's title and note, then its table: a bold header row that
stays frozen while scrolling (and repeats on printed pages), an autofilter over the rows, column
widths fitted to the content, long text wrapped, and the total row in bold.

Codes stay text (a département "01", a commune "01004", an RPLS or SIREN number keep their
leading zeros: written as strings into text-formatted cells); ids and figures are
numbers. Cells hold values, not text: integers and dwellings are numbers (formats ``0`` and
``0.00``), a percentage is its fraction as a number shown ``0.00 %`` (0.25 shows 25,00 % in
French Excel), a date is a date shown ``dd/mm/yyyy``; a missing value is an empty cell.
Converting a Decimal to a cell's double is display, not computation: the figures stay those of
the frames. Text is written as a string cell, so a name starting with "=" is never taken for a
formula.

The body of each table (all its rows but the total) is written by ``_stream_body`` as the
sheet's XML, the cells xlsxwriter itself would write (a test compares the bytes): its per-cell
path cost ~5 µs a cell, four million cells in a national bilan. It relies on xlsxwriter's
constant-memory internals (the row file, the last row written): pinned by that test.

Deterministic: the workbook's creation date is the report's date of issue, and xlsxwriter dates
every file of the archive 1980-01-01, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from flux.reporting.model import Column, Part, Report
from flux.reporting.render import Value, fr_date, fr_number, fr_percent, rows, scope_labels

_NUMBER_FORMATS = {"integer": "0", "dwellings": "0.00", "percent": "0.00 %", "date": "dd/mm/yyyy"}
_MAX_WIDTH = 50  # characters: longer text wraps
_MAX_STRING = 32_767  # Excel's limit for one cell
_LINE_HEIGHT = 15  # points, Calibri 11
_SAMPLE = 5_000  # rows measured to size the columns


def render_xlsx(report: Report) -> bytes:
    """The report as XLSX bytes; the same report gives the same bytes."""
    buffer = io.BytesIO()
    # Constant memory (issue 13): each row goes to a temporary file as soon as the next one is
    # started, instead of every cell of the workbook staying in memory until the end (1.4 GB
    # for the national bilan); rows are written in order, which _write_part does. Its strings
    # are inline, not shared: a larger file than with the shared table, read the same.
    workbook = Workbook(buffer, {"constant_memory": True})
    meta = report.meta
    workbook.set_properties(
        {
            "title": meta.title,
            "subject": f"Bilan annuel {meta.year}",
            "author": meta.generated_by,
            "created": datetime.combine(meta.issued_on, time()),
        }
    )
    formats = _Formats(workbook)
    names: set[str] = set()
    for part in report.parts:
        sheet = workbook.add_worksheet(_sheet_name(part.title, names))
        _write_part(sheet, report, part, formats)
    workbook.close()
    return buffer.getvalue()


class _Formats:
    """One xlsxwriter format per use, created once per workbook."""

    def __init__(self, workbook: Workbook) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[str, bool], Format] = {}
        self.title = workbook.add_format({"bold": True, "font_size": 14})
        self.heading = workbook.add_format({"bold": True, "font_size": 12})
        self.label = workbook.add_format({"bold": True})
        self.note = workbook.add_format({"italic": True, "text_wrap": True, "valign": "top"})
        self.header = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bottom": 1, "bg_color": "#DDE4EE"}
        )

    def cell(self, kind: str, total: bool) -> Format:
        key = (kind, total)
        if key not in self._cache:
            spec: dict[str, Any] = {"valign": "top"}
            if kind in _NUMBER_FORMATS:
                spec["num_format"] = _NUMBER_FORMATS[kind]
            else:
                spec.update(text_wrap=True, num_format="@")  # text: codes keep their zeros
            if total:
                spec.update(bold=True, top=1)
            self._cache[key] = self._workbook.add_format(spec)
        return self._cache[key]


def _sheet_name(title: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique whatever the case."""
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip().strip("'") or "Partie"
    name, counter = base[:31], 1
    while name.lower() in taken:
        counter += 1
        suffix = f" ({counter})"
        name = base[: 31 - len(suffix)] + suffix
    taken.add(name.lower())
    return name


def _write_part(sheet: Worksheet, report: Report, part: Part, formats: _Formats) -> None:
    values = list(rows(part))
    widths = _widths(part, values)
    row = _write_title_block(sheet, report, formats)
    sheet.write_string(row, 0, part.title, formats.heading)
    if part.note:
        _write_note(sheet, row + 1, part.note, widths, formats)
    # The note's line stays even when empty: every sheet's header is on the same row (8), so
    # pandas.read_excel(..., sheet_name=None, header=7) reads them all.
    header_row = row + 3
    for col, column in enumerate(part.columns):
        sheet.write_string(header_row, col, column.label, formats.header)
    sheet.set_row(
        header_row,
        _LINE_HEIGHT * max(_lines(c.label, w) for c, w in zip(part.columns, widths, strict=True)),
    )
    first_body = header_row + 1
    # A row is taller only when one of its texts is longer than its column: those columns
    # are few (measured once), the others are not looked at row by row.
    texts = [
        (i, w)
        for i, (c, w) in enumerate(zip(part.columns, widths, strict=True))
        if c.kind == "text"
    ]
    body = values[:-1] if part.total and values else values
    _stream_body(sheet, first_body, body, part.columns, formats, texts)
    if part.total and values:
        _write_row(sheet, first_body + len(body), values[-1], part.columns, formats, True)
    for col, column_width in enumerate(widths):
        sheet.set_column(col, col, column_width)
    sheet.freeze_panes(first_body, 0)
    # The filter leaves the total row out: sorting must not move it among the rows.
    last_data = first_body + len(values) - 1 - (1 if part.total and values else 0)
    if last_data >= first_body:
        sheet.autofilter(header_row, 0, last_data, len(part.columns) - 1)
    _page_setup(sheet, report, header_row)


def _write_title_block(sheet: Worksheet, report: Report, formats: _Formats) -> int:
    """The report's title and scope on the sheet's first lines; returns the next free row
    after a blank line."""
    meta = report.meta
    labels = dict(scope_labels(meta))
    sheet.write_string(0, 0, meta.title, formats.title)
    sheet.write_string(
        1,
        0,
        f"Bailleur : {labels['Bailleur']} — Réservataire : {labels['Réservataire']} — "
        f"Département : {labels['Département']}",
    )
    sheet.write_string(
        2, 0, f"Année {meta.year} — édité le {fr_date(meta.issued_on)} — {labels['Statut']}"
    )
    return 4


def _write_note(
    sheet: Worksheet, row: int, note: str, widths: list[int], formats: _Formats
) -> None:
    span = max(len(widths), 6)
    total_width = sum(widths) + 10 * (span - len(widths))
    sheet.merge_range(row, 0, row, span - 1, _clip(note), formats.note)
    sheet.set_row(row, _LINE_HEIGHT * _lines(note, total_width))


def _write_row(
    sheet: Worksheet,
    row: int,
    record: tuple[Value, ...],
    columns: tuple[Column, ...],
    formats: _Formats,
    total: bool,
    first: int = 0,
) -> None:
    for col, (value, column) in enumerate(zip(record, columns, strict=True), start=first):
        cell_format = formats.cell(column.kind, total)
        if value is None:
            sheet.write_blank(row, col, None, cell_format)
        elif column.kind == "text":
            sheet.write_string(row, col, _clip(str(value)), cell_format)
        elif column.kind == "date":
            sheet.write_datetime(row, col, datetime.combine(value, time()), cell_format)  # type: ignore[arg-type]
        elif column.kind == "integer":
            sheet.write_number(row, col, value, cell_format)  # type: ignore[arg-type]
        else:  # dwellings, percent: a Decimal shown as a number
            sheet.write_number(row, col, float(value), cell_format)  # type: ignore[arg-type]


def _stream_body(
    sheet: Worksheet,
    first: int,
    body: list[tuple[Value, ...]],
    columns: tuple[Column, ...],
    formats: _Formats,
    texts: list[tuple[int, int]],
) -> None:
    """The body's rows written as the sheet's XML, straight into the constant-memory row file
    xlsxwriter copies into the sheet at the end (issue 13: its per-cell path, ~5 µs a cell,
    made the XLSX the slowest format). The cells are those xlsxwriter writes: ``<c r s>`` with
    the column's format, numbers as ``<v>``, text as an escaped inline string, an empty cell
    keeping its format; a taller row has its height. The rows before are flushed first and
    xlsxwriter is told the dimensions and the next row, so what follows (the total row, the
    filter, the frozen panes) is written by it as usual."""
    if not body:
        return
    sheet._write_single_row(first)  # the header row goes out; the next row is ``first``
    cells = [_cell_writer(sheet, column, formats, col) for col, column in enumerate(columns)]
    out = sheet.row_data_fh
    chunk: list[str] = []
    for index, record in enumerate(body):
        number = str(first + index + 1)
        lines = 1
        for i, width in texts:
            value = record[i]
            if value is not None and (len(value) > width - 2 or "\n" in value):  # type: ignore[arg-type]
                lines = max(lines, _lines(str(value), width))
        if lines > 1:
            points = int(_LINE_HEIGHT * lines * 4.0 / 3.0 + 0.5) * 0.75  # as set_row rounds
            chunk.append(f'<row r="{number}" ht="{points:.16g}" customHeight="1">')
        else:
            chunk.append(f'<row r="{number}">')
        chunk.extend([cell(number, value) for cell, value in zip(cells, record, strict=True)])
        chunk.append("</row>")
        if len(chunk) > 50_000:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))
    last = first + len(body) - 1
    sheet._check_dimensions(last, len(columns) - 1)
    sheet.previous_row = last + 1  # rows up to ``last`` are written


def _cell_writer(
    sheet: Worksheet, column: Column, formats: _Formats, col: int
) -> Callable[[str, Value], str]:
    """The XML of one column's cell from its row number and value (``_stream_body``)."""
    style = formats.cell(column.kind, False)._get_xf_index()
    letter = xl_col_to_name(col)
    empty = f'" s="{style}"/>'
    if column.kind == "text":
        known: dict[Value, str] = {}  # a breakdown repeats the same few names

        def text(number: str, value: Value) -> str:
            if value is None:
                return f'<c r="{letter}{number}{empty}'
            tail = known.get(value)
            if tail is None:
                tail = known[value] = _inline_string(str(value), style)
            return f'<c r="{letter}{number}{tail}'

        return text
    if column.kind == "date":

        def day(number: str, value: Value) -> str:
            if value is None:
                return f'<c r="{letter}{number}{empty}'
            serial = sheet._convert_date_time(datetime.combine(value, time()))  # type: ignore[arg-type]
            return f'<c r="{letter}{number}" s="{style}"><v>{serial:.16G}</v></c>'

        return day

    def figure(number: str, value: Value) -> str:
        if value is None:
            return f'<c r="{letter}{number}{empty}'
        # An integer as is; a Decimal shown as a number, as write_number does (a double).
        shown = value if isinstance(value, int) else float(value)  # type: ignore[arg-type]
        return f'<c r="{letter}{number}" s="{style}"><v>{shown:.16G}</v></c>'

    return figure


def _inline_string(text: str, style: int) -> str:
    """The end of a text cell after its reference, as xlsxwriter writes an inline string:
    control characters as ``_xHHHH_``, XML's ``& < >`` escaped, spaces kept at the ends."""
    text = XMLwriter._escape_control_characters(_clip(text))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    preserve = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    return f'" s="{style}" t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


def _widths(part: Part, values: list[tuple[Value, ...]]) -> list[int]:
    """Each column's width in characters: its longest value as displayed, its header spread
    over at most three lines (never narrower than its longest word), at most _MAX_WIDTH."""
    widths = []
    for index, column in enumerate(part.columns):
        label_words = max((len(word) for word in column.label.split()), default=1)
        # Measured on the first rows and the total (a national breakdown has 300 000 rows of
        # the same few labels): a longer value further down wraps, never hides.
        sample = values[:_SAMPLE] + values[-1:]
        content = max((len(_displayed(row[index], column)) for row in sample), default=0)
        header = max(label_words, math.ceil(len(column.label) / 3))
        widths.append(min(_MAX_WIDTH, max(content, header, 4) + 2))
    return widths


def _displayed(value: Value, column: Column) -> str:
    """Roughly what the cell shows, to size its column."""
    if value is None:
        return ""
    if column.kind == "dwellings":
        return fr_number(value, 2)  # type: ignore[arg-type]
    if column.kind == "percent":
        return fr_percent(value)  # type: ignore[arg-type]
    if column.kind == "date":
        return fr_date(value)  # type: ignore[arg-type]
    return str(value)


def _lines(text: str, width: int) -> int:
    """How many lines a wrapped text takes in a column ``width`` characters wide (an estimate:
    Excel does not fit the height of a row it did not write itself)."""
    usable = max(width - 2, 1)
    if len(text) <= usable and "\n" not in text:
        return 1
    return max(1, sum(max(1, math.ceil(len(line) / usable)) for line in text.splitlines()))


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_STRING else text[: _MAX_STRING - 1] + "…"


def _page_setup(sheet: Worksheet, report: Report, header_row: int) -> None:
    """Printing: landscape A4, one page wide, the header row on every page, the scope in the
    page header and the page number in the footer."""
    meta = report.meta
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(header_row)
    left = _header_text(f"{meta.landlord or 'Tous bailleurs'} — {meta.reserver or 'Tous'}")
    right = _header_text(f"{meta.title} — édité le {fr_date(meta.issued_on)}")
    sheet.set_header(f"&L{left}&R{right}")
    sheet.set_footer("&RPage &P / &N")


def _header_text(text: str) -> str:
    """Excel's header/footer codes start with "&" (doubled to print one); a header holds at
    most 255 characters in all, so each side is cut to 100."""
    text = text if len(text) <= 100 else text[:99] + "…"
    return text.replace("&", "&&")
