"""Bearer-token authentication, and every error as an RFC 9457 problem document."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from flux import create_app
from flux.db import db
from flux.models import ApiToken, Dwelling, User
from flux.models.types import utcnow
from flux.services import users

from .conftest import assert_problem, convention, dwelling


def _user_of(session, token: str) -> User:
    return session.scalar(
        sa.select(User).join(ApiToken).where(ApiToken.token_hash == users.hash_token(token))
    )


# --- authentication ---------------------------------------------------------------------


def test_request_without_token_is_refused_with_401_and_a_bearer_challenge(client):
    response = client.get("/api/v1/organisations")

    body = assert_problem(response, 401)
    assert body["title"] == "Authentification requise"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="flux"'


def test_unknown_token_is_refused_with_401(client, territory):
    response = client.get(
        "/api/v1/organisations", headers={"Authorization": "Bearer flux_not-a-real-token"}
    )

    assert_problem(response, 401)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "flux_abc"])
def test_malformed_authorization_header_is_refused_with_401(client, token_for, header):
    token_for("admin")  # a valid user exists; the header still names none

    response = client.get("/api/v1/organisations", headers={"Authorization": header})

    assert_problem(response, 401)


def test_valid_token_authenticates_and_scheme_is_case_insensitive(client, token_for):
    token = token_for("admin")

    response = client.get("/api/v1/organisations", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200
    assert response.json == []


def test_revoked_token_is_refused_with_401(client, session, token_for):
    token = token_for("admin")
    row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == users.hash_token(token)))
    row.revoked_at = utcnow()
    session.commit()

    response = client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {token}"})

    assert_problem(response, 401)


def test_expired_token_is_refused_with_401(client, session, token_for):
    token = token_for("admin")
    row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == users.hash_token(token)))
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()

    response = client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {token}"})

    assert_problem(response, 401)


def test_token_of_a_deactivated_user_is_refused_with_401(client, session, token_for):
    token = token_for("admin")
    _user_of(session, token).active = False
    session.commit()

    response = client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {token}"})

    assert_problem(response, 401)


def test_health_and_docs_need_no_token_but_unknown_api_urls_answer_404(client):
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200

    body = assert_problem(client.get("/api/v1/no-such-thing"), 404)

    assert body["detail"]


# --- problem documents ------------------------------------------------------------------


def test_wrong_method_answers_405_problem(client, auth, territory):
    response = client.delete("/api/v1/organisations", headers=auth("admin"))

    body = assert_problem(response, 405)
    assert body["title"] == "Méthode non autorisée"


def test_unknown_json_field_is_refused_with_422_naming_it(client, auth, territory):
    headers = auth("landlord", "oph-demo-garonne")

    response = client.post("/api/v1/dwellings", json=dwelling(colour="rouge"), headers=headers)

    body = assert_problem(response, 422)
    assert body["type"] == "urn:flux:probleme:donnees-invalides"
    assert body["errors"] == {"json": {"colour": ["Champ inconnu."]}}


def test_each_missing_required_field_is_named_in_french(client, auth, territory):
    headers = auth("landlord", "oph-demo-garonne")

    response = client.post("/api/v1/dwellings", json={"rpls_id": "R1"}, headers=headers)

    body = assert_problem(response, 422)
    assert body["errors"]["json"] == {
        "commune": ["Champ requis."],
        "typology": ["Champ requis."],
        "financing": ["Champ requis."],
        "construction_year": ["Champ requis."],
    }


def test_wrong_enum_value_is_refused_listing_the_accepted_values(client, auth, territory):
    headers = auth("landlord", "oph-demo-garonne")

    response = client.post("/api/v1/dwellings", json=dwelling(typology="T9"), headers=headers)

    body = assert_problem(response, 422)
    [message] = body["errors"]["json"]["typology"]
    assert "T1" in message and "T6+" in message


def test_malformed_json_body_answers_400_problem(client, auth, territory):
    response = client.post(
        "/api/v1/dwellings",
        data="{not json",
        headers={**auth("landlord", "oph-demo-garonne"), "Content-Type": "application/json"},
    )

    body = assert_problem(response, 400)
    assert body["errors"] == {"json": ["Corps JSON invalide."]}


def test_invalid_query_parameter_is_refused_with_422_naming_it(client, auth, territory):
    response = client.get("/api/v1/organisations?page=0", headers=auth("admin"))

    body = assert_problem(response, 422)
    assert body["errors"] == {"query": {"page": ["Doit être supérieur ou égal à 1."]}}


def test_percent_given_as_a_number_is_refused_with_422_naming_the_share_field(
    client, auth, territory
):
    payload = convention(shares=[{"code": "g", "label": "G", "percent": 12.5}])

    response = client.post("/api/v1/conventions", json=payload, headers=auth("admin"))

    body = assert_problem(response, 422)
    assert body["errors"]["json"]["shares"]["0"]["percent"] == [
        'Pourcentage attendu sous forme de chaîne, par ex. "25.00".'
    ]


def test_unexpected_error_answers_500_problem_and_is_logged(
    database_url, token_for, monkeypatch, caplog
):
    app = create_app({"ENV": "test", "DATABASE_URL": database_url})  # not TESTING: no propagation
    token = token_for("admin")

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom: internal detail")

    monkeypatch.setattr("flux.services.organisations.get", explode)
    try:
        with caplog.at_level(logging.ERROR):
            response = app.test_client().get(
                "/api/v1/organisations/1", headers={"Authorization": f"Bearer {token}"}
            )
    finally:
        with app.app_context():
            db.engine.dispose()

    body = assert_problem(response, 500)
    assert "boom" not in response.get_data(as_text=True)
    assert body["detail"] == "Une erreur inattendue est survenue ; elle a été journalisée."
    assert any("boom: internal detail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


# --- read-only users and the upload size limit -----------------------------------------


@pytest.fixture
def read_only(auth, territory) -> dict:
    return auth("landlord", "oph-demo-garonne", read_only=True)


def test_read_only_landlord_user_reads_its_stock(client, read_only):
    response = client.get("/api/v1/dwellings", headers=read_only)

    assert response.status_code == 200


def test_read_only_landlord_user_gets_403_creating_a_dwelling(client, read_only, committed):
    response = client.post("/api/v1/dwellings", json=dwelling(), headers=read_only)

    body = assert_problem(response, 403)
    assert body["detail"] == "Votre compte est en lecture seule."
    assert committed(Dwelling) == 0


def test_read_only_landlord_user_gets_403_changing_or_deleting_a_dwelling(client, auth, read_only):
    writer = auth("landlord", "oph-demo-garonne")
    created = client.post("/api/v1/dwellings", json=dwelling(), headers=writer).json

    patched = client.patch(
        f"/api/v1/dwellings/{created['id']}", json={"typology": "T2"}, headers=read_only
    )
    deleted = client.delete(f"/api/v1/dwellings/{created['id']}", headers=read_only)

    assert_problem(patched, 403)
    assert_problem(deleted, 403)
    assert client.get(f"/api/v1/dwellings/{created['id']}", headers=writer).json["typology"] == "T3"


def test_read_only_landlord_user_gets_403_importing_a_csv(client, read_only, committed):
    csv = b"rpls_id;commune;typology;financing;construction_year\nR1;31555;T3;PLUS;1990\n"

    response = client.post(
        "/api/v1/dwellings/import",
        data={"file": (io.BytesIO(csv), "stock.csv")},
        headers=read_only,
        content_type="multipart/form-data",
    )

    assert_problem(response, 403)
    assert committed(Dwelling) == 0


def test_read_only_landlord_user_gets_403_creating_a_convention(client, read_only):
    response = client.post("/api/v1/conventions", json=convention(), headers=read_only)

    assert_problem(response, 403)


@pytest.fixture
def small_app(database_url):
    # An import's own limit (its file is spooled to disk) is set apart from the JSON bodies'.
    app = create_app(
        {
            "ENV": "test",
            "DATABASE_URL": database_url,
            "TESTING": True,
            "MAX_CONTENT_LENGTH": 1000,
            "IMPORT_MAX_BYTES": 1000,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def test_upload_over_max_content_length_is_refused_with_413(
    small_app, territory, token_for, committed
):
    token = token_for("landlord", "oph-demo-garonne")
    line = "R{:07d};31555;;T3;PLUS;1990;\n"
    csv = "rpls_id;commune;qpv;typology;financing;construction_year;out_of_flux\n" + "".join(
        line.format(n) for n in range(100)
    )

    response = small_app.test_client().post(
        "/api/v1/dwellings/import",
        data={"file": (io.BytesIO(csv.encode()), "stock.csv")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )

    body = assert_problem(response, 413)
    assert body["title"] == "Requête trop volumineuse"
    assert committed(Dwelling) == 0


def test_json_body_over_max_content_length_is_refused_with_413(small_app, territory, token_for):
    token = token_for("landlord", "oph-demo-garonne")

    response = small_app.test_client().post(
        "/api/v1/dwellings",
        json=dwelling(rpls_id="R1", extra="x" * 2000),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert_problem(response, 413)
