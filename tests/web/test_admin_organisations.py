"""The administrator's organisations: listed, created with the API's checks and words, each
with its users; the pages are the administrators' only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flux.models import Organisation

from .conftest import PASSWORD, csrf_of, post_form, sign_in

PATH = "/admin/organisations"


def test_an_admin_creates_a_reserver_whose_departement_comes_from_its_territory(
    signed_in, territory, session
):
    client = signed_in("admin")
    response = post_form(
        client,
        PATH,
        {
            "name": "Commune de Muret",
            "code": "ville-muret-essai",
            "kind": "reserver",
            "category": "commune",
            "territory": "31395",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    org = session.scalar(sa.select(Organisation).where(Organisation.code == "ville-muret-essai"))
    assert (org.name, org.category, org.territory_code, org.departement_code) == (
        "Commune de Muret",
        "commune",
        "31395",
        "31",
    )
    listing = client.get(PATH).get_data(as_text=True)
    assert "Organisation « Commune de Muret » (ville-muret-essai) créée." in listing
    assert f'href="/admin/organisations/{org.id}"' in listing


def test_a_landlord_needs_no_category_nor_territory(signed_in, territory, session):
    client = signed_in("admin")
    response = post_form(
        client, PATH, {"name": "OPH du Tarn", "code": "oph-tarn", "kind": "landlord"}
    )
    assert response.status_code == 302
    org = session.scalar(sa.select(Organisation).where(Organisation.code == "oph-tarn"))
    assert (org.kind, org.category, org.departement_code) == ("landlord", None, None)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        # the API's schema: the code's pattern
        (
            {"code": "OPH Tarn", "kind": "landlord"},
            "code",
            "Code : minuscules, chiffres et tirets.",
        ),
        # the service: a code taken (409 in the API)
        (
            {"code": "oph-demo-garonne", "kind": "landlord"},
            "code",
            "Le code d&#39;organisation « oph-demo-garonne » est déjà pris.",
        ),
        # the service: a reserver has a category, a landlord has none
        (
            {"code": "x-org", "kind": "reserver"},
            "category",
            "Un réservataire a une catégorie ; un bailleur n&#39;en a pas.",
        ),
        (
            {"code": "x-org", "kind": "landlord", "category": "commune"},
            "category",
            "Un réservataire a une catégorie ; un bailleur n&#39;en a pas.",
        ),
        # the service: a territorial reserver names a known territory
        (
            {"code": "x-org", "kind": "reserver", "category": "commune"},
            "territory",
            "Un réservataire « commune » doit indiquer son territoire.",
        ),
        (
            {"code": "x-org", "kind": "reserver", "category": "commune", "territory": "99999"},
            "territory",
            "Territoire « 99999 » inconnu pour un réservataire « commune ».",
        ),
    ],
)
def test_a_refused_organisation_says_why_on_its_field(
    signed_in, territory, session, data, field, words
):
    client = signed_in("admin")
    before = session.scalar(sa.select(sa.func.count(Organisation.id)))
    response = post_form(client, PATH, {"name": "Essai", **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-erreur"' in html
    assert words in html
    assert 'class="error-summary"' in html
    assert session.scalar(sa.select(sa.func.count(Organisation.id))) == before


def test_a_form_without_its_csrf_token_creates_nothing(signed_in, territory, session):
    client = signed_in("admin")
    response = client.post(
        PATH, data={"name": "Sans jeton", "code": "sans-jeton", "kind": "landlord"}
    )
    assert response.status_code == 400
    assert (
        session.scalar(sa.select(Organisation.id).where(Organisation.code == "sans-jeton")) is None
    )


@pytest.mark.parametrize(
    ("role", "org"),
    [("landlord", "oph-demo-garonne"), ("reserver", "action-logement"), ("prefecture", "etat-31")],
)
def test_organisations_are_the_admins_only(signed_in, territory, session, role, org):
    client = signed_in(role, org)
    org_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == org))
    assert client.get(PATH).status_code == 404
    assert client.get(f"{PATH}/{org_id}").status_code == 404
    # Even with a valid token of its own, a POST creates nothing.
    token = csrf_of(client.get("/compte").get_data(as_text=True))
    posted = client.post(
        PATH, data={"csrf_token": token, "name": "Pirate", "code": "pirate", "kind": "landlord"}
    )
    assert posted.status_code == 404
    assert session.scalar(sa.select(Organisation.id).where(Organisation.code == "pirate")) is None


def test_an_organisations_page_lists_its_users_and_links_to_creating_one(
    signed_in, territory, session, make_user, app
):
    email = make_user("reserver", "action-logement")
    client = signed_in("admin")
    org_id = session.scalar(
        sa.select(Organisation.id).where(Organisation.code == "action-logement")
    )
    page = client.get(f"{PATH}/{org_id}").get_data(as_text=True)
    assert email in page
    assert 'href="/admin/utilisateurs?organisation=action-logement"' in page
    form = client.get("/admin/utilisateurs?organisation=action-logement").get_data(as_text=True)
    assert '<option selected value="action-logement">' in form
    assert client.get(f"{PATH}/999999").status_code == 404
    # The user created from there belongs to the organisation and can sign in.
    response = post_form(
        client,
        "/admin/utilisateurs",
        {
            "email": "agent.al@test.flux.example",
            "role": "reserver",
            "organisation": "action-logement",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert "agent.al@test.flux.example" in client.get(f"{PATH}/{org_id}").get_data(as_text=True)
    assert sign_in(app.test_client(), "agent.al@test.flux.example").status_code == 302


def test_an_admin_renames_an_organisation_and_nothing_else_changes(signed_in, territory, session):
    client = signed_in("admin")
    org = session.scalar(sa.select(Organisation).where(Organisation.code == "action-logement"))
    before = (org.code, org.kind, org.category, org.territory_code)

    empty = post_form(client, f"{PATH}/{org.id}", {"name": ""})
    assert empty.status_code == 422
    assert 'id="name-erreur"' in empty.get_data(as_text=True)

    response = post_form(client, f"{PATH}/{org.id}", {"name": "Action Logement Services"})

    assert response.status_code == 302
    session.expire_all()
    org = session.get(Organisation, org.id)
    assert org.name == "Action Logement Services"
    assert (org.code, org.kind, org.category, org.territory_code) == before
    page = client.get(f"{PATH}/{org.id}").get_data(as_text=True)
    assert "Organisation renommée « Action Logement Services »." in page


@pytest.mark.parametrize(
    ("role", "org"),
    [("landlord", "oph-demo-garonne"), ("reserver", "action-logement"), ("prefecture", "etat-31")],
)
def test_only_an_admin_renames_an_organisation(signed_in, territory, session, role, org):
    client = signed_in(role, org)
    org_id = session.scalar(sa.select(Organisation.id).where(Organisation.code == org))
    token = csrf_of(client.get("/compte").get_data(as_text=True))

    posted = client.post(f"{PATH}/{org_id}", data={"csrf_token": token, "name": "Pirate"})

    assert posted.status_code == 404
    session.expire_all()
    assert session.get(Organisation, org_id).name != "Pirate"
