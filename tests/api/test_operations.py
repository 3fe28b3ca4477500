"""Production hardening of the HTTP layer (issue 15): JSON limits before parsing, 405 with
Allow, 503 with Retry-After when the database does not answer."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from flux import create_app

from .conftest import assert_problem, dwelling

_create_app = create_app
LOGIN = "/api/v1/auth/login"


@pytest.fixture(autouse=True)
def _apps_closed(monkeypatch):
    """Apps made here close their connections after the test (PostgreSQL warns otherwise)."""
    from flux.db import db

    made = []

    def recording(config=None):
        made.append(_create_app(config))
        return made[-1]

    monkeypatch.setitem(globals(), "create_app", recording)
    yield
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _nested(depth: int) -> bytes:
    return b'{"email": ' + b"[" * depth + b"]" * depth + b', "password": "x"}'


def _flux_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("flux")]


@pytest.mark.parametrize("path", [LOGIN, "/api/v1/conventions"])
def test_deeply_nested_json_is_a_400_with_one_log_line_and_no_traceback(client, caplog, path):
    caplog.set_level(logging.INFO)

    response = client.post(path, data=_nested(100_000), content_type="application/json")

    body = assert_problem(response, 400)
    assert "niveaux" in body["detail"]
    records = _flux_records(caplog)
    assert len(records) == 1, [record.getMessage() for record in records]
    assert records[0].exc_info is None
    assert "refused" in records[0].getMessage()


def test_json_nested_within_the_limit_is_parsed_as_usual(client):
    response = client.post(LOGIN, data=_nested(30), content_type="application/json")

    assert_problem(response, 422)  # parsed, then refused by the schema (email is a list)


def test_json_body_over_the_size_limit_is_a_413_before_parsing(database_url, caplog):
    app = create_app(
        {"ENV": "test", "DATABASE_URL": database_url, "TESTING": True, "JSON_MAX_BYTES": 1000}
    )
    body = b'{"email": "' + b"a" * 2000 + b'@x.example", "password": "mot-de-passe"}'

    response = app.test_client().post(LOGIN, data=body, content_type="application/json")

    assert_problem(response, 413)
    assert len(_flux_records(caplog)) == 1


def test_a_method_not_allowed_names_the_allowed_ones(client):
    response = client.delete("/api/v1/health")

    assert_problem(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    assert "DELETE" not in response.headers["Allow"]


@pytest.fixture
def unreachable_app():
    # Nothing listens on this port (ops' own range): every connection is refused.
    url = "postgresql+psycopg://flux@127.0.0.1:5159/flux_absent?connect_timeout=2"
    return create_app({"ENV": "test", "DATABASE_URL": url, "TESTING": True})


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/organisations", None),
        ("post", LOGIN, {"email": "a@b.example", "password": "mot-de-passe-assez-long"}),
    ],
)
def test_an_unreachable_database_is_a_503_with_retry_after(
    unreachable_app, caplog, method, path, body
):
    client = unreachable_app.test_client()
    headers = {"Authorization": "Bearer flux_whatever"}

    response = getattr(client, method)(path, json=body, headers=headers)

    assert_problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    records = _flux_records(caplog)
    assert len(records) == 1 and records[0].exc_info is None


# --- login throttling (per account, per address) -----------------------------------------

PASSWORD = "mot-de-passe-de-test-assez-long"


@pytest.fixture
def account(session):
    from flux.domain.reference import Role
    from flux.services import users

    users.create_user(
        session, email="agent@throttle.example", role=Role("admin"), password=PASSWORD
    )
    session.commit()
    return "agent@throttle.example"


def _login(client, email: str, password: str, address: str = "192.0.2.1"):
    return client.post(
        LOGIN,
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_logins_on_one_account_are_throttled_from_any_address(client, account):
    for attempt in range(5):
        assert (
            _login(client, account, "mauvais-mot-de-passe", f"192.0.2.{attempt}").status_code == 401
        )

    refused = _login(client, account, PASSWORD, "198.51.100.7")  # even the right password

    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    assert _login(client, "autre@throttle.example", "x" * 12, "198.51.100.7").status_code == 401


def test_successful_logins_do_not_lock_the_account_out(client, account):
    for attempt in range(8):
        assert _login(client, account, PASSWORD, f"192.0.2.{attempt}").status_code == 201


def test_one_address_is_throttled_across_accounts(database_url, account):
    app = create_app(
        {
            "ENV": "test",
            "DATABASE_URL": database_url,
            "TESTING": True,
            "LOGIN_LIMIT_PER_ADDRESS": "4 per minute",
        }
    )
    client = app.test_client()
    for attempt in range(4):
        response = _login(client, f"inconnu{attempt}@throttle.example", "x" * 12)
        assert response.status_code == 401

    assert_problem(_login(client, account, PASSWORD), 429)
    assert _login(client, account, PASSWORD, "192.0.2.99").status_code == 201


def test_unknown_and_known_accounts_cost_the_same_password_check(client, account, monkeypatch):
    """The same answer time: an unknown email is checked against a dummy scrypt hash, as
    expensive as a real one (same method and parameters)."""
    from flux.services import users

    checked = []
    real = users.check_password_hash

    def spy(stored: str, password: str) -> bool:
        checked.append(stored.split("$", 1)[0])
        return real(stored, password)

    monkeypatch.setattr(users, "check_password_hash", spy)

    _login(client, account, "mauvais-mot-de-passe")
    _login(client, "personne@throttle.example", "mauvais-mot-de-passe")

    assert len(checked) == 2
    assert checked[0] == checked[1]  # e.g. "scrypt:32768:8:1"


# --- an RPLS id belongs to one landlord at a time ------------------------------------------

A, B = "oph-demo-garonne", "esh-demo-pastel"
OPH_CODE = A


def test_the_api_refuses_an_rpls_id_held_by_another_landlord(client, auth, territory):
    admin = auth("admin")
    created = client.post("/api/v1/dwellings", json=dwelling(landlord=A), headers=admin)
    assert created.status_code == 201

    body = assert_problem(
        client.post("/api/v1/dwellings", json=dwelling(landlord=B), headers=admin), 409
    )

    assert A in body["detail"]


def test_the_database_itself_holds_one_active_landlord_per_rpls_id(session, territory, org_ids):
    """Issue 15 item 10: past the services' check (two requests racing), the partial unique
    index refuses a second active row; a sold row does not count."""
    from flux.domain.reference import Financing, Typology
    from flux.models import Dwelling

    def row(landlord: str, **extra) -> Dwelling:
        return Dwelling(
            landlord_id=org_ids[landlord],
            rpls_id="RACE-1",
            commune_insee="31555",
            typology=Typology.T3,
            financing=Financing.PLUS,
            construction_year=1990,
            **extra,
        )

    session.add(row(A))
    session.flush()
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.add(row(B))
        session.flush()
    session.add(row(B, sold_on=sa.func.current_date()))  # an old, sold row: allowed
    session.flush()


def test_a_race_past_the_rpls_check_is_a_409_naming_the_field(client, auth, territory, monkeypatch):
    """Two landlords' requests both pass the service's check before either commits: the
    second write meets the index, and answers 409, not 500."""
    from flux.services import dwellings as dwelling_service

    admin = auth("admin")
    assert (
        client.post("/api/v1/dwellings", json=dwelling(landlord=A), headers=admin).status_code
        == 201
    )
    monkeypatch.setattr(dwelling_service, "_held_elsewhere", lambda *args, **kwargs: {})

    body = assert_problem(
        client.post("/api/v1/dwellings", json=dwelling(landlord=B), headers=admin), 409
    )

    assert list(body["errors"]["json"]) == ["rpls_id"]
    assert "autre bailleur" in body["detail"]


def test_a_transfer_through_the_api_answers_the_buyers_dwelling(client, auth, territory, org_ids):
    landlord_a = auth("landlord", A)
    created = client.post("/api/v1/dwellings", json=dwelling(), headers=landlord_a).get_json()

    response = client.post(
        f"/api/v1/dwellings/{created['id']}/transfer",
        json={"landlord": B, "on": "2025-06-30"},
        headers=landlord_a,
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["landlord_id"] == org_ids[B]
    seller = client.get(f"/api/v1/dwellings/{created['id']}", headers=landlord_a).get_json()
    assert seller["sold_on"] == "2025-06-30" and seller["in_flux"] is False
    to_self = client.post(
        f"/api/v1/dwellings/{created['id']}/transfer",
        json={"landlord": A, "on": "2025-06-30"},
        headers=auth("admin"),
    )
    assert to_self.status_code == 409  # already sold


def test_after_its_sale_the_seller_no_longer_logs_the_dwellings_vacancies(
    client, auth, territory, org_ids
):
    """One RPLS id, one landlord at a time (issue 15, item 10): a vacancy freed on or after the
    sale is the buyer's to log; one freed before it stays the seller's."""
    landlord_a = auth("landlord", A)
    created = client.post("/api/v1/dwellings", json=dwelling(), headers=landlord_a).get_json()
    sold = client.post(
        f"/api/v1/dwellings/{created['id']}/transfer",
        json={"landlord": B, "on": "2025-06-30"},
        headers=landlord_a,
    )
    assert sold.status_code == 201, sold.get_json()

    after = client.post(
        "/api/v1/vacancies",
        json={"dwelling": created["id"], "available_on": "2025-07-01"},
        headers=landlord_a,
    )
    body = assert_problem(after, 409)
    assert body["rule"] == "dwelling_sold" and "30/06/2025" in body["detail"]
    before = client.post(
        "/api/v1/vacancies",
        json={"dwelling": created["id"], "available_on": "2025-06-01"},
        headers=landlord_a,
    )
    assert before.status_code == 201, before.get_json()


# --- /metrics and JSON logs -----------------------------------------------------------------


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus exposition (0 if absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[-1])
    return 0.0


def test_metrics_are_for_admins_or_the_scrape_token(database_url, token_for):
    app = create_app(
        {"ENV": "test", "DATABASE_URL": database_url, "TESTING": True, "METRICS_TOKEN": "s3cret"}
    )
    client = app.test_client()

    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 401)
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    admin = {"Authorization": f"Bearer {token_for('admin')}"}
    assert client.get("/metrics", headers=admin).status_code == 200


def test_metrics_refuse_a_non_admin_token(client, token_for, territory):
    landlord = {"Authorization": f"Bearer {token_for('landlord', OPH_CODE)}"}

    assert_problem(client.get("/metrics", headers=landlord), 403)


def test_metrics_count_requests_and_read_the_journal(client, auth, territory):
    from .vacancy_kit import TOULOUSE, action_logement, create_dwelling, logged

    admin = auth("admin")
    before = client.get("/metrics", headers=admin).get_data(as_text=True)
    oph = auth("landlord", OPH_CODE)
    reserver = action_logement(client, oph, "50.00")
    logged(client, oph, create_dwelling(client, oph, "M0000001", TOULOUSE), "2025-10-01")
    client.get("/api/v1/health")

    response = client.get("/metrics", headers=admin)

    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    health = {"method": "GET", "route": "/api/v1/health", "status": "200"}
    assert _metric(text, "flux_http_requests_total", **health) == (
        _metric(before, "flux_http_requests_total", **health) + 1
    )
    assert "flux_http_request_duration_seconds_bucket" in text
    assert _metric(text, "flux_journal_entries", kind="vacancy_logged") == 1
    assert _metric(text, "flux_decisions") == 1
    assert reserver


def test_json_logs_carry_the_request_id_given_or_made(database_url):
    import io
    import json

    from flux.ops.logs import JsonFormatter

    app = create_app(
        {
            "ENV": "test",
            "DATABASE_URL": database_url,
            "TESTING": True,
            "LOG_FORMAT": "json",
            "LOG_REQUESTS": True,
        }
    )
    logger = logging.getLogger("flux")
    handler = next(h for h in logger.handlers if isinstance(h.formatter, JsonFormatter))
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        given = app.test_client().get("/api/v1/health", headers={"X-Request-Id": "req-42"})
        made = app.test_client().get("/api/v1/health")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]

    assert given.headers["X-Request-Id"] == "req-42"
    assert len(made.headers["X-Request-Id"]) == 32
    assert [(line["request_id"], line["status"], line["logger"]) for line in lines] == [
        ("req-42", 200, "flux.access"),
        (made.headers["X-Request-Id"], 200, "flux.access"),
    ]


# --- the OpenAPI document declares what is enforced -----------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/v1/dwellings/{}", "patch"), ("/api/v1/users/{}/tokens", "post")],
)
def test_a_missing_required_body_is_a_400_where_every_field_is_optional(
    client, auth, session, territory, path, method
):
    from flux.models import Dwelling, User

    headers = auth("landlord", OPH_CODE)
    created = client.post("/api/v1/dwellings", json=dwelling(), headers=headers).get_json()
    target = created["id"] if "dwellings" in path else session.scalars(sa.select(User.id)).one()
    before = session.get(Dwelling, created["id"]).typology

    response = getattr(client, method)(path.format(target), headers=headers)

    body = assert_problem(response, 400)
    assert body["errors"] == {"json": {"_schema": ["Corps de requête JSON requis."]}}
    assert session.get(Dwelling, created["id"]).typology == before


def test_integer_query_parameters_declare_and_enforce_their_maximum(client, auth):
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = document["paths"]["/api/v1/journal"]["get"]["parameters"]
    declared = {p["name"]: p["schema"] for p in parameters if p["in"] == "query"}
    admin = auth("admin")

    assert declared["vacancy"]["maximum"] == 2**31 - 1
    assert declared["page"]["maximum"] == 2**31 - 1
    body = assert_problem(client.get("/api/v1/journal?vacancy=2147483648", headers=admin), 422)
    assert body["errors"] == {"query": {"vacancy": ["Doit être au plus 2147483647."]}}
    assert client.get("/api/v1/journal?vacancy=2147483647", headers=admin).status_code == 200
    assert_problem(client.get("/api/v1/journal?page=99999999999", headers=admin), 422)


def _request_integers(document: dict) -> list[tuple[str, dict]]:
    """Every integer a request carries (query parameters, body properties, the integer branch
    of an id-or-code), with where it is; read-only properties are answers, not requests."""
    components = document["components"]["schemas"]
    found: list[tuple[str, dict]] = []

    def walk(schema: dict, where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], f"{where}→{name}", seen | {name})
            return
        if schema.get("readOnly"):
            return
        kind = schema.get("type")
        if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
            found.append((where, schema))
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}", seen)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]", seen)
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub, where, seen)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    walk(parameter["schema"], f"{method} {path} ?{parameter['name']}", frozenset())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema", {}), f"{method} {path} body", frozenset())
    return found


def test_every_integer_of_a_request_declares_its_maximum_and_ids_their_minimum(client):
    """Issue 15 item 7: the document declares the bounds the service enforces."""
    integers = _request_integers(client.get("/api/v1/openapi.json").get_json())
    assert len(integers) > 40
    assert [where for where, schema in integers if "maximum" not in schema] == []
    # In a body, every integer has a lower bound too (ids from 1, counts and years bounded).
    assert [
        where for where, schema in integers if " body" in where and "minimum" not in schema
    ] == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/vacancies", {"dwelling": 2**31, "available_on": "2025-04-01"}, "dwelling"),
        ("/api/v1/vacancies", {"dwelling": 0, "available_on": "2025-04-01"}, "dwelling"),
        (
            "/api/v1/vacancies",
            {"dwelling": 1, "available_on": "2025-04-01", "landlord": 2**31},
            "landlord",
        ),
        (
            "/api/v1/vacancies",
            {"dwelling": 1, "available_on": "2025-04-01", "orient_to": 2**40},
            "orient_to",
        ),
        (
            "/api/v1/vacancies/1/events",
            {"type": "correction", "date": "2025-04-02", "corrects": 2**63, "reason": "x"},
            "corrects",
        ),
        (
            "/api/v1/vacancies/1/events",
            {"type": "designation", "date": "2025-04-02", "share": 2**31},
            "share",
        ),
    ],
    ids=["dwelling-above", "dwelling-zero", "landlord", "orient_to", "corrects", "share"],
)
def test_an_id_beyond_its_declared_bounds_is_a_422_naming_the_field(
    client, auth, territory, path, body, field
):
    from flux.models import JournalEntry

    with client.application.app_context():
        from flux.db import db

        before = db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))
    response = client.post(path, json=body, headers=auth("admin"))

    problem = assert_problem(response, 422)
    assert list(problem["errors"]["json"]) == [field], problem
    with client.application.app_context():
        from flux.db import db

        assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == before


def test_an_id_or_code_in_a_query_string_is_bounded_like_an_id(client, auth):
    admin = auth("admin")
    body = assert_problem(client.get("/api/v1/balances?landlord=2147483648", headers=admin), 422)
    assert list(body["errors"]["query"]) == ["landlord"]
    assert_problem(client.get("/api/v1/vacancies?share=0", headers=admin), 422)
    assert client.get("/api/v1/balances?landlord=2147483647", headers=admin).status_code == 200


def test_an_integrity_error_other_than_a_unique_one_is_a_logged_500_not_a_409(database_url, caplog):
    """Only a uniqueness conflict is a race to retry (409); a NOT NULL, foreign key or CHECK
    violation is a bug, answered 500 and logged with its traceback."""
    from flux.db import db
    from flux.models import Organisation

    app = create_app({"ENV": "test", "DATABASE_URL": database_url, "TESTING": False})

    def broken():
        db.session.add(Organisation(code="sans-nom", name=None, kind="landlord"))
        db.session.flush()
        return "jamais"

    app.add_url_rule("/essai-integrite", "broken", broken, methods=["POST"])
    with caplog.at_level(logging.ERROR):
        response = app.test_client().post("/essai-integrite")

    assert response.status_code == 500
    assert any(r.getMessage() == "Unhandled integrity error" for r in caplog.records)
