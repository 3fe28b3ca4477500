"""What every template may use: French dates and numbers, the navigation of the caller's role."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, current_app, g, request, url_for

from flux.clock import PARIS
from flux.domain.reference import Role

# Each role's menu: (endpoint, label). The first entry is the role's home page.
NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.LANDLORD: [
        ("web.bailleur_desk", "À traiter"),
        ("web.bailleur_declare", "Déclarer un logement libéré"),
        ("web.bailleur_dwellings", "Patrimoine"),
        ("web.bailleur_conventions", "Conventions"),
    ],
    Role.RESERVER: [
        ("web.reservataire_rights", "Mes droits"),
        ("web.reservataire_to_fill", "Logements à pourvoir"),
        ("web.reservataire_bilans", "Mes bilans"),
    ],
    Role.PREFECTURE: [
        ("web.prefecture_console", "Console du département"),
        ("web.prefecture_conventions", "Conventions de l'État"),
    ],
    Role.ADMIN: [
        ("web.admin_users", "Utilisateurs"),
        ("web.admin_organisations", "Organisations"),
    ],
}

MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def date_fr(value: date | datetime | str | None) -> str:
    """JJ/MM/AAAA (a datetime in Paris time, with its hour)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        local = value.astimezone(PARIS) if value.tzinfo else value
        return local.strftime("%d/%m/%Y à %H:%M")
    return value.strftime("%d/%m/%Y")


def long_date_fr(value: date) -> str:
    return f"{value.day}{'er' if value.day == 1 else ''} {MONTHS[value.month - 1]} {value.year}"


def number_fr(value: Any) -> str:
    """A figure as French readers write it: decimal comma, narrow no-break space for thousands."""
    if value is None or value == "":
        return "—"
    text = str(value)
    sign = "−" if text.startswith("-") else ""
    text = text.lstrip("-+")
    whole, _, decimals = text.partition(".")
    if whole.isdigit():
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        whole = "\u202f".join([whole, *groups])
    return sign + whole + ("," + decimals if decimals else "")


def report_cell(value: Any, kind: str) -> str:
    """A bilan's cell written as its PDF writes it (flux.reporting.render's French formats)."""
    from flux.reporting import render
    from flux.reporting.model import Column

    plain = render.cell(value, Column("x", "x", kind))  # type: ignore[arg-type]
    if plain is None:
        return "—"
    if kind == "percent":
        return render.fr_percent(plain, "\u00a0")
    if kind == "dwellings":
        return render.fr_number(plain, 2, "\u202f")
    if kind == "date":
        return render.fr_date(plain)
    return str(plain)


def basis_points_fr(value: int) -> str:
    """Basis points as the API writes a percentage, the French way: 2500 -> "25,00"."""
    from flux.domain.conventions import format_percent

    return number_fr(format_percent(value))


def _menu() -> list[dict[str, Any]]:
    actor = getattr(g, "actor", None)
    if actor is None:
        return []
    return [
        {"url": url_for(endpoint), "label": label, "current": request.endpoint == endpoint}
        for endpoint, label in NAVIGATION[actor.role]
        if endpoint in current_app.view_functions  # pages not built yet are not offered
    ]


def install(app: Flask) -> None:
    app.add_template_filter(date_fr, "date_fr")
    app.add_template_filter(long_date_fr, "long_date_fr")
    app.add_template_filter(number_fr, "number_fr")
    app.add_template_filter(report_cell, "report_cell")
    app.add_template_filter(basis_points_fr, "basis_points_fr")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        if request.blueprint != "web":
            return {}
        return {"menu": _menu(), "signed_in": getattr(g, "actor", None) is not None}
