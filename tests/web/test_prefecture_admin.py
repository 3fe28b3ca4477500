"""The prefecture's console and downloads; the administrator's users and organisations."""

from __future__ import annotations

import sqlalchemy as sa

from flux.models import User

from .conftest import PASSWORD, csrf_of, post_form, sign_in


def test_the_console_shows_each_obligation_and_the_campaign(signed_in, world, log_vacancy):
    log_vacancy(world["dwellings"]["R0000001"], "2026-01-05")
    client = signed_in("prefecture", "etat-31")
    html = client.get("/prefecture/console?annee=2026").get_data(as_text=True)
    assert "Console du département (31) — 2026" in html
    assert "Contrôle des obligations 2026, par bailleur" in html
    assert "Part de l'État commune par commune" in html
    assert "Campagne des bilans 2026" in html
    assert "Télécharger le bilan consolidé" in html


def test_the_consolidated_bilan_downloads_in_four_formats(signed_in, world, log_vacancy):
    log_vacancy(world["dwellings"]["R0000001"], "2025-03-05")
    client = signed_in("prefecture", "etat-31")
    expected = {
        "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv": "text/csv",
        "json": "application/json",
    }
    for fmt, mimetype in expected.items():
        with client.get(f"/bilan-annuel?annee=2025&format={fmt}") as response:
            assert response.status_code == 200, fmt
            assert response.mimetype == mimetype
            assert len(response.data) > 100


def test_the_bilan_filters_refuse_what_the_caller_may_not_see(signed_in, world):
    client = signed_in("reserver", "commune-toulouse")
    response = client.get("/bilan-annuel?annee=2025&format=csv&reservataire=action-logement")
    assert response.status_code == 404


def test_the_console_is_the_prefectures_only(signed_in, world):
    assert signed_in("landlord", "oph-demo-garonne").get("/prefecture/console").status_code == 404
    assert signed_in("reserver", "etat-31").get("/prefecture/console").status_code == 404


def test_an_admin_creates_a_user_who_can_then_sign_in(signed_in, world, app):
    client = signed_in("admin")
    response = post_form(
        client,
        "/admin/utilisateurs",
        {
            "email": "new.agent@test.flux.example",
            "role": "landlord",
            "organisation": "oph-demo-garonne",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "new.agent@test.flux.example" in client.get("/admin/utilisateurs").get_data(as_text=True)
    assert sign_in(app.test_client(), "new.agent@test.flux.example").status_code == 302


def test_an_admin_resets_deactivates_and_revokes(signed_in, world, session, app, make_user):
    email = make_user("landlord", "oph-demo-garonne")
    user_id = session.scalar(sa.select(User.id).where(User.email == email))
    agent = app.test_client()
    assert sign_in(agent, email).status_code == 302
    admin = signed_in("admin")
    path = f"/admin/utilisateurs/{user_id}"
    assert post_form(admin, path, {"password": "another-long-password"}).status_code == 302
    page = admin.get(path).get_data(as_text=True)
    revoked = admin.post(f"{path}/revoquer", data={"csrf_token": csrf_of(page)})
    assert revoked.status_code == 302
    assert agent.get("/").location.startswith("/connexion")  # its session ended with its token
    assert sign_in(app.test_client(), email, "another-long-password").status_code == 302
    admin.post(f"{path}/desactiver", data={"csrf_token": csrf_of(page)})
    assert sign_in(app.test_client(), email, "another-long-password").status_code == 401


def test_admin_pages_are_the_admins_only(signed_in, world):
    client = signed_in("landlord", "oph-demo-garonne")
    assert client.get("/admin/utilisateurs").status_code == 404
    assert client.get("/admin/organisations").status_code == 404
    assert "Action Logement" in signed_in("admin").get("/admin/organisations").get_data(
        as_text=True
    )
