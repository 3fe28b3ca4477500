"""The reserver's pages: its rights with the chart and its table, the dwellings awaiting its
candidates and the designation, its bilans; and what it may not open."""

from __future__ import annotations

import re

from .conftest import csrf_of


def test_rights_show_each_share_and_the_completion_rate(signed_in, world, log_vacancy):
    for rpls, on in (("R0000001", "2026-01-05"), ("R0000002", "2026-01-06")):
        log_vacancy(world["dwellings"][rpls], on)
    client = signed_in("reserver", "action-logement")
    html = client.get("/reservataire/droits?au=2026-02-01").get_data(as_text=True)
    assert "Situation au 01/02/2026" in html
    assert "taux de réalisation global" in html
    assert "Part salaries" in html and "Office Public" in html
    # Every figure of the issue: percentage, counted per the counting event, leases, take-backs.
    for header in ("Pourcen&shy;tage", "Dont report", "Comptés", "Compte", "Taux de réalisation"):
        assert f'<th scope="col" class="num">{header}</th>' in html or header in html
    assert "60,00 %" in html
    for header in ("Attributions", "Baux signés", "Reprises comptées", "Reprises non comptées"):
        assert header in html
    assert "à l&#39;orientation" in html
    assert "Part ville" not in html  # Toulouse's share is not Action Logement's business
    # The chart, with its text alternative, next to a table of the same months.
    assert re.search(r'<img class="chart" src="/reservataire/droits/graphique/\d+\.svg', html)
    assert 'alt="Graphique du réalisé cumulé' in html
    assert "cumul à chaque fin de mois" in html


def test_the_chart_is_an_svg_of_ones_own_share_only(signed_in, world, log_vacancy):
    log_vacancy(world["dwellings"]["R0000001"], "2026-01-05")
    client = signed_in("reserver", "action-logement")
    with client.get(f"/reservataire/droits/graphique/{world['al_share']}.svg?au=2026-02-01") as r:
        assert r.status_code == 200
        assert r.mimetype == "image/svg+xml"
        assert b"<svg" in r.data
    other = client.get(f"/reservataire/droits/graphique/{world['tlse_share']}.svg")
    assert other.status_code == 404


def test_a_reserver_finds_its_dwelling_to_fill_and_designates(signed_in, world, log_vacancy):
    vacancy = log_vacancy(world["dwellings"]["R0000003"], "2026-03-02")  # Muret: AL's
    assert vacancy["holder"]["reserver"]["code"] == "action-logement"
    client = signed_in("reserver", "action-logement")
    listing = client.get("/reservataire/a-pourvoir").get_data(as_text=True)
    assert f"libération n° {vacancy['id']}" in listing
    path = f"/logements-liberes/{vacancy['id']}"
    page = client.get(path).get_data(as_text=True)
    assert set(re.findall(r'name="kind" value="([a-z_]+)"', page)) == {"designation"}
    response = client.post(
        f"{path}/evenements",
        data={
            "csrf_token": csrf_of(page),
            "kind": "designation",
            "designation-type": "designation",
            "designation-date": "2026-03-05",
            "designation-candidates": "3",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    after = client.get(path).get_data(as_text=True)
    assert "candidats désignés" in after and "3 candidat(s) proposé(s)" in after
    assert f"libération n° {vacancy['id']}" not in client.get("/reservataire/a-pourvoir").get_data(
        as_text=True
    )


def test_too_few_candidates_are_refused_with_the_rule(signed_in, world, log_vacancy):
    vacancy = log_vacancy(world["dwellings"]["R0000003"], "2026-03-02")
    client = signed_in("reserver", "action-logement")
    path = f"/logements-liberes/{vacancy['id']}"
    page = client.get(path).get_data(as_text=True)
    response = client.post(
        f"{path}/evenements",
        data={
            "csrf_token": csrf_of(page),
            "kind": "designation",
            "designation-type": "designation",
            "designation-date": "2026-03-05",
            "designation-candidates": "1",
        },
    )
    assert response.status_code == 422
    assert "au moins 3 candidats" in response.get_data(as_text=True)


def test_a_reserver_cannot_open_another_reservers_vacancy(signed_in, world, log_vacancy):
    vacancy = log_vacancy(world["dwellings"]["R0000003"], "2026-03-02")  # AL's
    client = signed_in("reserver", "commune-toulouse")
    assert client.get(f"/logements-liberes/{vacancy['id']}").status_code == 404
    html = client.get(f"/logements-liberes/{vacancy['id']}").get_data(as_text=True)
    response = client.post(
        f"/logements-liberes/{vacancy['id']}/evenements",
        data={"csrf_token": csrf_of(html), "kind": "designation"},
    )
    assert response.status_code == 404


def test_a_reserver_cannot_download_another_reservers_issued_bilan(
    signed_in, world, session, log_vacancy
):
    from datetime import date

    import sqlalchemy as sa

    from flux.models import Organisation
    from flux.services import bilan_campaign, year_close
    from flux.services.access import SYSTEM
    from flux.services.allocation_book import Scope

    log_vacancy(world["dwellings"]["R0000001"], "2025-03-02")
    oph = session.scalar(sa.select(Organisation.id).where(Organisation.code == "oph-demo-garonne"))
    year_close.close(session, SYSTEM, Scope(oph, "31"), 2025, date(2026, 1, 1))
    bilan_campaign.run(session, date(2026, 1, 5), None)
    session.commit()
    rows = [r for r in bilan_campaign.status(session, SYSTEM, 2025) if r["id"]]
    toulouse = next(r for r in rows if r["reserver"]["name"].startswith("Ville de Toulouse"))
    al = next(r for r in rows if r["reserver"]["name"].startswith("Action Logement"))
    client = signed_in("reserver", "action-logement")
    assert client.get(f"/bilans/{toulouse['id']}").status_code == 404
    with client.get(f"/bilans/{al['id']}") as own:
        assert own.status_code == 200 and own.mimetype == "application/pdf"
    page = client.get("/reservataire/bilans?annee=2025").get_data(as_text=True)
    assert f"/bilans/{al['id']}" in page and f"/bilans/{toulouse['id']}" not in page


def test_reserver_pages_are_not_a_landlords(signed_in, world):
    client = signed_in("landlord", "oph-demo-garonne")
    for path in ("/reservataire/droits", "/reservataire/a-pourvoir", "/reservataire/bilans"):
        assert client.get(path).status_code == 404


def test_an_admin_reads_every_reservers_overall_rate(signed_in, world, log_vacancy):
    log_vacancy(world["dwellings"]["R0000001"], "2026-01-05")
    html = signed_in("admin").get("/reservataire/droits?au=2026-02-01").get_data(as_text=True)
    assert "Situation au 01/02/2026 pour Action Logement Services" in html
    assert "Part non réservée du bailleur" in html  # the landlords' own parts, for an admin
