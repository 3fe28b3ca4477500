"""The landlord's pages: the desk, declaring a freed dwelling, the vacancy page and its events."""

from __future__ import annotations

import re

import sqlalchemy as sa

from flux.models import JournalEntry

from .conftest import MURET, OPH, csrf_of, post_form

DECLARE = "/bailleur/declarer"


def _declare(client, rpls: str, on: str = "2026-03-02", **fields):
    return post_form(
        client, DECLARE, {"rpls_id": rpls, "available_on": on, "letting": "reletting", **fields}
    )


def test_declaring_a_freed_dwelling_shows_its_orientation_in_words(signed_in, world):
    client = signed_in("landlord", OPH)
    response = _declare(client, "R0000001")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.location).get_data(as_text=True)
    assert "Le logement libéré est enregistré." in page
    # The first vacancy in Toulouse: Action Logement (60 %) is furthest behind its due.
    assert "Ce logement est orienté vers Action Logement Services" in page
    assert "c&#39;est la part éligible la plus en retard sur son dû" in page
    assert "objectif 0,60 logement(s) en comptant celui-ci, réalisé 0 avant lui" in page
    assert '<caption id="explication">' in page
    assert "Part non réservée du bailleur" in page  # the explanation lists every eligible part


def test_a_deducted_dwelling_goes_to_nobody(signed_in, world):
    client = signed_in("landlord", OPH)
    response = _declare(client, "R0000001", deduction="internal_transfer")
    page = client.get(response.location).get_data(as_text=True)
    assert "soustrait du flux" in page and "n&#39;est orienté vers personne" in page


def test_declaring_an_unknown_dwelling_says_so_on_its_field(signed_in, world, session):
    client = signed_in("landlord", OPH)
    response = _declare(client, "NOPE")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<a href="#rpls_id">' in html
    assert _vacancy_entries(session) == 0


def test_declaring_another_landlords_dwelling_is_refused(signed_in, world, session):
    client = signed_in("landlord", OPH)
    response = _declare(client, "E0000001")  # ESH's
    assert response.status_code == 422
    assert _vacancy_entries(session) == 0


def test_declaring_without_the_csrf_token_is_refused(signed_in, world, session):
    client = signed_in("landlord", OPH)
    response = client.post(
        DECLARE, data={"rpls_id": "R0000001", "available_on": "2026-03-02", "letting": "reletting"}
    )
    assert response.status_code == 400
    assert _vacancy_entries(session) == 0


def test_the_vacancy_page_offers_exactly_the_events_of_its_stage(signed_in, world, log_vacancy):
    vacancy = log_vacancy(world["dwellings"]["R0000001"], "2026-03-02")
    client = signed_in("landlord", OPH)
    html = client.get(f"/logements-liberes/{vacancy['id']}").get_data(as_text=True)
    offered = set(re.findall(r'name="kind" value="([a-z_]+)"', html))
    assert offered == set(vacancy["allowed_events"])
    assert "Échéance" in html and "jour" in html


def test_an_override_needs_a_reason_and_then_moves_the_vacancy(signed_in, world, log_vacancy):
    vacancy = log_vacancy(world["dwellings"]["R0000001"], "2026-03-02")
    client = signed_in("landlord", OPH)
    path = f"/logements-liberes/{vacancy['id']}"
    html = client.get(path).get_data(as_text=True)
    target = str(world["tlse_share"])
    without = client.post(
        f"{path}/evenements",
        data={
            "csrf_token": csrf_of(html),
            "kind": "override",
            "override-type": "override",
            "override-date": "2026-03-03",
            "override-share": target,
            "override-reason": "",
        },
    )
    assert without.status_code == 422
    assert '<a href="#override-reason">' in without.get_data(as_text=True)
    done = client.post(
        f"{path}/evenements",
        data={
            "csrf_token": csrf_of(html),
            "kind": "override",
            "override-type": "override",
            "override-date": "2026-03-03",
            "override-share": target,
            "override-reason": "Ménage de la commune en attente depuis longtemps",
        },
    )
    assert done.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "par dérogation à la proposition de Flux" in page
    assert "Réorientation par le bailleur" in page  # in the timeline


def test_an_impossible_event_is_refused_with_the_reason(signed_in, world, log_vacancy):
    vacancy = log_vacancy(world["dwellings"]["R0000001"], "2026-03-02")
    client = signed_in("landlord", OPH)
    path = f"/logements-liberes/{vacancy['id']}"
    html = client.get(path).get_data(as_text=True)
    response = client.post(
        f"{path}/evenements",
        data={"csrf_token": csrf_of(html), "kind": "lease", "lease-date": "2026-03-03"},
    )
    assert response.status_code == 303  # not offered at this stage: nothing recorded
    assert "n&#39;est pas possible" in client.get(path).get_data(as_text=True)


def test_the_desk_lists_open_vacancies_overdue_first_with_filters(signed_in, world, log_vacancy):
    # Told on its availability date (late logging otherwise gives the full delay from today).
    old = log_vacancy(world["dwellings"]["R0000001"], "2025-01-10", notified_on="2025-01-10")
    recent = log_vacancy(world["dwellings"]["R0000003"], "2026-03-02")
    client = signed_in("landlord", OPH)
    html = client.get("/bailleur/a-traiter").get_data(as_text=True)
    assert html.index(f"libération n° {old['id']}") < html.index(f"libération n° {recent['id']}")
    assert "dépassé de" in html
    muret = client.get(f"/bailleur/a-traiter?commune={MURET}").get_data(as_text=True)
    assert f"libération n° {recent['id']}" in muret
    assert f"libération n° {old['id']}" not in muret


def test_another_landlords_vacancy_is_not_found(signed_in, world, log_vacancy):
    vacancy = log_vacancy(world["dwellings"]["E0000001"], "2026-03-02")
    client = signed_in("landlord", OPH)
    assert client.get(f"/logements-liberes/{vacancy['id']}").status_code == 404
    desk = client.get("/bailleur/a-traiter").get_data(as_text=True)
    assert f"libération n° {vacancy['id']}" not in desk


def test_landlord_pages_are_not_a_reservers(signed_in, world):
    client = signed_in("reserver", "action-logement")
    assert client.get("/bailleur/a-traiter").status_code == 404
    assert client.get(DECLARE).status_code == 404


def _vacancy_entries(session) -> int:
    """Journal entries about vacancies (the conventions' own `terms_changed` entries aside)."""
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(JournalEntry)
        .where(JournalEntry.kind != "terms_changed")
    )


def test_a_held_vacancy_page_says_it_awaits_the_close(signed_in, world, log_vacancy):
    log_vacancy(world["dwellings"]["R0000001"], "2025-06-02")  # the scope has a 2025
    held = log_vacancy(world["dwellings"]["R0000002"], "2026-01-05")  # 2025 is not closed
    assert held["stage"] == "held"
    client = signed_in("landlord", OPH)
    html = client.get(f"/logements-liberes/{held['id']}").get_data(as_text=True)
    assert "En attente de la clôture de l&#39;année 2025" in html or (
        "En attente de la clôture de l'année 2025" in html
    )
    assert "en attente de la clôture de l" in html  # the stage's label
    offered = set(re.findall(r'name="kind" value="([a-z_]+)"', html))
    assert offered == {"withdrawal"}
