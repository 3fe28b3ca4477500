"""Reading an ERP's vacancy file line by line: CSV (`;` or `,`, UTF-8 with or without BOM) or
JSON Lines, one compact record per row (the file itself is never held in memory)."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO

from flux.services.errors import InvalidInput

# The columns of a vacancy file, in the documented order (README « Import depuis un ERP »).
COLUMNS = (
    "type",
    "reference",
    "rpls_id",
    "available_on",
    "letting",
    "deduction",
    "date",
    "candidates",
    "dalo",
    "rank",
    "prioritaire",
    "first_quartile",
    "reason",
    "notified_on",
)
REQUIRED = ("rpls_id",)
_TRUE, _FALSE = {"oui", "true", "1", "o", "vrai"}, {"non", "false", "0", "n", "faux", ""}


@dataclass(slots=True)
class Row:
    """One line of the file: a vacancy (``type`` empty or ``vacancy``) or one of its events."""

    line: int
    type: str
    reference: str | None
    rpls_id: str
    available_on: date | None
    letting: str | None
    deduction: str | None
    on: date | None  # an event's date
    candidates: int | None
    dalo: bool
    rank: int | None
    prioritaire: bool
    first_quartile: bool
    reason: str | None
    problem: str | None = None
    # The day the holder was told (late logging); default: the day the file is imported.
    notified_on: date | None = None  # a value that could not be read: the row is refused

    @property
    def is_vacancy(self) -> bool:
        return self.type == "vacancy"

    @property
    def day(self) -> date:
        """The date the row happens on (rows are applied in this order within a scope)."""
        return (self.available_on if self.is_vacancy else self.on) or date.min


def read(stream: IO[bytes], name: str = "") -> Iterator[Row]:
    """The rows of a CSV or JSON Lines file, read as they come."""
    text = codecs.getreader("utf-8-sig")(stream, errors="strict")
    try:
        first = text.readline()
    except UnicodeDecodeError as error:
        raise _bad_file(f"Le fichier doit être encodé en UTF-8 ({error}).") from error
    if name.endswith((".jsonl", ".ndjson")) or first.lstrip().startswith("{"):
        yield from _json_lines(first, text)
    else:
        yield from _csv_rows(first, text)


def _bad_file(message: str, line: int | None = None) -> InvalidInput:
    where = {str(line): [message]} if line is not None else [message]
    return InvalidInput(message, errors={"files": {"file": where}})


def _lines(first: str, text: io.TextIOBase) -> Iterator[str]:
    yield first
    while True:
        try:
            line = text.readline()
        except UnicodeDecodeError as error:
            raise _bad_file(f"Le fichier doit être encodé en UTF-8 ({error}).") from error
        if not line:
            return
        yield line


def _csv_rows(first: str, text: io.TextIOBase) -> Iterator[Row]:
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(_lines(first, text), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    unknown = sorted(set(header) - set(COLUMNS))
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise _bad_file(
            f"En-tête invalide (inconnues : {', '.join(unknown) or 'aucune'} ; manquantes : "
            f"{', '.join(missing) or 'aucune'}) ; colonnes possibles : {';'.join(COLUMNS)}.",
            1,
        )
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            record = dict(zip(header, (v.strip() for v in values), strict=False))
            extra = len(values) > len(header) and any(v.strip() for v in values[len(header) :])
            row = parse(reader.line_num, record)
            if extra and row.problem is None:
                row.problem = "valeurs au-delà des colonnes de l'en-tête"
            yield row
    except csv.Error as error:
        raise _bad_file(f"Ligne {reader.line_num + 1} illisible en CSV ({error}).") from error


def _json_lines(first: str, text: io.TextIOBase) -> Iterator[Row]:
    for number, line in enumerate(_lines(first, text), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield _unreadable(number, f"JSON illisible ({error.msg})")
            continue
        if not isinstance(record, dict):
            yield _unreadable(number, "un objet JSON est attendu")
            continue
        unknown = sorted(set(record) - set(COLUMNS))
        values = {k: "" if v is None else str(v).strip() for k, v in record.items()}
        for key, value in record.items():
            if isinstance(value, bool):
                values[key] = "oui" if value else "non"
        row = parse(number, values)
        if unknown and row.problem is None:
            row.problem = f"champs inconnus : {', '.join(unknown)}"
        yield row


def _unreadable(line: int, problem: str) -> Row:
    return Row(
        line, "", None, "", None, None, None, None, None, False, None, False, False, None, problem
    )


def parse(line: int, record: dict[str, str]) -> Row:
    """One record (column -> text) as a row; a value that cannot be read sets ``problem``."""
    problems: list[str] = []

    def text(key: str) -> str | None:
        return record.get(key) or None

    def day(key: str) -> date | None:
        value = text(key)
        if value is None:
            return None
        try:
            if len(value) == 10 and value[2] == "/" and value[5] == "/":
                return date(int(value[6:]), int(value[3:5]), int(value[:2]))
            if len(value) == 10 and value[4] == "-":
                return date.fromisoformat(value)
        except ValueError:
            pass
        problems.append(f"{key} : date attendue AAAA-MM-JJ ou JJ/MM/AAAA, reçu « {value} »")
        return None

    def number(key: str) -> int | None:
        value = text(key)
        if value is None:
            return None
        if not value.isdigit() or len(value) > 4:
            problems.append(f"{key} : entier attendu, reçu « {value} »")
            return None
        return int(value)

    def flag(key: str) -> bool:
        value = (record.get(key) or "").lower()
        if value not in _TRUE | _FALSE:
            problems.append(f"{key} : oui ou non attendu, reçu « {record.get(key)} »")
        return value in _TRUE

    row = Row(
        line=line,
        type=(text("type") or "vacancy").lower(),
        reference=text("reference"),
        rpls_id=record.get("rpls_id") or "",
        available_on=day("available_on"),
        letting=text("letting"),
        deduction=text("deduction"),
        on=day("date"),
        candidates=number("candidates"),
        dalo=flag("dalo"),
        rank=number("rank"),
        prioritaire=flag("prioritaire"),
        first_quartile=flag("first_quartile"),
        reason=text("reason"),
        notified_on=day("notified_on"),
    )
    if row.reference is not None and len(row.reference) > 190:
        problems.append("reference : 190 caractères au plus")
    if problems:
        row.problem = " ; ".join(problems)
    return row
