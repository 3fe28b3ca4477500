"""The report as a PDF (ReportLab): A4, in French, for printing and sending.

A document, not an export (issue 13). First page: the title and the title block (landlord,
reserver, département, year, date of issue, final or provisional figures), then the synthesis
in portrait: the key figures, target against counted per reserver and share (the table, and its
chart drawn by matplotlib, ``flux.reporting.charts``), the obligations breached (each with its
article, figures and sentence) and those met only within tolerance. Then each other part as an
annex ("Annexe N — title"), on a new page, in portrait or landscape as its table needs (two page
templates; a change of orientation starts a page). Ids and codes for programs are never
printed (``Column.machine``, and the checks' code and status, whose French label is). The
breakdown's cross table is left to the other formats; a check table or a summary longer than
PDF_DETAIL_MAX_ROWS is cut to its breached rows, or left to the other formats.

Every page carries a header with the landlord, reserver, département, year and date of issue,
and a footer with the status of the figures and "Page X / Y".

Tables: headers repeated on every page, long text wrapped, numbers right-aligned and written the
French way ("1 234,50", "25,00 %", dates JJ/MM/AAAA, a missing value "–"), the total row in bold.
Whole numbers are grouped from five digits on ("12 345" but "2025"), as French typography
allows for four: a year column ("Année concernée") is an integer column and must read "2025".
In a part with a ``status`` column (the obligation checks), the ``result`` column is coloured:
red when failed, green when passed. Column widths follow the content; an annex is landscape
when its table would not fit the width of a portrait page without squeezing its text.

The font is Bitstream Vera, shipped inside ReportLab and embedded: the 14 standard PDF fonts
cannot write "≤" or "≥", which the checks use. Numbers use a no-break space between digit groups
(Vera has no narrow one).

Long for one reason: ReportLab lays out no table by itself, so column widths, print size,
groups of columns for the widest parts and page-sized chunks for the longest live here.

Deterministic: ReportLab's invariant mode fixes the document's identifier, and its creation date
is the report's date of issue, so the same report gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
import threading
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
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from flux.reporting import annual
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


# Parts that are the synthesis (printed first, in their own way) and parts only printed when
# short: their long versions are read in the other formats.
_SYNTHESIS = ("key_figures", "synthesis")
_SHORT_ONLY = ("breakdown", "breakdown_summary")
# Columns of codes for programs that the checks part (flux/reporting/checks.py) does not mark
# as machine columns: never printed, the French label of each is.
_HIDDEN = {("checks", "code"), ("checks", "status")}
_PORTRAIT, _LANDSCAPE = "portrait", "landscape"
_CHART_SHARES = 25  # bars in the synthesis chart, the largest targets


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes; the same report gives the same bytes.

    First the synthesis (portrait): key figures, target against counted per reserver and
    share with its chart, and the obligations breached or met only within tolerance, each with
    its article, figures and sentence. Then the detailed parts as annexes, each on the page
    orientation its table needs (landscape when it would not fit a portrait page)."""
    _register_fonts()
    styles = _Styles()
    portrait_width = A4[0] - 2 * _MARGIN
    landscape_width = A4[1] - 2 * _MARGIN

    synthesis = _synthesis(report, styles, portrait_width)
    # A table left to the other formats is not written out (a national breakdown has 300 000
    # rows): its grid only knows how many rows it has.
    grids = [
        _Grid(part, [] if _left_out(part) else list(rows(part)), count=len(part.frame))
        for part in report.parts
        if part.key not in _SYNTHESIS
    ]
    wide = [grid.printed() and not grid.fits(portrait_width, _CELL_SIZES[0]) for grid in grids]
    # The first page is portrait for the synthesis; without one, that of the first table.
    first = _LANDSCAPE if not synthesis and wide[:1] == [True] else _PORTRAIT
    width = landscape_width if first == _LANDSCAPE else portrait_width
    story: list[Flowable] = _title_block(report, styles, width) + synthesis
    orientation = first
    for number, (grid, is_wide) in enumerate(zip(grids, wide, strict=True), start=1):
        wanted = _LANDSCAPE if is_wide else _PORTRAIT
        if wanted != orientation:
            story += [NextPageTemplate(wanted), PageBreak()]
            orientation = wanted
        elif number == 1 and synthesis:
            story.append(PageBreak())  # the annexes after the synthesis, on a new page
        width = landscape_width if is_wide else portrait_width
        title = f"Annexe {number} — {grid.part.title}" if synthesis else grid.part.title
        story.extend(_part_story(grid, width, styles, title))

    buffer = io.BytesIO()
    meta = report.meta
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
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
    templates = {
        _PORTRAIT: _template(_PORTRAIT, A4, decorate),
        _LANDSCAPE: _template(_LANDSCAPE, landscape(A4), decorate),
    }
    document.addPageTemplates(
        [templates[first], *(t for name, t in templates.items() if name != first)]
    )
    document.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


def _left_out(part: Part) -> bool:
    """Whether the PDF leaves the part's table to the other formats (a note says so)."""
    return part.detail or (part.key in _SHORT_ONLY and len(part.frame) > PDF_DETAIL_MAX_ROWS)


def _template(name: str, size: tuple[float, float], decorate: _PageDecoration) -> PageTemplate:
    frame = Frame(
        _MARGIN,
        _BOTTOM,
        size[0] - 2 * _MARGIN,
        size[1] - _TOP - _BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id=name,
    )
    return PageTemplate(id=name, frames=[frame], pagesize=size, onPage=decorate)


# --- the synthesis ------------------------------------------------------------------------------


def _has(report: Report, key: str, columns: Sequence[str]) -> Part | None:
    """The report's part ``key`` when it has the columns the synthesis reads (a report built
    by hand may have other parts)."""
    part = next((p for p in report.parts if p.key == key), None)
    if part is None or not set(columns) <= {c.key for c in part.columns}:
        return None
    return part


def _records(part: Part) -> list[dict[str, Value]]:
    keys = [c.key for c in part.columns]
    records = [dict(zip(keys, row, strict=True)) for row in rows(part)]
    return records[:-1] if part.total and records else records


def _synthesis(report: Report, styles: _Styles, width: float) -> list[Flowable]:
    figures = _has(report, "key_figures", ("label", "value"))
    synthesis = _has(report, "synthesis", ("reserver", "share", "target", "counted"))
    checks = _has(report, "checks", ("check", "status", "result", "reason"))
    if figures is None and synthesis is None and checks is None:
        return []
    story: list[Flowable] = [Paragraph("Synthèse", styles.heading)]
    if figures is not None:
        story.append(_key_figures(figures, styles, width))
    if synthesis is not None:
        story.append(Paragraph(escape(synthesis.title), styles.subheading))
        if synthesis.note:
            story.append(Paragraph(escape(synthesis.note), styles.note))
        grid = _Grid(synthesis, list(rows(synthesis)))
        if grid.texts:
            story.append(grid.table(list(range(len(grid.part.columns))), width, styles))
            story += _chart(_records(synthesis), styles, width)
    if checks is not None:
        story += _obligations(checks, styles, width)
    return story


def _key_figures(part: Part, styles: _Styles, width: float) -> Flowable:
    cells = [
        [
            Paragraph(escape(str(record["label"])), styles.body),
            Paragraph(f"<b>{_display(record['value'], part.column('value'))}</b>", styles.number),
        ]
        for record in _records(part)
    ]
    table = Table(cells, colWidths=[width - 3.5 * cm, 3.5 * cm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, _GREY),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _chart(records: list[dict[str, Value]], styles: _Styles, width: float) -> list[Flowable]:
    """Target against counted per reserver and share, the largest targets first."""
    bars = sorted(records, key=lambda r: -(r["target"] or 0))[:_CHART_SHARES]  # type: ignore[operator]
    if not bars:
        return []
    from flux.reporting import charts  # matplotlib: imported when a chart is drawn

    labels = [f"{r['reserver']} — {r['share']}" for r in bars]
    height = min(0.75 * cm * len(bars) + 2.2 * cm, 21 * cm)
    png = charts.target_and_counted(
        labels,
        [r["target"] for r in bars],  # type: ignore[misc]
        [r["counted"] for r in bars],  # type: ignore[misc]
        width / 72,
        height / 72,
    )
    story: list[Flowable] = [
        CondPageBreak(height + 1.5 * cm),
        Paragraph("Objectif et réalisé compté par droit", styles.subheading),
        Image(io.BytesIO(png), width=width, height=height),
    ]
    if len(records) > len(bars):
        story.append(
            Paragraph(
                f"Les {len(bars)} droits aux objectifs les plus élevés ; les "
                f"{len(records) - len(bars)} autres figurent au tableau ci-dessus.",
                styles.note,
            )
        )
    return story


_ARTICLE = re.compile(r"\s*\(([^()]*\d[^()]*)\)\s*$")
_OBLIGATIONS_SHOWN = 40
_TOLERANCE_SHOWN = 300
_SCOPES_SHOWN = 20  # scopes named per obligation and landlord met within tolerance


def _obligations(part: Part, styles: _Styles, width: float) -> list[Flowable]:
    """The obligations breached, then those met only within tolerance: each with its article,
    figures and sentence."""
    records = _records(part)
    # Only a failed check is a breach: "within tolerance" and "for information" rows are not.
    breached = [r for r in records if r["status"] == "failed"]
    tolerance = [r for r in records if annual.within_tolerance(str(r["status"]))]
    story: list[Flowable] = [
        CondPageBreak(4 * cm),
        Paragraph("Obligations à examiner", styles.subheading),
    ]
    if not breached and not tolerance:
        story.append(Paragraph("Toutes les obligations contrôlées sont respectées.", styles.body))
        return story
    story.append(
        Paragraph(
            f"{len(breached)} obligation(s) non respectée(s), {len(tolerance)} respectée(s) "
            "dans la tolérance seulement ; le contrôle complet est en annexe.",
            styles.body,
        )
    )
    for record in breached[:_OBLIGATIONS_SHOWN]:
        story.append(_obligation(record, part, styles))
    if len(breached) > _OBLIGATIONS_SHOWN:
        story.append(
            Paragraph(
                f"… et {len(breached) - _OBLIGATIONS_SHOWN} autres : voir l'annexe « "
                f"{escape(part.title)} ».",
                styles.body,
            )
        )
    if tolerance:
        story.append(CondPageBreak(4 * cm))
        story.append(Paragraph("Respectées dans la tolérance seulement", styles.subheading))
        story.append(_tolerance_table(tolerance[:_TOLERANCE_SHOWN], styles, width))
        if len(tolerance) > _TOLERANCE_SHOWN:
            story.append(
                Paragraph(
                    f"… et {len(tolerance) - _TOLERANCE_SHOWN} autres : voir l'annexe.",
                    styles.body,
                )
            )
        story.append(
            Paragraph(
                "Chaque constat, avec sa phrase et ses chiffres, figure à l'annexe du contrôle "
                "des obligations.",
                styles.note,
            )
        )
    return story


def _split_article(label: str) -> tuple[str, str | None]:
    found = _ARTICLE.search(label)
    return (label[: found.start()], found.group(1)) if found else (label, None)


def _tolerance_table(records: list[dict[str, Value]], styles: _Styles, width: float) -> Table:
    """The obligations met only within tolerance, one line per obligation and landlord: its
    article, and each scope with its figures (the full sentences are in the annex)."""
    groups: dict[tuple[str, str], list[dict[str, Value]]] = {}
    for record in records:
        groups.setdefault((str(record["check"]), str(record.get("landlord") or "")), []).append(
            record
        )
    widths = [0.3 * width, 0.2 * width, 0.5 * width]
    header = [
        Paragraph(f"<b>{text}</b>", styles.cell(7.5, True, False))
        for text in ("Obligation (article)", "Bailleur", "Périmètres et chiffres")
    ]
    body = []
    for (check, landlord), members in groups.items():
        label, article = _split_article(check)
        scopes = " ; ".join(_in_short(record) for record in members[:_SCOPES_SHOWN])
        if len(members) > _SCOPES_SHOWN:  # a cell never taller than a page
            scopes += f" ; … et {len(members) - _SCOPES_SHOWN} autres (voir l'annexe)"
        body.append(
            [
                Paragraph(escape(label + (f" ({article})" if article else "")), styles.small),
                Paragraph(escape(landlord), styles.small),
                Paragraph(escape(f"{len(members)} : {scopes}."), styles.small),
            ]
        )
    table = Table([header, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), _GREY),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _ZEBRA]),
                ("LEFTPADDING", (0, 0), (-1, -1), _PAD),
                ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
            ]
        )
    )
    return table


def _in_short(record: dict[str, Value]) -> str:
    """A scope and its figure: "commune 31044 Balma : écart −0,20" or "… : 28,00 %"."""
    scope = str(record.get("scope") or "")
    if record.get("gap") is not None:
        return f"{scope} : écart {fr_number(record['gap'], 2, NBSP)}"  # type: ignore[arg-type]
    if record.get("rate") is not None:
        return f"{scope} : {fr_percent(record['rate'], NBSP)}"  # type: ignore[arg-type]
    return scope


def _obligation(record: dict[str, Value], part: Part, styles: _Styles) -> Flowable:
    label, article = _split_article(str(record["check"]))
    where = ", ".join(
        str(record[key]) for key in ("landlord", "departement", "scope") if record.get(key)
    )
    figures = []
    if record.get("numerator") is not None and record.get("denominator") is not None:
        figures.append(
            f"{_display(record['numerator'], part.column('numerator'))} sur "
            f"{_display(record['denominator'], part.column('denominator'))}"
        )
    for key, name in (("rate", "taux"), ("threshold", "seuil"), ("target", "objectif")):
        if record.get(key) is not None:
            figures.append(f"{name} {_display(record[key], part.column(key))}")
    if record.get("gap") is not None:
        figures.append(f"écart {_display(record['gap'], part.column('gap'))}")
    result = str(record["result"] or "non respectée")
    head = (
        f'<font color="#b01a1a"><b>{escape(result[:1].upper() + result[1:])}</b></font> — '
        f"<b>{escape(label)}</b>" + (f" — article {escape(article)}" if article else "")
    )
    lines = [Paragraph(head, styles.body)]
    detail = escape(where) + (f" : {escape(' ; '.join(figures))}." if figures else ".")
    lines.append(Paragraph(detail, styles.small))
    if record.get("reason"):
        lines.append(Paragraph(escape(str(record["reason"])), styles.small))
    lines.append(Spacer(0, 4))
    return KeepTogether(lines)


_fonts_lock = threading.Lock()


def _register_fonts() -> None:
    # Once per process, whole, under a lock: with threaded workers, a second request must not
    # see the regular face registered while the bold one and the family are still missing.
    with _fonts_lock:
        if _FONT not in pdfmetrics.getRegisteredFontNames():
            _register_font_files()


def _register_font_files() -> None:
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
        self.subheading = ParagraphStyle(
            "subheading", fontName=_BOLD, fontSize=10.5, leading=13, spaceBefore=10, spaceAfter=4
        )
        self.small = ParagraphStyle("small", fontName=_FONT, fontSize=8.5, leading=11)
        self.number = ParagraphStyle(
            "number", fontName=_FONT, fontSize=9.5, leading=12.5, alignment=TA_RIGHT
        )
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


def _part_story(grid: _Grid, width: float, styles: _Styles, title: str) -> list[Flowable]:
    part = grid.part
    story: list[Flowable] = [
        CondPageBreak(5 * cm),  # a title never stays alone at the bottom of a page
        Paragraph(escape(title), styles.heading),
    ]
    if part.note:
        story.append(Paragraph(escape(part.note), styles.note))
    if not grid.count:
        story.append(Paragraph("Aucune ligne pour ce périmètre.", styles.body))
        return story
    long = len(grid.texts) > PDF_DETAIL_MAX_ROWS
    if not grid.printed():
        story.append(
            Paragraph(
                f"Ce tableau compte {fr_number(grid.count, 0, NBSP)} lignes : il figure en "
                "entier dans les exports CSV, XLSX et JSON du même bilan, où il se filtre et se "
                "croise.",
                styles.body,
            )
        )
        return story
    if long and part.key == "checks":
        kept = grid.keep(lambda status: status not in ("passed", "not_applicable"))
        story.append(
            Paragraph(
                f"Le contrôle compte {fr_number(kept[1], 0, NBSP)} lignes ; ne sont imprimées "
                f"ici que les {fr_number(kept[0], 0, NBSP)} obligations non respectées : le "
                "contrôle complet figure dans les exports CSV, XLSX et JSON.",
                styles.body,
            )
        )
        if not kept[0]:
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

    def __init__(
        self, part: Part, values: list[tuple[Value, ...]], count: int | None = None
    ) -> None:
        self.count = len(values) if count is None else count  # rows, written out or not
        keys = [c.key for c in part.columns]
        status = keys.index("status") if "status" in keys else None
        self.statuses = [None if status is None else row[status] for row in values]
        self.colours = [_STATUS_COLOURS.get(s) for s in self.statuses]  # type: ignore[arg-type]
        # Ids and codes are for programs: the PDF shows the names and French labels.
        shown = [
            i
            for i, c in enumerate(part.columns)
            if not c.machine and (part.key, c.key) not in _HIDDEN
        ]
        columns = tuple(part.columns[i] for i in shown)
        self.part = dataclasses.replace(part, columns=columns)
        self.texts = [[_display(row[i], part.columns[i]) for i in shown] for row in values]
        self._bounds: dict[tuple[int, float], tuple[float, float]] = {}

    def printed(self) -> bool:
        """Whether the PDF prints the table (else a note says where to read it)."""
        return bool(self.texts) and not _left_out(self.part)

    def keep(self, wanted: Callable[[Value], bool]) -> tuple[int, int]:
        """Keep only the rows whose status is ``wanted``: (rows kept, rows before)."""
        before = len(self.texts)
        kept = [i for i, status in enumerate(self.statuses) if wanted(status)]
        self.texts = [self.texts[i] for i in kept]
        self.statuses = [self.statuses[i] for i in kept]
        self.colours = [self.colours[i] for i in kept]
        self.part = dataclasses.replace(self.part, total=False)
        self._bounds.clear()
        return len(kept), before

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

    def __call__(self, canvas: Canvas, document: BaseDocTemplate) -> None:
        canvas.setDateFormatter(_creation_date(self.issued_on))
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
