"""Signing in and out, one's own password, the session cookie, CSRF and the skeleton's pages."""

from __future__ import annotations

from .conftest import PASSWORD, csrf_of, post_form, sign_in


def test_the_root_sends_a_signed_out_visitor_to_the_sign_in_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/connexion")


def test_any_page_signed_out_redirects_to_sign_in_and_back_after(client, make_user):
    response = client.get("/bailleur/a-traiter?commune=31555")
    assert response.status_code == 302
    assert response.location == "/connexion?next=/bailleur/a-traiter?commune%3D31555"
    email = make_user("landlord", "oph-demo-garonne")
    page = client.get(response.location).get_data(as_text=True)
    signed = client.post(
        response.location,
        data={"csrf_token": csrf_of(page), "email": email, "password": PASSWORD},
    )
    assert signed.status_code == 302
    assert signed.location == "/bailleur/a-traiter?commune=31555"


def test_sign_in_never_redirects_to_another_site(client, make_user):
    email = make_user("landlord", "oph-demo-garonne")
    page = client.get("/connexion").get_data(as_text=True)
    response = client.post(
        "/connexion?next=//evil.example/x",
        data={"csrf_token": csrf_of(page), "email": email, "password": PASSWORD},
    )
    assert response.location == "/"


def test_each_role_lands_on_its_home(signed_in):
    homes = {
        ("landlord", "oph-demo-garonne"): "/bailleur/a-traiter",
        ("reserver", "action-logement"): "/reservataire/droits",
        ("prefecture", "etat-31"): "/prefecture/console",
        ("admin", None): "/admin/utilisateurs",
    }
    for (role, org), home in homes.items():
        assert signed_in(role, org).get("/").location == home


def test_unknown_email_and_wrong_password_get_the_same_answer(client, make_user):
    email = make_user("landlord", "oph-demo-garonne")
    unknown = sign_in(client, "nobody@test.flux.example", PASSWORD)
    wrong = sign_in(client, email, "not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    message = "Adresse électronique ou mot de passe incorrect."
    assert message in unknown.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_a_deactivated_user_cannot_sign_in(client, make_user, session):
    from flux.models import User

    email = make_user("landlord", "oph-demo-garonne")
    session.query(User).filter_by(email=email).one().active = False
    session.commit()
    assert sign_in(client, email).status_code == 401


def test_the_session_cookie_is_httponly_samesite_lax_and_expires(client, make_user):
    response = sign_in(client, make_user("landlord", "oph-demo-garonne"))
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("flux_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie
    assert "Secure" not in cookie  # development and tests are served over plain HTTP


def test_the_session_cookie_is_secure_in_production(monkeypatch, database_url):
    from flux import create_app

    monkeypatch.setenv("FLUX_SECRET_KEY", "a-production-secret-for-the-test")
    app = create_app({"ENV": "production", "DATABASE_URL": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_a_form_posted_without_its_csrf_token_is_refused(client, make_user):
    email = make_user("landlord", "oph-demo-garonne")
    response = client.post("/connexion", data={"email": email, "password": PASSWORD})
    assert response.status_code == 400
    assert "jeton de sécurité" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_a_signed_in_form_without_csrf_changes_nothing(signed_in):
    client = signed_in("landlord", "oph-demo-garonne")
    response = client.post("/deconnexion")
    assert response.status_code == 400
    assert client.get("/").status_code == 302
    assert client.get("/").location == "/bailleur/a-traiter"  # still signed in


def test_signing_out_revokes_the_session(signed_in):
    client = signed_in("landlord", "oph-demo-garonne")
    cookie = client.get_cookie("flux_session").value
    response = post_form(client, "/deconnexion", {}, page="/bailleur/a-traiter")
    assert response.location == "/connexion"
    # Replaying the old cookie after signing out does not sign anyone in again.
    client.set_cookie("flux_session", cookie)
    assert client.get("/bailleur/a-traiter").location.startswith("/connexion")


def test_changing_ones_own_password(signed_in, app):
    client = signed_in("landlord", "oph-demo-garonne")
    wrong = post_form(
        client,
        "/compte",
        {"current": "not-it", "new": "a-new-long-password", "confirm": "a-new-long-password"},
    )
    assert wrong.status_code == 200
    assert "Mot de passe actuel incorrect." in wrong.get_data(as_text=True)
    done = post_form(
        client,
        "/compte",
        {"current": PASSWORD, "new": "a-new-long-password", "confirm": "a-new-long-password"},
    )
    assert done.status_code == 302
    email = client.get("/compte").get_data(as_text=True).split("<dd>")[1].split("</dd>")[0]
    fresh = app.test_client()
    assert sign_in(fresh, email, PASSWORD).status_code == 401
    assert sign_in(fresh, email, "a-new-long-password").status_code == 302


def test_form_errors_are_listed_at_the_top_and_linked_to_their_fields(signed_in):
    client = signed_in("landlord", "oph-demo-garonne")
    page = post_form(client, "/compte", {"current": "", "new": "short", "confirm": "other"})
    html = page.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert '<a href="#new">' in html and '<a href="#confirm">' in html
    assert 'id="new" aria-describedby="new-aide new-erreur"' in html or (
        'aria-describedby="new-aide new-erreur"' in html
    )
    assert 'aria-invalid="true"' in html


def test_the_skeleton_is_accessible_by_construction(signed_in):
    html = signed_in("landlord", "oph-demo-garonne").get("/bailleur/a-traiter")
    text = html.get_data(as_text=True)
    assert '<html lang="fr">' in text
    assert '<a class="skip" href="#contenu">' in text
    for landmark in ("<header", "<nav", "<main", "<footer"):
        assert landmark in text
    assert "<caption" in text and 'scope="col"' in text
    assert "<script" not in text  # every page works without JavaScript


def test_the_stylesheet_is_served_by_flux_and_pages_allow_nothing_else(signed_in):
    client = signed_in("landlord", "oph-demo-garonne")
    page = client.get("/bailleur/a-traiter")
    csp = page.headers["Content-Security-Policy"]
    assert "style-src 'self'" in csp and "script-src" not in csp
    with client.get("/ressources/flux.css") as css:
        assert css.status_code == 200 and ":focus-visible" in css.get_data(as_text=True)


def test_the_api_still_refuses_cookies_and_takes_no_csrf(signed_in):
    client = signed_in("admin")
    assert client.get("/api/v1/me").status_code == 401  # a page session is no API token
