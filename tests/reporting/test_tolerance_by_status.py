"""An obligation is "met only within tolerance" by its check's own status, never by the words
of its reason (issue 13): the synthesis lists a ``within_tolerance`` check whatever its sentence,
and not a ``passed`` one whose sentence happens to mention the tolerance."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from pypdf import PdfReader

from flux.reporting import annual
from flux.reporting.model import Part, Report, ReportMeta
from flux.reporting.render import render

PASSED_SAYING_TOLERANCE = "Plafond Alpha respecté, et même dans la tolérance de 2,5 logements."
TOLERATED_SILENTLY = "Écart de 1,20 logement à l'objectif."


def _check(name: str, status: str, result: str, reason: str) -> dict:
    row: dict = {column.key: None for column in annual.CHECK_COLUMNS}
    row.update(
        landlord="OPH Test",
        departement="31",
        code=f"code_{name.lower()}",
        check=f"Obligation {name} (L.441-1)",
        scope=f"périmètre {name}",
        status=status,
        result=result,
        reason=reason,
        landlord_id=1,
    )
    return row


def _report(*checks: dict) -> Report:
    keys = [column.key for column in annual.CHECK_COLUMNS]
    frame = pd.DataFrame([[row[key] for key in keys] for row in checks], columns=keys)
    meta = ReportMeta(
        title="Bilan annuel 2025",
        year=2025,
        issued_on=date(2026, 1, 2),
        landlord="OPH Test",
        reserver=None,
        departement="31",
        closed=True,
    )
    return Report(meta, (Part("checks", "Contrôle des obligations", annual.CHECK_COLUMNS, frame),))


def _synthesis_text(report: Report) -> str:
    pages = PdfReader(io.BytesIO(render(report, "pdf").content)).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)
    return text.split("Annexe")[0]  # the synthesis: before the first annex


@pytest.mark.parametrize(
    ("status", "tolerated"),
    [("within_tolerance", True), ("passed", False), ("failed", False), ("information", False)],
)
def test_within_tolerance_is_the_status_alone(status, tolerated):
    assert annual.within_tolerance(status) is tolerated


def test_the_synthesis_lists_by_status_not_by_the_reasons_words():
    report = _report(
        _check("Alpha", "passed", "respectée", PASSED_SAYING_TOLERANCE),
        _check("Beta", "within_tolerance", "dans la tolérance", TOLERATED_SILENTLY),
        _check("Gamma", "information", "pour information", "Dans la tolérance, pour mémoire."),
    )
    synthesis = _synthesis_text(report)

    assert "1 respectée(s) dans la tolérance seulement" in synthesis
    assert "Respectées dans la tolérance seulement" in synthesis
    assert "Obligation Beta" in synthesis
    assert "Obligation Alpha" not in synthesis
    assert "Obligation Gamma" not in synthesis


def test_a_passed_check_mentioning_tolerance_alone_leaves_nothing_to_examine():
    synthesis = _synthesis_text(
        _report(_check("Alpha", "passed", "respectée", PASSED_SAYING_TOLERANCE))
    )
    assert "Toutes les obligations contrôlées sont respectées." in synthesis
    assert "Obligation Alpha" not in synthesis
