"""The figure cache of /balances is keyed by the identity of the conventions it was computed
with. CPython reuses an object's id once it is collected: figures computed with conventions
since replaced must never be served for a newer object that got the same id."""

from __future__ import annotations

from datetime import date

from flux.services import balances
from flux.services.allocation_book import Scope


def test_figures_of_replaced_conventions_are_not_served_under_a_reused_id(session, monkeypatch):
    computed_with: list[object] = []

    def figures_at(_session, _scope, _year, days, conventions):
        computed_with.append(conventions)
        return {day: {"computed_with": conventions} for day in days}

    monkeypatch.setattr(balances, "figures_at", figures_at)
    # Every object gets the same id, as a collected object's successor may.
    monkeypatch.setattr(balances, "id", lambda _obj: 1, raising=False)
    scope, day, marks = Scope(1, "31"), date(2026, 6, 30), (3, 10, None)
    old, new = object(), object()

    first = balances._scope_figures(session, scope, 2026, day, old, marks)
    again = balances._scope_figures(session, scope, 2026, day, old, marks)
    assert first is again and computed_with == [old]  # cached for the same conventions
    replaced = balances._scope_figures(session, scope, 2026, day, new, marks)
    assert replaced == {"computed_with": new}
    assert computed_with == [old, new]
