"""The report as a PDF (ReportLab): A4, in French, for printing and sending.

First page: the title and the title block (landlord, reserver, département, year, date of
issue, final or provisional figures). Then each part: its title, its note, its table (the
obligation checks are one of them, each with its status and why). Every page carries a header
with the landlord, reserver, département, year and date of issue, and a footer with the status
of the figures and "Page X / Y".

Tables: headers repeated on every page, long text wrapped, numbers right-aligned and written the
French way ("1 234,50", "25,00 %", dates JJ/MM/AAAA, a missing value "–"), the total row in bold.
Whole numbers are grouped from five digits on ("12 345" but "2025"), as French typography
allows for four: a year column ("Année concernée") is an integer column and must read "2025".
In a part with a ``status`` column (the obligation checks), that column and the ``result`` one
are coloured: red when failed, green when passed. Column widths follow the content; the whole
document is landscape when a table would not fit the width of a portrait page without
squeezing its text.

The font is Bitstream Vera, shipped inside ReportLab and embedded: the 14 standard PDF fonts
cannot write "≤" or "≥", which the checks use. Numbers use a no-break space between digit groups
(Vera has no narrow one).

Long for one reason: ReportLab lays out no table by itself, so column widths, print size,
groups of columns for the widest parts and page-sized chunks for the longest live here.

Deterministic: ReportLab's invariant mode fixes the document's identifier, and its creation date
is the report's date of issue, so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from flux.reporting.model import Column, Part, Report
from flux.reporting.render import NBSP, Value, fr_date, fr_number, fr_percent, rows, scope_labels

_FONT, _BOLD, _ITALIC, _BOLD_ITALIC = "FluxVera", "FluxVera-Bold", "FluxVera-It", "FluxVera-BI"
_MARGIN = 1.5 * cm
_TOP, _BOTTOM = 2.3 * cm, 1.8 * cm
_PAD = 3.0  # points, left and right of each cell
_CELL_SIZES = (7.5, 6.5, 5.5)  # table font sizes, the largest first (see _Grid.layout)
_MAX_TEXT_WIDTH = 220.0  # points: longer text wraps
_MAX_LINES = 3.0  # mean lines per row above which a smaller print is tried
_SAMPLE = 2_000  # rows measured to choose a layout
_LEADING = 1.2  # line height in a table, as a multiple of the font size
_VPAD = 1.5  # points, above and below each cell's text
_MISSING = "–"
_GREY = colors.Color(0.87, 0.89, 0.93)
_ZEBRA = colors.Color(0.96, 0.97, 0.98)


# A detail part longer than this is not printed (about 25 pages): a PDF is read by people;
# the whole table is in the other formats. The national breakdown has ~330 000 rows.
PDF_DETAIL_MAX_ROWS = 1_000


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes; the same report gives the same bytes."""
    _register_fonts()
    styles = _Styles()
    parts = [_Grid(part, list(rows(part))) for part in report.parts]
    portrait_width = A4[0] - 2 * _MARGIN
    wide = any(not p.fits(portrait_width, _CELL_SIZES[0]) for p in parts)
    page_size = landscape(A4) if wide else A4
    frame_width = page_size[0] - 2 * _MARGIN

    story: list[Flowable] = _title_block(report, styles, frame_width)
    for grid in parts:
        story.extend(_part_story(grid, frame_width, styles))

    buffer = io.BytesIO()
    meta = report.meta
    document = SimpleDocTemplate(
        buffer,
        pagesize=page_size,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_TOP,
        bottomMargin=_BOTTOM,
        title=meta.title,
        author=meta.generated_by,
        subject=f"Bilan annuel {meta.year}",
        creator=meta.generated_by,
        lang="fr-FR",
        invariant=1,
    )
    decorate = _PageDecoration(report)
    document.build(
        story,
        onFirstPage=decorate.first_page,
        onLaterPages=decorate,
        canvasmaker=_NumberedCanvas,
    )
    return buffer.getvalue()


def _register_fonts() -> None:
    if _FONT in pdfmetrics.getRegisteredFontNames():
        return
    for name, file in (
        (_FONT, "Vera.ttf"),
        (_BOLD, "VeraBd.ttf"),
        (_ITALIC, "VeraIt.ttf"),
        (_BOLD_ITALIC, "VeraBI.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, file))
    pdfmetrics.registerFontFamily(
        _FONT, normal=_FONT, bold=_BOLD, italic=_ITALIC, boldItalic=_BOLD_ITALIC
    )


class _Styles:
    def __init__(self) -> None:
        self.title = ParagraphStyle("title", fontName=_BOLD, fontSize=16, leading=20)
        self.heading = ParagraphStyle(
            "heading", fontName=_BOLD, fontSize=12, leading=15, spaceBefore=14, spaceAfter=4
        )
        self.note = ParagraphStyle("note", fontName=_ITALIC, fontSize=8.5, leading=11, spaceAfter=6)
        self.body = ParagraphStyle("body", fontName=_FONT, fontSize=9.5, leading=12.5)
        self.sequel = ParagraphStyle(
            "sequel", fontName=_BOLD, fontSize=9.5, leading=12, spaceBefore=10, spaceAfter=4
        )
        self._cells: dict[tuple[float, bool, bool], ParagraphStyle] = {}

    def cell(self, size: float, bold: bool, right: bool) -> ParagraphStyle:
        key = (size, bold, right)
        if key not in self._cells:
            self._cells[key] = ParagraphStyle(
                f"cell-{size}-{bold}-{right}",
                fontName=_BOLD if bold else _FONT,
                fontSize=size,
                leading=size * 1.2,
                alignment=TA_RIGHT if right else TA_LEFT,
            )
        return self._cells[key]


# --- the title block and the parts ----------------------------------------------------------


def _title_block(report: Report, styles: _Styles, width: float) -> list[Flowable]:
    block = Table(
        [
            [
                Paragraph(f"<b>{escape(label)}</b>", styles.body),
                Paragraph(escape(value), styles.body),
            ]
            for label, value in scope_labels(report.meta)
        ],
        colWidths=[3.5 * cm, width - 3.5 * cm],
        hAlign="LEFT",
    )
    block.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return [Paragraph(escape(report.meta.title), styles.title), Spacer(0, 8), block]


def _part_story(grid: _Grid, width: float, styles: _Styles) -> list[Flowable]:
    part = grid.part
    story: list[Flowable] = [
        CondPageBreak(5 * cm),  # a title never stays alone at the bottom of a page
        Paragraph(escape(part.title), styles.heading),
    ]
    if part.note:
        story.append(Paragraph(escape(part.note), styles.note))
    if not grid.texts:
        story.append(Paragraph("Aucune ligne pour ce périmètre.", styles.body))
        return story
    if part.detail and len(grid.texts) > PDF_DETAIL_MAX_ROWS:
        story.append(
            Paragraph(
                f"Ce tableau croisé compte {fr_number(len(grid.texts), 0, NBSP)} lignes : il "
                "figure en entier dans les exports CSV et XLSX (et JSON) du même bilan, où il se "
                "filtre et se croise ; la répartition par dimension qui suit en donne la synthèse.",
                styles.body,
            )
        )
        return story
    everything = list(range(len(part.columns)))
    if grid.layout(everything, width) is not None:
        story.append(grid.table(everything, width, styles))
        return story
    groups = grid.groups(width)
    for number, columns in enumerate(groups, start=1):
        if number > 1:
            story.append(CondPageBreak(4 * cm))
            story.append(
                Paragraph(f"{escape(part.title)} (suite, {number}/{len(groups)})", styles.sequel)
            )
        story.append(grid.table(columns, width, styles))
    return story


def _display(value: Value, column: Column) -> str:
    if value is None:
        return "" if column.kind == "text" else _MISSING
    kind = column.kind
    if kind == "integer":
        return fr_number(value, 0, NBSP if abs(value) >= 10_000 else "")  # type: ignore[arg-type]
    if kind == "dwellings":
        return fr_number(value, 2, NBSP)  # type: ignore[arg-type]
    if kind == "percent":
        return fr_percent(value, NBSP)  # type: ignore[arg-type]
    if kind == "date":
        return fr_date(value)  # type: ignore[arg-type]
    return str(value)


@dataclass(frozen=True)
class _Row:
    cells: list[str]  # multi-line when the text wraps
    total: bool
    colour: colors.Color | None = None  # of the status cells, for a check's row


# A check's status (flux.domain.obligations.Status values) and the cells it colours.
_STATUS_COLOURS = {"failed": colors.Color(0.75, 0.1, 0.1), "passed": colors.Color(0.1, 0.5, 0.2)}
_STATUS_COLUMNS = ("status", "result")

Layout = tuple[float, list[float]]  # a font size, and each column's width at that size


class _Grid:
    """A part's values written as text once, then laid out for a page width: the whole table,
    or, when it is too wide even in small print, the same rows in groups of columns, each
    group repeating the leading text columns that say what a row is (landlord, reserver…)."""

    def __init__(self, part: Part, values: list[tuple[Value, ...]]) -> None:
        self.part = part
        columns = part.columns
        self.texts = [[_display(v, c) for v, c in zip(row, columns, strict=True)] for row in values]
        keys = [c.key for c in columns]
        status = keys.index("status") if "status" in keys else None
        self.colours = [
            None if status is None else _STATUS_COLOURS.get(row[status])  # type: ignore[arg-type]
            for row in values
        ]
        self._bounds: dict[tuple[int, float], tuple[float, float]] = {}

    def fits(self, width: float, size: float) -> bool:
        """Whether the whole table fits the width without squeezing its text columns."""
        return sum(self._bound(i, size)[1] for i in range(len(self.part.columns))) <= width

    def _bound(self, index: int, size: float) -> tuple[float, float]:
        """A column's narrowest and preferred widths, padding included: numbers and dates never
        wrap; text and headers wrap at spaces, never inside a word."""
        key = (index, size)
        if key not in self._bounds:
            column = self.part.columns[index]
            distinct = {row[index] for row in self.texts}
            content = max((_width(t, _FONT, size) for t in distinct), default=0.0)
            if self.part.total and self.texts:  # the total row is bold, hence wider
                content = max(content, _width(self.texts[-1][index], _BOLD, size))
            label_words = max(_width(w, _BOLD, size) for w in column.label.split() or [""])
            label = _width(column.label, _BOLD, size)
            header = min(label, max(label_words, label / 2))  # a header takes two lines or so
            if column.kind == "text":
                words = max(
                    (_width(w, _FONT, size) for t in distinct for w in t.split()), default=0.0
                )
                low = max(label_words, min(words, _MAX_TEXT_WIDTH / 2), 24.0)
                high = max(header, min(content, _MAX_TEXT_WIDTH), low)
            else:
                low = max(content, label_words)
                high = max(content, header)
            self._bounds[key] = (low + 2 * _PAD, high + 2 * _PAD)
        return self._bounds[key]

    def layout(
        self, columns: Sequence[int], width: float, sizes: Sequence[float] = _CELL_SIZES
    ) -> Layout | None:
        """A font size and the columns' widths at that size; None when even their narrowest
        widths at the smallest size are too wide.

        At each size the columns get their preferred widths when those fit, else their
        narrowest plus the room left, shared out in proportion to how much text each holds.
        The size is the largest at which a row takes at most _MAX_LINES lines on average, else
        the one where rows take the fewest: print shrinks only to stop text from running down
        a narrow column.
        """
        candidates = []
        for size in sizes:
            widths = self._widths(columns, size, width)
            if widths is not None:
                candidates.append((size, widths, self._lines(columns, size, widths)))
        if not candidates:
            return None
        size, widths, _ = next(
            (c for c in candidates if c[2] <= _MAX_LINES), min(candidates, key=lambda c: c[2])
        )
        return size, widths

    def _widths(self, columns: Sequence[int], size: float, width: float) -> list[float] | None:
        narrowest = [self._bound(i, size)[0] for i in columns]
        preferred = [self._bound(i, size)[1] for i in columns]
        if sum(preferred) <= width:
            return preferred
        if sum(narrowest) > width:
            return None
        weights = [
            self._text_width(i, size) if self.part.columns[i].kind == "text" else p - n
            for i, n, p in zip(columns, narrowest, preferred, strict=True)
        ]
        return _fill(narrowest, preferred, weights, width)

    def _text_width(self, index: int, size: float) -> float:
        """The mean width of a text column's values (over the first rows)."""
        sample = self.texts[:_SAMPLE]
        return sum(_width(row[index], _FONT, size) for row in sample) / max(len(sample), 1)

    def _lines(self, columns: Sequence[int], size: float, widths: Sequence[float]) -> float:
        """The mean number of lines a row takes (estimated over the first rows)."""
        text = [(i, w - 2 * _PAD) for i, w in zip(columns, widths, strict=True)]
        text = [(i, w) for i, w in text if self.part.columns[i].kind == "text"]
        sample = self.texts[:_SAMPLE]
        total = 0
        for row in sample:
            # Tolerance: a column exactly as wide as its text holds it on one line.
            lines = (math.ceil(_width(row[i], _FONT, size) / w - 1e-6) for i, w in text)
            total += max(1, *lines) if text else 1
        return total / max(len(sample), 1)

    def groups(self, width: float) -> list[list[int]]:
        """The columns in groups that fit the width in readable print (the two larger sizes),
        each starting with the leading text columns."""
        count = len(self.part.columns)
        readable = _CELL_SIZES[:2]
        identity: list[int] = []
        for index, column in enumerate(self.part.columns):
            if column.kind != "text" or index == count - 1:
                break
            if self.layout([*identity, index], width / 2, readable) is None:
                break  # the identifying columns keep at least half the width for the others
            identity.append(index)
        others = list(range(len(identity), count))
        groups: list[list[int]] = []
        current: list[int] = []
        for index in others:
            if current and self.layout([*identity, *current, index], width, readable) is None:
                groups.append(current)
                current = []
            current.append(index)
        groups.append(current)
        # As many groups, of even sizes when they fit: the first is then no more cramped
        # than the last.
        size = -(-len(others) // len(groups))
        even = [others[start : start + size] for start in range(0, len(others), size)]
        if len(even) == len(groups) and all(
            self.layout([*identity, *group], width, readable) is not None for group in even
        ):
            groups = even
        return [[*identity, *group] for group in groups]

    def table(self, columns: Sequence[int], width: float, styles: _Styles) -> Flowable:
        layout = self.layout(columns, width)
        if layout is None:  # one column too wide for the page: scale down, text overflows
            size = _CELL_SIZES[-1]
            narrowest = [self._bound(i, size)[0] for i in columns]
            layout = size, [n * width / sum(narrowest) for n in narrowest]
        size, widths = layout
        chosen = [self.part.columns[i] for i in columns]
        header = [
            Paragraph(escape(c.label), styles.cell(size, True, c.kind != "text")) for c in chosen
        ]
        last = len(self.texts) - 1
        body = []
        for index, texts in enumerate(self.texts):
            total = self.part.total and index == last
            font = _BOLD if total else _FONT
            cells = [
                _wrapped(texts[i], font, size, w - 2 * _PAD) if c.kind == "text" else texts[i]
                for i, c, w in zip(columns, chosen, widths, strict=True)
            ]
            body.append(_Row(cells, total, self.colours[index]))
        right = [n for n, c in enumerate(chosen) if c.kind != "text"]
        tinted = [n for n, c in enumerate(chosen) if c.key in _STATUS_COLUMNS]

        def make(chunk: Sequence[_Row]) -> Table:
            return _table(header, chunk, widths, size, right, tinted)

        row_height = size * _LEADING + 2 * _VPAD  # a one-line row, the lowest there is
        if len(body) * row_height <= 2 * A4[1]:
            return make(body)
        return _LongTable(body, make, row_height)


def _fill(
    narrowest: list[float], preferred: list[float], weights: list[float], width: float
) -> list[float]:
    """Widths from the narrowest up, the room left shared by weight, none above its
    preferred width (what a column cannot take goes to the others)."""
    widths = list(narrowest)
    room = width - sum(widths)
    growing = [i for i, (w, p) in enumerate(zip(widths, preferred, strict=True)) if p > w]
    while room > 1e-6 and growing:
        total = sum(weights[i] for i in growing)
        given = 0.0
        for i in growing:
            share = room * (weights[i] / total if total > 0 else 1 / len(growing))
            step = min(share, preferred[i] - widths[i])
            widths[i] += step
            given += step
        room -= given
        growing = [i for i in growing if preferred[i] - widths[i] > 1e-6]
    return widths


@lru_cache(maxsize=65_536)
def _width(text: str, font: str, size: float) -> float:
    """The text's width in points (cached: reports repeat the same communes and names)."""
    return pdfmetrics.stringWidth(text, font, size)


def _wrapped(text: str, font: str, size: float, width: float) -> str:
    """The text broken into lines at spaces to fit the width. A table draws a plain string
    many times faster than a Paragraph, which matters for a national breakdown."""
    if _width(text, font, size) <= width:
        return text
    return "\n".join(simpleSplit(text, font, size, width))


def _table(
    header: list[Paragraph],
    chunk: Sequence[_Row],
    widths: list[float],
    size: float,
    right: list[int],
    tinted: list[int],
) -> Table:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), _FONT, size, size * _LEADING),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), _VPAD),
        ("BOTTOMPADDING", (0, 0), (-1, -1), _VPAD),
        ("BACKGROUND", (0, 0), (-1, 0), _GREY),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _ZEBRA]),
        ("LINEBELOW", (0, -1), (-1, -1), 0.3, colors.grey),
    ]
    commands.extend(("ALIGN", (i, 0), (i, -1), "RIGHT") for i in right)
    for index, row in enumerate(chunk, start=1):
        if row.total:
            commands.append(("FONT", (0, index), (-1, index), _BOLD, size, size * _LEADING))
            commands.append(("LINEABOVE", (0, index), (-1, index), 0.8, colors.black))
        if row.colour is not None:
            commands.extend(("TEXTCOLOR", (i, index), (i, index), row.colour) for i in tinted)
    table = Table(
        [header] + [row.cells for row in chunk], colWidths=widths, repeatRows=1, hAlign="LEFT"
    )
    table.setStyle(TableStyle(commands))
    return table


class _LongTable(Flowable):
    """A table of more rows than a page holds, handed to ReportLab one page at a time.

    ReportLab re-measures every remaining row of a table at each page break, which is quadratic
    in the rows (minutes for a national breakdown); this flowable offers it only the rows that
    could fit in the space left (no row is lower than ``row_height``) and keeps the rest for the
    next page. It always claims more height than is left, so the frame asks it to split.
    """

    def __init__(
        self, body: Sequence[_Row], make: Callable[[Sequence[_Row]], Table], row_height: float
    ) -> None:
        super().__init__()
        self._body = body
        self._make = make
        self._row_height = row_height

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return availWidth, availHeight + 1

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        room = int(availHeight // self._row_height) + 1  # more rows than the space can hold
        table = self._make(self._body[:room])
        _, height = table.wrap(availWidth, availHeight)
        if height <= availHeight:  # the last rows, or rows lower than expected
            rest = self._body[room:]
            return [table, self._after(rest)] if rest else [table]
        pieces = table.split(availWidth, availHeight)
        if not pieces:
            return []  # not even one row fits here: ReportLab moves on to the next page
        done = len(pieces[0]._cellvalues) - 1  # the rows of this page, header excluded
        return [pieces[0], self._after(self._body[done:])]

    def _after(self, rest: Sequence[_Row]) -> _LongTable:
        return _LongTable(rest, self._make, self._row_height)

    def draw(self) -> None:  # never drawn whole: wrap() always asks for a split
        raise AssertionError("_LongTable is always split before it is drawn")


# --- every page: header, footer, page numbers ---------------------------------------------


class _PageDecoration:
    """The header and footer drawn on every page (the page count comes at save time)."""

    def __init__(self, report: Report) -> None:
        meta = report.meta
        labels = dict(scope_labels(meta))
        self.left = [f"Bailleur : {labels['Bailleur']}", f"Réservataire : {labels['Réservataire']}"]
        self.right = [
            f"Bilan annuel {meta.year} — Département : {labels['Département']}",
            f"Édité le {fr_date(meta.issued_on)}",
        ]
        self.footer = f"{meta.generated_by} — {labels['Statut']}"
        self.issued_on = meta.issued_on

    def first_page(self, canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.setDateFormatter(_creation_date(self.issued_on))
        self(canvas, document)

    def __call__(self, canvas: Canvas, document: SimpleDocTemplate) -> None:
        page_width, page_height = canvas._pagesize
        half = (page_width - 2 * _MARGIN) / 2 - 6
        canvas.saveState()
        canvas.setFont(_FONT, 7.5)
        top = page_height - 1.1 * cm
        for index, (left, right) in enumerate(zip(self.left, self.right, strict=True)):
            y = top - index * 9.5
            canvas.drawString(_MARGIN, y, _fit(left, _FONT, 7.5, half))
            canvas.drawRightString(page_width - _MARGIN, y, _fit(right, _FONT, 7.5, half))
        canvas.setLineWidth(0.4)
        canvas.line(_MARGIN, top - 14, page_width - _MARGIN, top - 14)
        canvas.line(_MARGIN, 1.35 * cm, page_width - _MARGIN, 1.35 * cm)
        canvas.drawString(_MARGIN, 1.0 * cm, _fit(self.footer, _FONT, 7.5, half))
        canvas.restoreState()


def _creation_date(day: date) -> Callable[..., str]:
    """ReportLab's date formatter, ignoring the clock: the document dates from its issue."""
    stamp = f"D:{day:%Y%m%d}000000+00'00'"
    return lambda *_: stamp


def _fit(text: str, font: str, size: float, width: float) -> str:
    """The text, cut with "…" to the width."""
    if _width(text, font, size) <= width:
        return text
    while text and _width(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


class _NumberedCanvas(Canvas):
    """Holds every page until the end to write "Page X / Y" on each (ReportLab's recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (ReportLab's name)
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        count = len(self._held)
        for state in self._held:
            self.__dict__.update(state)
            width = self._pagesize[0]
            self.setFont(_FONT, 7.5)
            self.drawRightString(width - _MARGIN, 1.0 * cm, f"Page {self._pageNumber} / {count}")
            super().showPage()
        super().save()
