"""The four renderings of a report (JSON, CSV, XLSX, PDF), on a report built by hand: every
kind of column, a total row, a missing percentage, long text, accents, and a part long enough to
span several PDF pages. The renderers only format: every figure below is written in the frames."""

from __future__ import annotations

import csv as stdlib_csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from flux.reporting.model import Column, Part, Report, ReportMeta
from flux.reporting.render import FORMATS, filename, render, to_json

LONG_REASON = (
    "Le bailleur a repris le logement pour ce tour après la carence du réservataire : aucune "
    "proposition de candidat n'est parvenue dans le délai de trente jours prévu par la "
    "convention, malgré une relance écrite ; le droit revient au réservataire au tour suivant "
    "(fin du motif)."
)
COMMUNES = 240  # breakdown rows: several PDF pages


def _meta(**changes: object) -> ReportMeta:
    values: dict[str, object] = {
        "title": "Bilan annuel 2025 de la gestion en flux",
        "year": 2025,
        "issued_on": date(2026, 2, 15),
        "landlord": "Habitat Toulousain & Cie",
        "reserver": "Action Logement Services",
        "departement": "Haute-Garonne (31)",
        "closed": True,
        "filters": {"year": "2025", "landlord": "3"},
    }
    values.update(changes)
    return ReportMeta(**values)  # type: ignore[arg-type]


SHARE_COLUMNS = (
    Column("reserver", "Réservataire"),
    Column("share", "Part"),
    Column("percent", "Pourcentage", "percent"),
    Column("eligible", "Logements éligibles", "integer"),
    Column("target", "Cible (logements)", "dwellings"),
    Column("gap", "Écart", "dwellings"),
    Column("dalo_rate", "Part DALO ou prioritaire", "percent"),
    Column("since", "En vigueur depuis", "date"),
    Column("comment", "Commentaire"),
)


def _shares() -> Part:
    frame = pd.DataFrame(
        [
            {
                "reserver": "État",
                "share": "Publics prioritaires",
                "percent": Decimal("0.25"),
                "eligible": 1234,
                "target": Decimal("1234.5"),
                "gap": Decimal("-0.75"),
                "dalo_rate": Decimal("0.3125"),
                "since": date(2025, 3, 15),
                "comment": LONG_REASON,
            },
            {
                "reserver": "Action Logement Services",
                "share": "Salariés",
                "percent": Decimal("0.05"),
                "eligible": 715,
                "target": Decimal("35.75"),
                "gap": Decimal("0.3333"),
                "dalo_rate": None,  # no attribution: the rate is not defined
                "since": date(2024, 1, 1),
                "comment": "=SOMME(A1:A9)",
            },
            {
                "reserver": "Total",
                "share": None,
                "percent": None,
                "eligible": 1949,
                "target": Decimal("1270.25"),
                "gap": Decimal("-0.4167"),
                "dalo_rate": None,
                "since": None,
                "comment": None,
            },
        ],
        columns=[c.key for c in SHARE_COLUMNS],
    )
    return Part(
        "shares",
        "Parts par convention",
        SHARE_COLUMNS,
        frame,
        total=True,
        note="Les cibles comprennent le report de l'année précédente (écart de 2024 inversé).",
    )


BREAKDOWN_COLUMNS = (
    Column("reserver", "Réservataire"),
    Column("commune", "Commune"),
    Column("typology", "Typologie"),
    Column("financing", "Financement"),
    Column("qpv", "QPV"),
    Column("period", "Période de construction"),
    Column("proposed", "Proposés", "integer"),
    Column("attributed", "Attribués", "integer"),
)


def _breakdown() -> Part:
    records = [
        ("État", f"Saint-Étienne-{i:03d}", "T3", "PLUS", "hors QPV", "1975–1989", i, i // 2)
        for i in range(COMMUNES)
    ]
    total = ("Total", None, None, None, None, None, sum(r[6] for r in records), None)
    frame = pd.DataFrame(records + [total], columns=[c.key for c in BREAKDOWN_COLUMNS])
    return Part("breakdown", "Répartition des logements", BREAKDOWN_COLUMNS, frame, total=True)


CHECK_COLUMNS = (
    Column("check", "Contrôle"),
    Column("status", "Statut"),  # flux.domain.obligations.Status
    Column("result", "Résultat"),
    Column("figure", "Valeur", "percent"),
    Column("limit", "Seuil", "percent"),
    Column("year", "Année", "integer"),
    Column("reason", "Explication"),
)
PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"
RED = b".75 .1 .1 rg"  # the PDF's fill colour (text) of a failed check's status


def _checks(*, failing: bool = True) -> Part:
    agents = (FAILED, "non respectée") if failing else (PASSED, "respectée")
    frame = pd.DataFrame(
        [
            ("État ≤ 30 %", PASSED, "respectée", Decimal("0.2875"), Decimal("0.3"), 2025, "Oui."),
            ("Agents ≤ 5 %", *agents, Decimal("0.0625"), Decimal("0.05"), 2025, "Au-delà."),
            ("Q1 hors QPV ≥ 25 %", NOT_APPLICABLE, "sans objet", None, Decimal("0.25"), 2025, "-"),
        ],
        columns=[c.key for c in CHECK_COLUMNS],
    )
    return Part("checks", "Contrôles des obligations", CHECK_COLUMNS, frame)


def _late() -> Part:
    columns = (Column("recorded_on", "Enregistré le", "date"), Column("entry", "Écriture"))
    return Part(
        "late_entries",
        "Écritures tardives",
        columns,
        pd.DataFrame(columns=["recorded_on", "entry"]),
    )


@pytest.fixture
def report() -> Report:
    return Report(_meta(), (_shares(), _breakdown(), _checks(), _late()))


def _narrow(meta: ReportMeta | None = None) -> Report:
    columns = (Column("category", "Catégorie"), Column("actual", "Réalisé", "integer"))
    frame = pd.DataFrame([("Mutation interne", 160)], columns=["category", "actual"])
    return Report(meta or _meta(), (Part("deductions", "Logements soustraits", columns, frame),))


# --- render() and the JSON document ---------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_has_its_media_type_and_a_file_name_naming_the_scope(report, fmt):
    rendered = render(report, fmt)
    assert rendered.content
    assert rendered.filename == (
        f"bilan-2025-habitat-toulousain-cie-action-logement-services-haute-garonne-31.{fmt}"
    )
    assert (
        rendered.media_type
        == {
            "json": "application/json",
            "csv": "text/csv; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "pdf": "application/pdf",
            "zip": "application/zip",
        }[fmt]
    )


def test_file_name_without_a_scope_is_the_year_alone():
    assert (
        filename(_meta(landlord=None, reserver=None, departement=None), "csv") == "bilan-2025.csv"
    )


def test_an_unknown_format_is_refused_in_french(report):
    with pytest.raises(ValueError, match="Format inconnu « odt »"):
        render(report, "odt")


def test_json_gives_meta_columns_and_records_with_the_api_conventions(report):
    document = to_json(report)
    assert document["meta"] == {
        "title": "Bilan annuel 2025 de la gestion en flux",
        "year": 2025,
        "issued_on": "2026-02-15",
        "landlord": "Habitat Toulousain & Cie",
        "reserver": "Action Logement Services",
        "departement": "Haute-Garonne (31)",
        "closed": True,
        "generated_by": "Flux",
        "filters": {"year": "2025", "landlord": "3"},
    }
    assert [p["key"] for p in document["parts"]] == [
        "shares",
        "breakdown",
        "checks",
        "late_entries",
    ]
    shares = document["parts"][0]
    assert shares["title"] == "Parts par convention"
    assert shares["note"].startswith("Les cibles comprennent")
    assert shares["columns"][2] == {
        "key": "percent",
        "label": "Pourcentage",
        "kind": "percent",
        "machine": False,
    }
    assert shares["rows"][0] == {
        "reserver": "État",
        "share": "Publics prioritaires",
        "percent": "25.00",
        "eligible": 1234,
        "target": "1234.50",
        "gap": "-0.75",
        "dalo_rate": "31.25",
        "since": "2025-03-15",
        "comment": LONG_REASON,
    }
    assert shares["rows"][1]["dalo_rate"] is None
    assert shares["rows"][1]["gap"] == "0.33"
    # The total row is apart from the rows, so a client never sums it with them.
    assert len(shares["rows"]) == 2
    assert shares["total"]["reserver"] == "Total"
    assert shares["total"]["gap"] == "-0.42"
    assert document["parts"][2]["total"] is None
    assert document["parts"][3]["rows"] == []


def test_json_rendering_is_the_document_in_utf8(report):
    content = render(report, "json").content
    assert json.loads(content.decode("utf-8")) == to_json(report)
    assert "Réservataire".encode() in content  # not escaped as \\u00e9


def test_dwellings_round_half_up_and_never_show_a_negative_zero():
    columns = (Column("target", "Cible", "dwellings"),)
    frame = pd.DataFrame({"target": [Decimal("14.305"), Decimal("-0.004"), Decimal("178.7500")]})
    document = to_json(Report(_meta(), (Part("shares", "Parts", columns, frame),)))
    assert [r["target"] for r in document["parts"][0]["rows"]] == ["14.31", "0.00", "178.75"]


def test_an_integer_column_with_a_missing_value_stays_integers():
    # pandas stores such a column as float64 (NaN for the missing value): it comes back as int.
    columns = (Column("eligible", "Éligibles", "integer"),)
    frame = pd.DataFrame({"eligible": [3, None]})
    assert frame["eligible"].dtype == "float64"
    rows = to_json(Report(_meta(), (Part("p", "P", columns, frame),)))["parts"][0]["rows"]
    assert rows == [{"eligible": 3}, {"eligible": None}]
    assert type(rows[0]["eligible"]) is int


@pytest.mark.parametrize("kind", ["dwellings", "percent"])
def test_a_float_figure_is_refused(kind):
    columns = (Column("figure", "Chiffre", kind),)
    report = Report(_meta(), (Part("p", "P", columns, pd.DataFrame({"figure": [0.25]})),))
    with pytest.raises(TypeError, match="never a float"):
        to_json(report)


def test_a_frame_whose_columns_differ_from_the_declared_ones_is_refused():
    columns = (Column("a", "A", "integer"), Column("b", "B", "integer"))
    report = Report(_meta(), (Part("p", "P", columns, pd.DataFrame({"b": [1], "a": [2]})),))
    with pytest.raises(ValueError, match="not the declared columns"):
        to_json(report)


# --- CSV ------------------------------------------------------------------------------------


def _csv_blocks(content: bytes) -> list[str]:
    text = content.decode("utf-8-sig")
    return text.split("\r\n\r\n")


def test_csv_is_utf8_with_bom_semicolon_separated_and_crlf(report):
    content = render(report, "csv").content
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Bilan annuel 2025 de la gestion en flux"
    assert lines[1:7] == [
        "Bailleur;Habitat Toulousain & Cie",
        "Réservataire;Action Logement Services",
        "Département;Haute-Garonne (31)",
        "Année;2025",
        "Date d'édition;15/02/2026",
        "Statut;exercice clos, chiffres définitifs",
    ]


def test_csv_has_one_block_per_part_that_pandas_reads_back_with_french_decimals(report):
    blocks = _csv_blocks(render(report, "csv").content)
    assert len(blocks) == 1 + len(report.parts)
    shares_block = blocks[1]
    title, note = shares_block.split("\r\n")[:2]
    assert title == "Parts par convention"
    assert note == "Note : " + report.part("shares").note
    frame = pd.read_csv(io.StringIO(shares_block), sep=";", decimal=",", skiprows=2)
    assert list(frame.columns) == [c.label for c in SHARE_COLUMNS]
    assert frame["Logements éligibles"].tolist() == [1234, 715, 1949]
    assert frame["Cible (logements)"].tolist() == [1234.5, 35.75, 1270.25]
    assert frame["Écart"].tolist() == [-0.75, 0.3333, -0.4167]  # exact: sums stay the total's
    assert frame["Pourcentage"].tolist()[:2] == ["25,00 %", "5,00 %"]
    assert frame["Part DALO ou prioritaire"].isna().tolist() == [False, True, True]
    assert frame["En vigueur depuis"].tolist()[:2] == ["15/03/2025", "01/01/2024"]
    assert frame["Commentaire"].tolist()[:2] == [LONG_REASON, "'=SOMME(A1:A9)"]

    breakdown = pd.read_csv(io.StringIO(blocks[2]), sep=";", decimal=",", skiprows=1)
    assert len(breakdown) == COMMUNES + 1
    assert breakdown["Proposés"].iloc[-1] == sum(range(COMMUNES))
    assert breakdown["Commune"].iloc[1] == "Saint-Étienne-001"


def test_csv_fields_with_separators_or_quotes_are_quoted():
    columns = (Column("name", "Nom"),)
    frame = pd.DataFrame({"name": ['Office "Habitat"; Toulouse']})
    content = render(Report(_meta(), (Part("p", "P", columns, frame),)), "csv").content
    last_block = _csv_blocks(content)[-1]
    assert '"Office ""Habitat""; Toulouse"' in last_block
    parsed = list(stdlib_csv.reader(io.StringIO(last_block), delimiter=";"))
    assert parsed == [["P"], ["Nom"], ['Office "Habitat"; Toulouse']]


# --- XLSX -----------------------------------------------------------------------------------


def _workbook(report: Report) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(render(report, "xlsx").content))


def test_xlsx_has_one_sheet_per_part_read_back_by_pandas_with_numbers(report):
    content = render(report, "xlsx").content
    sheets = pd.read_excel(io.BytesIO(content), sheet_name=None, header=7)
    assert list(sheets) == [p.title for p in report.parts]
    shares = sheets["Parts par convention"]
    assert list(shares.columns) == [c.label for c in SHARE_COLUMNS]
    assert shares["Logements éligibles"].tolist() == [1234, 715, 1949]
    assert shares["Logements éligibles"].dtype == "int64"
    assert shares["Cible (logements)"].tolist() == [1234.5, 35.75, 1270.25]
    assert shares["Pourcentage"].tolist()[:2] == [0.25, 0.05]
    assert shares["Part DALO ou prioritaire"].isna().tolist() == [False, True, True]
    assert shares["En vigueur depuis"].iloc[0] == pd.Timestamp(2025, 3, 15)
    assert shares["Commentaire"].iloc[1] == "=SOMME(A1:A9)"  # a string, not a formula
    breakdown = sheets["Répartition des logements"]
    assert len(breakdown) == COMMUNES + 1
    assert breakdown["Proposés"].iloc[-1] == sum(range(COMMUNES))


def test_xlsx_title_block_names_the_scope(report):
    sheet = _workbook(report)["Contrôles des obligations"]
    assert sheet["A1"].value == "Bilan annuel 2025 de la gestion en flux"
    assert sheet["A2"].value == (
        "Bailleur : Habitat Toulousain & Cie — Réservataire : Action Logement Services — "
        "Département : Haute-Garonne (31)"
    )
    assert (
        sheet["A3"].value == "Année 2025 — édité le 15/02/2026 — exercice clos, chiffres définitifs"
    )
    assert sheet["A5"].value == "Contrôles des obligations"


def test_xlsx_formats_frozen_header_percentages_dates_widths_and_bold_total(report):
    workbook = _workbook(report)
    sheet = workbook["Parts par convention"]
    header = 8  # 1-based: title block (3 lines), blank, part title, note, blank
    assert sheet.freeze_panes == f"A{header + 1}"
    assert [cell.value for cell in sheet[header]] == [c.label for c in SHARE_COLUMNS]
    assert all(cell.font.b for cell in sheet[header])
    first, total = sheet[header + 1], sheet[header + 3]
    percent, eligible, target, rate, since = first[2], first[3], first[4], first[6], first[7]
    assert percent.value == 0.25 and percent.number_format == "0.00 %"
    assert rate.value == 0.3125 and rate.number_format == "0.00 %"
    assert eligible.value == 1234 and eligible.number_format == "0"
    assert target.value == 1234.5 and target.number_format == "0.00"
    assert since.value == datetime(2025, 3, 15) and since.number_format == "dd/mm/yyyy"
    assert sheet[header + 2][6].value is None
    assert total[0].value == "Total" and all(cell.font.b for cell in total)
    assert not first[0].font.b
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEI"}
    assert widths["B"] >= len("Publics prioritaires")
    assert widths["I"] <= 51  # long text wraps instead of widening the column without end
    assert sheet.auto_filter.ref == f"A{header}:I{header + 2}"  # the total row stays out


def test_xlsx_empty_part_and_checks_sheet(report):
    workbook = _workbook(report)
    late = workbook["Écritures tardives"]
    assert [cell.value for cell in late[8]] == ["Enregistré le", "Écriture"]
    assert late.max_row == 8
    checks = workbook["Contrôles des obligations"]
    assert [cell.value for cell in checks[10]][:4] == [
        "Agents ≤ 5 %",
        FAILED,
        "non respectée",
        0.0625,
    ]
    assert checks[9][5].value == 2025 and checks[9][5].number_format == "0"


def test_xlsx_sheet_names_follow_excel_rules():
    columns = (Column("n", "N", "integer"),)
    parts = tuple(
        Part(
            f"p{i}",
            "Répartition par commune/EPCI [détail] des attributions",
            columns,
            pd.DataFrame({"n": [i]}),
        )
        for i in range(2)
    )
    names = _workbook(Report(_meta(), parts)).sheetnames
    assert names == ["Répartition par commune EPCI  d", "Répartition par commune EPC (2)"]
    assert all(len(name) <= 31 for name in names)


def test_xlsx_creation_date_is_the_date_of_issue(report):
    assert _workbook(report).properties.created == datetime(2026, 2, 15)


# --- PDF ------------------------------------------------------------------------------------


def _pages(content: bytes) -> list[str]:
    return [
        page.extract_text().replace("\xa0", " ") for page in PdfReader(io.BytesIO(content)).pages
    ]


def test_pdf_every_page_names_scope_year_date_of_issue_and_its_number(report):
    pages = _pages(render(report, "pdf").content)
    count = len(pages)
    assert count >= 3
    for number, text in enumerate(pages, start=1):
        assert "Bailleur : Habitat Toulousain & Cie" in text
        assert "Réservataire : Action Logement Services" in text
        assert "Bilan annuel 2025 — Département : Haute-Garonne (31)" in text
        assert "Édité le 15/02/2026" in text
        assert f"Page {number} / {count}" in text
        assert "exercice clos, chiffres définitifs" in text


def test_pdf_tables_are_written_the_french_way(report):
    text = "\n".join(_pages(render(report, "pdf").content))
    for expected in (
        "Parts par convention",
        "Les cibles comprennent le report",
        "1 234,50",  # dwellings: grouped by thousands
        "28 680",  # integers from five digits on
        "1234",  # four: as a year
        "-0,75",
        "25,00 %",
        "31,25 %",
        "15/03/2025",
        "État ≤ 30 %",
        "non respectée",
        "sans objet",
        "Aucune ligne pour ce périmètre.",
        "(fin du motif).",  # long text wrapped, not cut
    ):
        assert expected in text, expected
    assert "2 025" not in text and "1 234 " not in text


def test_pdf_long_table_keeps_every_row_once_and_repeats_its_header(report):
    pages = _pages(render(report, "pdf").content)
    text = "\n".join(pages)
    for i in range(COMMUNES):
        assert text.count(f"Saint-Étienne-{i:03d}") == 1
    spanned = [page for page in pages if "Saint-Étienne-" in page]
    assert len(spanned) >= 2
    # Headers wrap: compare with the line breaks as spaces.
    assert all("Période de construction" in " ".join(page.split()) for page in spanned)


def test_pdf_colours_a_failed_check_in_red():
    def checks_page(failing: bool) -> bytes:
        report = Report(_meta(), (_checks(failing=failing),))
        pages = PdfReader(io.BytesIO(render(report, "pdf").content)).pages
        return b"".join(page.get_contents().get_data() for page in pages)

    assert RED in checks_page(failing=True)
    assert RED not in checks_page(failing=False)


def test_pdf_prints_too_wide_a_table_in_groups_of_columns_each_naming_its_rows():
    identity = (Column("landlord", "Bailleur"), Column("reserver", "Réservataire"))
    figures = tuple(Column(f"figure_{i}", f"Chiffre numéro {i}", "integer") for i in range(30))
    frame = pd.DataFrame(
        [
            (
                "Office Public de l'Habitat",
                f"Réservataire n°{r}",
                *(1000 * r + i for i in range(30)),
            )
            for r in range(1, 4)
        ],
        columns=[c.key for c in identity + figures],
    )
    part = Part("wide", "Tableau large", identity + figures, frame)
    text = "\n".join(_pages(render(Report(_meta(), (part,)), "pdf").content))
    groups = int(re.search(r"Tableau large \(suite, 2/(\d+)\)", text).group(1))
    assert groups >= 2
    for r in range(1, 4):
        assert text.count(f"Réservataire n°{r}") == groups  # every group says whose row it is
        for i in range(30):
            assert re.search(rf"(?<!\d){1000 * r + i}(?!\d)", text), (r, i)
    assert "numéro" in text and "numér\no" not in text  # headers wrap between words only


def test_pdf_is_landscape_only_for_wide_tables(report):
    """Page by page: the synthesis portrait, a wide table's pages landscape (issue 13)."""
    pages = PdfReader(io.BytesIO(render(report, "pdf").content)).pages
    narrow = PdfReader(io.BytesIO(render(_narrow(), "pdf").content)).pages
    assert pages[0].mediabox.width < pages[0].mediabox.height  # the synthesis
    wide = [page for page in pages if page.mediabox.width > page.mediabox.height]
    assert wide and len(wide) < len(pages)
    shares = [page for page in pages if "Annexe 1 — " in page.extract_text()]
    assert shares and all(page.mediabox.width > page.mediabox.height for page in shares)
    assert all(page.mediabox.width < page.mediabox.height for page in narrow)


def test_pdf_metadata_is_french_and_dated_from_the_issue(report):
    reader = PdfReader(io.BytesIO(render(report, "pdf").content))
    assert reader.metadata.title == "Bilan annuel 2025 de la gestion en flux"
    assert reader.metadata["/CreationDate"].startswith("D:20260215")
    assert reader.trailer["/Root"]["/Lang"] == "fr-FR"


def test_pdf_without_scope_says_all_and_provisional():
    meta = _meta(landlord=None, reserver=None, departement=None, closed=False)
    text = _pages(render(_narrow(meta), "pdf").content)[0]
    assert "Bailleur : tous" in text
    assert "exercice non clos, chiffres provisoires" in text
    assert "Page 1 / 1" in text


# --- determinism ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_report_renders_to_the_same_bytes(fmt):
    first = render(Report(_meta(), (_shares(), _breakdown(), _checks(), _late())), fmt)
    second = render(Report(_meta(), (_shares(), _breakdown(), _checks(), _late())), fmt)
    assert first.content == second.content


def test_the_pdf_creation_date_follows_the_date_of_issue():
    first = render(_narrow(), "pdf").content
    later = render(_narrow(_meta(issued_on=date(2026, 2, 16))), "pdf").content
    assert b"D:20260215" in first and b"D:20260216" in later


def test_xlsx_keeps_codes_as_text_with_their_leading_zeros_and_figures_as_numbers():
    columns = (
        Column("departement", "Département"),
        Column("commune", "Commune (INSEE)"),
        Column("proposed", "Proposés", "integer"),
        Column("target", "Objectif", "dwellings"),
        Column("landlord_id", "Id bailleur", "integer", True),
        Column("landlord_code", "Code bailleur", "text", True),
    )
    frame = pd.DataFrame(
        [("01", "01004", 12, Decimal("3.25"), 7, "007-habitat")],
        columns=[c.key for c in columns],
        dtype=object,
    )
    report = Report(_meta(), (Part("codes", "Codes", columns, frame),))
    sheet = openpyxl.load_workbook(io.BytesIO(render(report, "xlsx").content))["Codes"]
    header = next(
        i for i, row in enumerate(sheet.iter_rows(values_only=True), 1) if "Proposés" in row
    )
    values = [cell.value for cell in sheet[header + 1]]
    assert values == ["01", "01004", 12, 3.25, 7, "007-habitat"]
    assert sheet.cell(header + 1, 2).number_format == "@"
    # The PDF prints neither the ids nor the codes meant for programs.
    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(render(report, "pdf").content)).pages
    )
    assert "01004" in text and "007-habitat" not in text and "Id bailleur" not in text
