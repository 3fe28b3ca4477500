"""The prefecture's pages: the département's console, the État's conventions."""

from __future__ import annotations

from flask import abort, g, render_template

from flux import clock
from flux.db import db
from flux.domain.reference import Role
from flux.services import desk

from ..blueprint import bp
from ..reservataire.views import year_arg


def _prefecture_only() -> None:
    if g.actor.role not in (Role.PREFECTURE, Role.ADMIN):
        abort(404)


@bp.route("/prefecture/console")
def prefecture_console():
    _prefecture_only()
    today = clock.today()
    year = year_arg(today.year - 1 if today.month <= 2 else today.year)
    view = desk.console(db.session, g.actor, year, today)
    return render_template(
        "prefecture/console.html",
        c=view,
        years=range(2025, today.year + 1),
        departement=g.actor.departement,
    )
