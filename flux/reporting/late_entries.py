"""Late entries (issue 4): entries about a closed year recorded after its close. They never move
the closed year's figures (its close moved the next year's carry-ins instead, ``year_close``);
the bilans of both years list them, flagged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flux import clock
from flux.reporting.catalogue import LANDLORD_PART, Catalogue
from flux.reporting.facts import ScopeYear
from flux.reporting.frames import dwellings
from flux.reporting.model import Column

KINDS = {
    "vacancy_logged": "libération",
    "orientation": "orientation",
    "override": "réorientation",
    "designation": "désignation",
    "cal_attribution": "attribution en CALEOL",
    "cal_refusal": "refus de la CALEOL",
    "carence": "carence",
    "take_back": "reprise",
    "lease": "bail signé",
    "withdrawal": "retrait",
    "correction": "correction",
    "carry_over": "ajustement du report",
}

COLUMNS = (
    Column("concerns", "Année concernée", "integer"),
    Column("landlord", "Bailleur"),
    Column("departement", "Département"),
    Column("entry", "Écriture n°", "integer"),
    Column("kind", "Nature"),
    Column("effective_date", "Date d'effet", "date"),
    Column("recorded_on", "Enregistrée le", "date"),
    Column("vacancy", "Libération n°", "integer"),
    Column("share", "Droit"),
    Column("detail", "Détail"),
    Column("flag", "Signalement"),
    Column("landlord_id", "Id bailleur", "integer", True),
    Column("share_id", "Id droit", "integer", True),
    Column("kind_code", "Code de la nature", "text", True),
)
NOTE = (
    "Écritures concernant une année clôturée, enregistrées après sa clôture, qui en changent "
    "les chiffres (un retrait, une reprise recréditée…) : elles ne modifient pas les chiffres "
    "arrêtés de l'année close, leur effet est reporté sur l'année suivante (ajustements du "
    "report). Un suivi ordinaire enregistré après la clôture (désignation, décision de CALEOL "
    "ou bail de janvier d'un logement libéré en décembre) n'en change rien et n'y figure pas. "
    "Elles figurent dans le bilan des deux années."
)


def rows(
    scope_year: ScopeYear, catalogue: Catalogue, shows: Callable[[int | None], bool]
) -> list[tuple[Any, ...]]:
    """The late entries shown with the scope's year (``COLUMNS``) about the shares of the
    reservers the bilan ``shows`` (its view: ``annual.View.shows``; None: the landlord's)."""
    landlord = catalogue.organisations.get(scope_year.scope.landlord_id, "")
    result = []
    for entry in scope_year.late:
        info = catalogue.shares.get(entry.share_id) if entry.share_id is not None else None
        if not shows(info.reserver_id if info is not None else None):
            continue
        share = info.label if info else (LANDLORD_PART if entry.kind == "carry_over" else None)
        result.append(
            (
                entry.concerns,
                landlord,
                scope_year.scope.departement,
                entry.id,
                KINDS.get(entry.kind, entry.kind),
                entry.effective_date,
                entry.recorded_at.astimezone(clock.PARIS).date(),
                entry.vacancy_id,
                share,
                _detail(entry.kind, entry.payload),
                f"tardive : concerne {entry.concerns}, enregistrée après sa clôture",
                scope_year.scope.landlord_id,
                entry.share_id,
                entry.kind,
            )
        )
    return result


def _detail(kind: str, payload: dict[str, Any]) -> str | None:
    if kind == "carry_over":
        units = int(payload.get("units", 0))
        return f"report ajusté de {dwellings(units):+.2f} logement(s)".replace(".", ",")
    if kind in ("carence", "take_back"):
        return "comptée pour la part" if payload.get("counted", True) else "recréditée"
    if kind == "correction":
        return f"annule l'écriture {payload.get('reversed_kind', '')}".strip()
    if kind == "withdrawal":
        return payload.get("reason")
    return None
