"""A landlord's stock: dwellings, one by one or imported from a CSV file."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from flux.domain.reference import OrganisationKind, Role
from flux.models import Commune, Dwelling, JournalEntry, Organisation, Qpv
from flux.services import organisations
from flux.services.access import Actor, check_dwelling_write, visible_dwellings
from flux.services.errors import Conflict, InvalidInput, NotFound

# API / CSV name -> column, for the optional attributes (money in cents, surface in hundredths).
ATTRIBUTES = {
    "address": "address",
    "floor": "floor",
    "surface": "surface_m2_x100",
    "rooms": "rooms",
    "rent": "rent_cents",
    "charges": "charges_cents",
    "pmr": "pmr",
    "lift": "lift",
    "landlord_contact": "landlord_contact",
}
ATTRIBUTE_COLUMNS = tuple(ATTRIBUTES)
CSV_COLUMNS = (
    "rpls_id",
    "commune",
    "qpv",
    "typology",
    "financing",
    "construction_year",
    "out_of_flux",
    # Optional: what a réservataire needs to choose candidates.
    *ATTRIBUTE_COLUMNS,
)
REQUIRED_COLUMNS = ("rpls_id", "commune", "typology", "financing", "construction_year")


def get(session: Session, actor: Actor, dwelling_id: int) -> Dwelling:
    dwelling = session.scalar(
        sa.select(Dwelling).where(Dwelling.id == dwelling_id, visible_dwellings(actor))
    )
    if dwelling is None:
        raise NotFound(f"Logement {dwelling_id} introuvable.")
    return dwelling


def landlord_for_write(session: Session, actor: Actor, ref: int | str | None) -> Organisation:
    """The landlord whose stock is written: the caller's own unless an admin names one."""
    if ref is None:
        if actor.role is not Role.LANDLORD:
            raise InvalidInput("Indiquez le bailleur.", errors={"json": {"landlord": ["Requis."]}})
        ref = actor.organisation_id
    landlord = organisations.get_by_ref(session, ref, "landlord")
    if landlord.kind is not OrganisationKind.LANDLORD:
        raise InvalidInput(
            f"« {landlord.code} » n'est pas un bailleur.",
            errors={"json": {"landlord": ["Ce n'est pas un bailleur."]}},
        )
    check_dwelling_write(actor, landlord.id)
    return landlord


def _check_place(session: Session, commune: str | None, qpv: str | None) -> dict[str, list[str]]:
    """Field errors for an unknown commune or a QPV that is not in the commune."""
    errors: dict[str, list[str]] = {}
    if commune is not None and session.get(Commune, commune) is None:
        errors["commune"] = [f"Commune « {commune} » inconnue."]
    if qpv:
        row = session.get(Qpv, qpv)
        if row is None:
            errors["qpv"] = [f"QPV « {qpv} » inconnu."]
        elif commune is not None and commune not in {c.insee for c in row.communes}:
            errors["qpv"] = [f"Le QPV « {qpv} » n'est pas dans la commune « {commune} »."]
    return errors


def create(session: Session, actor: Actor, data: Mapping[str, Any]) -> Dwelling:
    landlord = landlord_for_write(session, actor, data.get("landlord"))
    errors = _check_place(session, data["commune"], data.get("qpv"))
    if errors:
        raise InvalidInput("Logement invalide.", errors={"json": errors})
    if _existing(session, landlord.id, data["rpls_id"]) is not None:
        raise Conflict(
            f"Le logement RPLS « {data['rpls_id']} » existe déjà chez ce bailleur.",
            errors={"json": {"rpls_id": ["Déjà enregistré."]}},
        )
    _check_rpls_free(session, landlord.id, data["rpls_id"])
    dwelling = Dwelling(landlord_id=landlord.id, **_columns(data))
    session.add(dwelling)
    session.flush()
    return dwelling


def update(session: Session, actor: Actor, dwelling_id: int, data: Mapping[str, Any]) -> Dwelling:
    dwelling = get(session, actor, dwelling_id)
    check_dwelling_write(actor, dwelling.landlord_id)
    commune = data.get("commune", dwelling.commune_insee)
    qpv = data.get("qpv", dwelling.qpv_code)
    errors = _check_place(session, commune, qpv)
    if errors:
        raise InvalidInput("Logement invalide.", errors={"json": errors})
    if "rpls_id" in data and data["rpls_id"] != dwelling.rpls_id:
        _check_rpls_free(session, dwelling.landlord_id, data["rpls_id"])
    for key, value in _columns(data).items():
        setattr(dwelling, key, value)
    session.flush()
    return dwelling


def delete(session: Session, actor: Actor, dwelling_id: int) -> None:
    """Remove a dwelling entered by mistake; one the journal mentions stays (it is history)."""
    dwelling = get(session, actor, dwelling_id)
    check_dwelling_write(actor, dwelling.landlord_id)
    used = session.scalar(sa.select(JournalEntry.id).where(JournalEntry.dwelling_id == dwelling.id))
    if used is not None:
        raise Conflict(
            "Ce logement figure au journal : il ne peut pas être supprimé. "
            "Indiquez plutôt qu'il sort du flux (out_of_flux)."
        )
    session.delete(dwelling)
    session.flush()


def _columns(data: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        "rpls_id": "rpls_id",
        "commune": "commune_insee",
        "qpv": "qpv_code",
        "typology": "typology",
        "financing": "financing",
        "construction_year": "construction_year",
        "out_of_flux": "out_of_flux",
        **ATTRIBUTES,
    }
    return {
        column: (data[key] or None) if key == "qpv" else data[key]
        for key, column in names.items()
        if key in data
    }


def _existing(session: Session, landlord_id: int, rpls_id: str) -> Dwelling | None:
    return session.scalar(
        sa.select(Dwelling).where(Dwelling.landlord_id == landlord_id, Dwelling.rpls_id == rpls_id)
    )


# --- one landlord per RPLS id; a sale is an explicit transfer ---------------------------


def _held_elsewhere(session: Session, landlord_id: int, rpls_ids: list[str]) -> dict[str, str]:
    """RPLS id -> code of the other landlord whose stock holds it (not sold)."""
    rows = session.execute(
        sa.select(Dwelling.rpls_id, Organisation.code)
        .join(Organisation, Dwelling.landlord_id == Organisation.id)
        .where(
            Dwelling.rpls_id.in_(rpls_ids),
            Dwelling.landlord_id != landlord_id,
            Dwelling.sold_on.is_(None),
        )
    )
    return dict(rows.all())


def _held_message(code: str) -> str:
    return (
        f"Ce numéro RPLS est au patrimoine du bailleur « {code} » : après une vente, "
        "enregistrez la cession (transfert)."
    )


def _check_rpls_free(session: Session, landlord_id: int, rpls_id: str) -> None:
    held = _held_elsewhere(session, landlord_id, [rpls_id])
    if held:
        message = _held_message(held[rpls_id])
        raise Conflict(message, errors={"json": {"rpls_id": [message]}})


def transfer(
    session: Session, actor: Actor, dwelling_id: int, buyer_ref: int | str, on: date
) -> Dwelling:
    """Record the sale of a dwelling to another landlord: the seller's row is marked sold on
    `on` (the journal keeps naming it), the buyer gets a row with the same RPLS id and
    characteristics. The seller or an administrator records it; both rows are audited."""
    dwelling = get(session, actor, dwelling_id)
    check_dwelling_write(actor, dwelling.landlord_id)
    if dwelling.sold_on is not None:
        raise Conflict(f"Ce logement a déjà été cédé le {dwelling.sold_on:%d/%m/%Y}.")
    buyer = organisations.get_by_ref(session, buyer_ref, "landlord")
    if buyer.kind is not OrganisationKind.LANDLORD or buyer.id == dwelling.landlord_id:
        message = "L'acquéreur doit être un autre bailleur."
        raise InvalidInput(message, errors={"json": {"landlord": [message]}})
    dwelling.sold_on = on
    session.flush()  # the seller's row leaves the active RPLS ids before the buyer's enters
    bought = _existing(session, buyer.id, dwelling.rpls_id)  # bought back: its old row
    if bought is None:
        bought = Dwelling(landlord_id=buyer.id, rpls_id=dwelling.rpls_id)
        session.add(bought)
    bought.sold_on = None
    for column in ("commune_insee", "qpv_code", "typology", "financing", "construction_year"):
        setattr(bought, column, getattr(dwelling, column))
    bought.out_of_flux = dwelling.out_of_flux
    session.flush()
    return bought


# --- CSV import ------------------------------------------------------------------------

# Rows validated and written together: one read of the existing dwellings and of the other
# landlords' RPLS ids per batch, so that memory stays bounded whatever the file's size.
BATCH = 1000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # line -> field -> msgs
    rows: int = 0

    def as_problem_errors(self) -> dict[str, Any]:
        return {"files": {"file": {str(line): msgs for line, msgs in self.errors.items()}}}

    def as_dict(self) -> dict[str, int]:
        """The counts (the API's and the import job's report)."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _not_utf8(error: UnicodeDecodeError) -> InvalidInput:
    return InvalidInput(
        "Le fichier doit être encodé en UTF-8.", errors={"files": {"file": [str(error)]}}
    )


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """The file's lines as they come (line ends kept, as csv wants them), BOM dropped."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]
    try:
        while True:
            try:
                line = text.readline()
            except UnicodeDecodeError as error:
                raise _not_utf8(error) from error
            if not line:
                return
            yield line
    finally:
        text.detach()  # the caller closes its own stream


def _read_rows(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    """(line number, values by column, values beyond the header's columns) for each row,
    read as they come (the file is never held whole in memory)."""
    lines = _lines(stream)
    try:
        first = next(lines, "")
        delimiter = ";" if first.count(";") >= first.count(",") else ","
        reader = csv.DictReader(itertools.chain((first,), lines), delimiter=delimiter)
        try:
            yield from _rows(reader)
        except csv.Error as error:  # a field over csv's size limit, a NUL character...
            line = str(reader.line_num + 1)  # csv counts the lines it read whole
            message = f"Ligne {line} illisible en CSV ({error})."
            raise InvalidInput(
                message, errors={"files": {"file": {line: {"_schema": [message]}}}}
            ) from error
    finally:
        lines.close()  # detach the text reader while the caller's stream is open


def _rows(reader: csv.DictReader) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    twice = sorted({name for name in header if header.count(name) > 1})
    if unknown or missing or twice:
        problems = (
            ([f"colonnes inconnues : {', '.join(unknown)}"] if unknown else [])
            + ([f"colonnes manquantes : {', '.join(missing)}"] if missing else [])
            + ([f"colonnes en double : {', '.join(twice)}"] if twice else [])
        )
        raise InvalidInput(
            f"En-tête CSV invalide ; colonnes attendues : {';'.join(CSV_COLUMNS)}.",
            errors={"files": {"file": {"1": {"header": problems}}}},
        )
    reader.fieldnames = header
    for row in reader:
        # DictReader files values beyond the header's columns under None: a misaligned line.
        extra = [value for value in row.pop(None, None) or [] if value.strip()]
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}, extra


def import_csv(
    session: Session,
    actor: Actor,
    stream: IO[bytes],
    landlord_ref: int | str | None,
    load_row: Callable[[dict[str, str]], dict[str, Any]],
    *,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportReport:
    """Create or update the landlord's dwellings from a CSV stream; if any line is bad, raise
    InvalidInput naming every bad line (the caller rolls back: nothing is kept).

    The file is read and written by batches of ``BATCH`` rows (only the RPLS ids already seen
    are kept, to refuse a repeated one); ``progress(rows read, None)`` after each batch (the
    total is not known before the end of the stream). `load_row` validates one row with the
    API's schema and raises marshmallow's ValidationError (its `messages` name the fields).
    """
    landlord = landlord_for_write(session, actor, landlord_ref)
    report = _Import(session, landlord.id)
    batch: list[tuple[int, dict[str, str], list[str]]] = []
    for row in _read_rows(stream):
        batch.append(row)
        if len(batch) >= BATCH:
            report.batch(batch, load_row)
            batch = []
            if progress is not None:
                progress(report.report.rows, None)
    if batch:
        report.batch(batch, load_row)
    if progress is not None:
        progress(report.report.rows, None)
    result = report.report
    if not result.rows:
        raise InvalidInput("Le fichier ne contient aucune ligne de logement.")
    if result.errors:
        raise InvalidInput(
            f"{len(result.errors)} ligne(s) invalide(s) : rien n'a été importé.",
            errors=result.as_problem_errors(),
        )
    return result


class _Import:
    """One import's state between batches: RPLS ids seen, places checked, the report."""

    def __init__(self, session: Session, landlord_id: int) -> None:
        self.session, self.landlord_id = session, landlord_id
        self.report = ImportReport()
        self.seen: dict[str, int] = {}
        self.places: dict[tuple[str, str | None], dict[str, list[str]]] = {}

    def batch(
        self,
        rows: list[tuple[int, dict[str, str], list[str]]],
        load_row: Callable[[dict[str, str]], dict[str, Any]],
    ) -> None:
        report, loaded = self.report, []
        report.rows += len(rows)
        held = _held_elsewhere(
            self.session, self.landlord_id, [raw.get("rpls_id", "") for _, raw, _ in rows]
        )
        for line, raw, extra in rows:
            if extra:  # "_schema": marshmallow's key for an error about the whole record
                report.errors[line] = {
                    "_schema": [f"Valeurs au-delà des colonnes de l'en-tête : {';'.join(extra)}."]
                }
                continue
            raw = {key: value for key, value in raw.items() if value != "" or key == "qpv"}
            try:
                data = load_row(raw)
            except ValidationError as error:
                report.errors[line] = error.messages  # type: ignore[assignment]
                continue
            line_errors = dict(self._place(data["commune"], data.get("qpv")))
            rpls_id = data["rpls_id"]
            if rpls_id in self.seen:
                line_errors["rpls_id"] = [f"Déjà présent ligne {self.seen[rpls_id]}."]
            self.seen.setdefault(rpls_id, line)
            if rpls_id in held:
                line_errors.setdefault("rpls_id", []).append(_held_message(held[rpls_id]))
            if line_errors:
                report.errors[line] = line_errors
            loaded.append(data)
        if not report.errors:  # once a line is bad nothing is kept: only validate the rest
            _write(self.session, self.landlord_id, loaded, report)

    def _place(self, commune: str, qpv: str | None) -> dict[str, list[str]]:
        key = (commune, qpv or None)
        if key not in self.places:
            self.places[key] = _check_place(self.session, commune, qpv)
        return self.places[key]


def _write(
    session: Session, landlord_id: int, rows: list[dict[str, Any]], report: ImportReport
) -> None:
    """Write one batch (through the unit of work: each row leaves its audit record)."""
    existing = {
        d.rpls_id: d
        for d in session.scalars(
            sa.select(Dwelling).where(
                Dwelling.landlord_id == landlord_id,
                Dwelling.rpls_id.in_([data["rpls_id"] for data in rows]),
            )
        )
    }
    for data in rows:
        columns = _columns(data)
        dwelling = existing.get(data["rpls_id"])
        if dwelling is None:
            session.add(Dwelling(landlord_id=landlord_id, **columns))
            report.created += 1
        elif any(getattr(dwelling, k) != v for k, v in columns.items()):
            for key, value in columns.items():
                setattr(dwelling, key, value)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()


def details_of(session: Session, dwelling_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each dwelling's attributes for choosing candidates (one read for many dwellings)."""
    if not dwelling_ids:
        return {}
    # Plain columns, not ORM objects: a list page asks for 500 dwellings at once.
    rows = session.execute(
        sa.select(
            Dwelling.id,
            Dwelling.address,
            Commune.name,
            Dwelling.floor,
            Dwelling.surface_m2_x100,
            Dwelling.rooms,
            Dwelling.rent_cents,
            Dwelling.charges_cents,
            Dwelling.pmr,
            Dwelling.lift,
            Dwelling.landlord_contact,
        )
        .outerjoin(Commune, Commune.insee == Dwelling.commune_insee)
        .where(Dwelling.id.in_(dwelling_ids))
    )
    return {
        row.id: {
            "address": row.address,
            "commune_name": row.name,
            "floor": row.floor,
            "surface": _hundredths(row.surface_m2_x100),
            "rooms": row.rooms,
            "rent": _hundredths(row.rent_cents),
            "charges": _hundredths(row.charges_cents),
            "pmr": row.pmr,
            "lift": row.lift,
            "landlord_contact": row.landlord_contact,
        }
        for row in rows
    }


def _hundredths(value: int | None) -> str | None:
    return None if value is None else f"{value // 100}.{value % 100:02d}"
