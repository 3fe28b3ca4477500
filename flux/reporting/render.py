"""Render a ``Report`` four ways: JSON (the API), CSV, XLSX and PDF (downloads).

``render(report, fmt)`` returns the bytes with their media type and a file name; ``to_json``
gives the API's document. Renderers only format what the frames hold: they never compute a
total or a rate (design.md §1). The helpers here turn one frame value into a plain Python value
(``cell``) and write French numbers (``fr_number``, ``fr_percent``); the format modules share them.

JSON document, for a client that labels what it shows::

    {"meta": {"title", "year", "issued_on", "landlord", "reserver", "departement", "closed",
              "generated_by", "filters"},
     "parts": [{"key", "title", "note", "columns": [{"key", "label", "kind"}],
                "rows": [{<column key>: value}], "total": {<column key>: value} | null}]}

Values by kind: ``integer`` a number; ``dwellings`` a string with two decimals ("178.75",
rounded half up as ``flux.domain.conventions.format_dwellings``); ``percent`` a string in percent
points with two decimals ("25.00", design.md §6) or null; ``date`` ISO 8601; ``text`` a string.
A part's total row (``Part.total``) is ``total``, never one of ``rows``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from flux.reporting.model import Column, Part, Report, ReportMeta

FORMATS = ("json", "csv", "xlsx", "pdf", "zip")

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}

Value = int | Decimal | date | str | None


@dataclass(frozen=True)
class Rendered:
    content: bytes
    media_type: str
    filename: str


def render(report: Report, fmt: str, part: str | None = None) -> Rendered:
    """The report as a file in one of FORMATS; ``part`` (CSV only): that part alone, as a tidy
    CSV. ValueError (French) for any other format, or a part the report has not."""
    if fmt not in FORMATS:
        raise ValueError(f"Format inconnu « {fmt} » : choisissez parmi {', '.join(FORMATS)}.")
    if part is not None:
        if fmt != "csv":
            raise ValueError("Le paramètre part ne s'emploie qu'avec format=csv.")
        keys = [p.key for p in report.parts]
        if part not in keys:
            raise ValueError(f"Partie inconnue « {part} » : choisissez parmi {', '.join(keys)}.")
        from flux.reporting import csv

        content = csv.render_part_csv(report.part(part))
        name = filename(report.meta, fmt).removesuffix(".csv") + f"-{part}.csv"
        return Rendered(content, MEDIA_TYPES[fmt], name)
    # Imported here: a JSON answer need not load ReportLab or xlsxwriter, and the format
    # modules import the helpers of this one.
    if fmt == "json":
        # Compact, as the API serves it: indenting the national bilan added a third to its size.
        content = json.dumps(to_json(report), ensure_ascii=False).encode("utf-8")
    elif fmt == "csv":
        from flux.reporting import csv

        content = csv.render_csv(report)
    elif fmt == "xlsx":
        from flux.reporting import xlsx

        content = xlsx.render_xlsx(report)
    elif fmt == "zip":
        from flux.reporting import csv

        content = csv.render_zip(report)
    else:
        from flux.reporting import pdf

        content = pdf.render_pdf(report)
    return Rendered(content, MEDIA_TYPES[fmt], filename(report.meta, fmt))


def filename(meta: ReportMeta, fmt: str) -> str:
    """``bilan-2025-<landlord>-<reserver>-<departement>.<fmt>``, ASCII, the unset ones left out."""
    words = [_slug(label) for label in (meta.landlord, meta.reserver, meta.departement) if label]
    slug = "-".join(word for word in words if word)[:80].strip("-")
    return f"bilan-{meta.year}{'-' + slug if slug else ''}.{fmt}"


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


# --- JSON ---------------------------------------------------------------------------------


def to_json(report: Report) -> dict[str, Any]:
    """The report as the API's JSON document (see the module's docstring)."""
    meta = report.meta
    return {
        "meta": {
            "title": meta.title,
            "year": meta.year,
            "issued_on": meta.issued_on.isoformat(),
            "landlord": meta.landlord,
            "reserver": meta.reserver,
            "departement": meta.departement,
            "closed": meta.closed,
            "generated_by": meta.generated_by,
            "filters": dict(meta.filters),
        },
        "parts": [_part_json(part) for part in report.parts],
    }


def _part_json(part: Part) -> dict[str, Any]:
    # Integers and texts are written as they are; only the other kinds need converting (a
    # national breakdown has 300 000 rows, mostly of those two kinds).
    keys = [column.key for column in part.columns]
    converted = [
        (index, column)
        for index, column in enumerate(part.columns)
        if column.kind not in ("integer", "text")
    ]
    records = []
    for row in rows(part):
        record = dict(zip(keys, row, strict=True))
        for index, column in converted:
            record[column.key] = _json_value(row[index], column)
        records.append(record)
    total = records.pop() if part.total and records else None
    return {
        "key": part.key,
        "title": part.title,
        "note": part.note,
        "columns": [
            {
                "key": column.key,
                "label": column.label,
                "kind": column.kind,
                "machine": column.machine,
            }
            for column in part.columns
        ],
        "rows": records,
        "total": total,
    }


def json_value(value: Value, column: Column) -> int | str | None:
    """One value as the JSON (and the tidy CSV) writes it."""
    return _json_value(value, column)


def _json_value(value: Value, column: Column) -> int | str | None:
    if value is None:
        return None
    if column.kind == "dwellings":
        return f"{rounded(value, 2):.2f}"  # type: ignore[arg-type]
    if column.kind == "percent":
        return f"{rounded(value * 100, 2):.2f}"  # type: ignore[operator]
    if column.kind == "date":
        return value.isoformat()  # type: ignore[union-attr]
    return value  # type: ignore[return-value]


# --- values shared by the renderers ---------------------------------------------------------


def rows(part: Part) -> Iterator[tuple[Value, ...]]:
    """The part's rows in order (the total row last when ``part.total``), each value a plain
    Python value of its column's kind or None."""
    frame = part.frame
    keys = [column.key for column in part.columns]
    if list(frame.columns) != keys:
        raise ValueError(
            f"Part {part.key!r}: the frame's columns {list(frame.columns)} are not the declared "
            f"columns {keys}."
        )
    # Column by column (issue 13: a cell at a time was a third of the XLSX's time): each
    # column's values as Python objects at once, those already of their kind's type kept as
    # they are, any other (NaN, numpy, a float for an int…) through ``cell``.
    columns = [
        list(map(_converter(column), frame.iloc[:, index].tolist()))
        for index, column in enumerate(part.columns)
    ]
    yield from zip(*columns, strict=True)


_PLAIN_TYPES: dict[str, type] = {
    "text": str,
    "integer": int,
    "dwellings": Decimal,
    "percent": Decimal,
    "date": date,
}


def _converter(column: Column) -> Callable[[object], Value]:
    plain = _PLAIN_TYPES[column.kind]

    def convert(value: object) -> Value:
        return value if value.__class__ is plain else cell(value, column)  # type: ignore[return-value]

    return convert


def cell(value: object, column: Column) -> Value:
    """One frame value as the plain value of its column's kind.

    Pandas stores a missing value as NaN/NaT/NA, and an ``int`` column holding a missing value
    as float64: those come back as None and int. Any other float is refused, since figures are
    never floats (model.py); so is a value of the wrong type.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    kind = column.kind
    if kind == "text":
        return str(value)
    if kind == "date":
        if isinstance(value, pd.Timestamp):
            return value.date()
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
    elif kind == "integer":
        if isinstance(value, bool):
            return int(value)
        if hasattr(value, "__index__"):  # int and numpy integers
            return int(value)  # type: ignore[call-overload]
        if isinstance(value, float | Decimal) and value == int(value):
            return int(value)
    elif isinstance(value, Decimal):
        return value
    elif isinstance(value, int) or hasattr(value, "__index__"):
        return Decimal(int(value))  # type: ignore[call-overload]
    raise TypeError(
        f"Column {column.key!r} ({kind}) holds {value!r} ({type(value).__name__}): "
        "expected " + _EXPECTED[kind] + "."
    )


_EXPECTED = {
    "integer": "an int",
    "dwellings": "a Decimal (never a float)",
    "percent": "a Decimal fraction (never a float)",
    "date": "a datetime.date",
    "text": "a str",
}


def rounded(value: Decimal | int, places: int) -> Decimal:
    """Half up, as format_dwellings; never a negative zero ("-0.00")."""
    result = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return result if result else result.copy_abs()


NBSP = "\u00a0"


def fr_number(value: Decimal | int, places: int, thousands: str = "") -> str:
    """A number written the French way: decimal comma, ``thousands`` between digit groups
    (none by default: a spreadsheet reads "1234,50" as a number, not "1 234,50")."""
    text = f"{rounded(value, places):,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", thousands)


def fr_percent(fraction: Decimal, space: str = " ") -> str:
    """A Decimal fraction as French percent points: 0.25 -> "25,00 %"."""
    return f"{fr_number(fraction * 100, 2)}{space}%"


def fr_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def scope_labels(meta: ReportMeta) -> list[tuple[str, str]]:
    """The title block's lines, in French: (label, value)."""
    status = (
        "exercice clos, chiffres définitifs"
        if meta.closed
        else "exercice non clos, chiffres provisoires"
    )
    return [
        ("Bailleur", meta.landlord or "tous"),
        ("Réservataire", meta.reserver or "tous"),
        ("Département", meta.departement or "tous"),
        ("Année", str(meta.year)),
        ("Date d'édition", fr_date(meta.issued_on)),
        ("Statut", status),
    ]
