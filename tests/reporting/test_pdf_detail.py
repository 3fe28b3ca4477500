"""A detail part (the breakdown's full cross product) is never printed in a PDF, a document
read by people (issue 13: the demo's 20 pages of it); the other formats always hold it whole."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
from pypdf import PdfReader

from flux.reporting import pdf
from flux.reporting.model import Column, Part, Report, ReportMeta
from flux.reporting.render import render

COLUMNS = (Column("commune", "Commune"), Column("proposed", "Proposés", "integer"))


def _report(rows: int) -> Report:
    frame = pd.DataFrame(
        [(f"Commune-{i:05d}", i) for i in range(rows)], columns=["commune", "proposed"]
    )
    meta = ReportMeta(
        title="Bilan annuel 2025",
        year=2025,
        issued_on=date(2026, 1, 2),
        landlord="B",
        reserver=None,
        departement="31",
        closed=True,
    )
    return Report(meta, (Part("breakdown", "Répartition", COLUMNS, frame, detail=True),))


def _text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_even_a_short_detail_part_is_left_to_the_other_formats():
    text = _text(render(_report(30), "pdf").content)
    assert "Commune-00029" not in text and "Ce tableau compte 30 lignes" in " ".join(text.split())


def test_a_long_detail_part_is_left_to_the_other_formats_with_a_note():
    rows = pdf.PDF_DETAIL_MAX_ROWS + 1
    report = _report(rows)
    text = _text(render(report, "pdf").content)
    assert "Ce tableau compte 1 001 lignes" in " ".join(text.split())
    assert "Commune-00000" not in text
    csv_text = render(report, "csv").content.decode("utf-8-sig")
    assert f"Commune-{rows - 1:05d}" in csv_text
