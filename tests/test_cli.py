"""The `flux` command: database, demo, users, conventions and imports, run as an operator would.

Each command builds its own app from FLUX_DATABASE_URL (no test app context is pushed), and
results are checked through another connection or through the HTTP API.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from flux.cli import main
from flux.db import create_engine
from flux.demo import DEMO_DIR
from flux.models import Convention, ConventionVersion, Dwelling, Organisation, User

from .conftest import ON_POSTGRES, PG_URL, create_database

TOKEN = re.compile(r"flux_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def flux(database_url, monkeypatch):
    """flux(*args) -> the click Result of `flux args…` on the test database."""
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)

    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture
def rows(database_url):
    """rows(model) -> how many rows another connection sees committed."""
    engine = create_engine(database_url)

    def count(model) -> int:
        with engine.connect() as connection:
            return connection.scalar(sa.select(sa.func.count()).select_from(model))

    yield count
    engine.dispose()


@pytest.fixture
def reference_data(flux) -> None:
    """The demo territory and organisations, loaded with the CLI."""
    assert flux("territories", "load", str(DEMO_DIR / "territory.toml")).exit_code == 0
    assert flux("organisations", "load", str(DEMO_DIR / "organisations.toml")).exit_code == 0


def _get(client, path: str, token: str):
    return client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})


# --- flux db upgrade ----------------------------------------------------------------------


@pytest.fixture
def empty_database_url(tmp_path) -> str:
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / 'empty.sqlite'}"
    return create_database(sa.engine.make_url(PG_URL).database + "_cli")


def test_db_upgrade_creates_the_schema_on_an_empty_database(empty_database_url, monkeypatch):
    monkeypatch.setenv("FLUX_ENV", "test")
    monkeypatch.setenv("FLUX_DATABASE_URL", empty_database_url)

    result = CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    again = CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert result.stderr == "Base à jour (head).\n"
    assert again.exit_code == 0
    engine = create_engine(empty_database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"dwellings", "conventions", "journal_entries", "users", "alembic_version"} <= tables


# --- flux demo ----------------------------------------------------------------------------


def _demo_tokens(stdout: str) -> dict[tuple[str, str], str]:
    """(role, organisation) -> token, from the lines `flux demo` prints."""
    found = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"\s+(\w+)\s+(\S+)\s+(flux_\S+)", line)
        if match:
            role, organisation, token = match.groups()
            found[role, organisation] = token
    return found


EXPECTED_DEMO_USERS = {
    ("admin", "-"),
    ("landlord", "oph-demo-garonne"),
    ("landlord", "esh-demo-pastel"),
    ("landlord", "coop-demo-lauragais"),
    ("prefecture", "etat-31"),
    ("reserver", "etat-31"),
    ("reserver", "action-logement"),
    ("reserver", "commune-toulouse"),
    ("reserver", "commune-colomiers"),
    ("reserver", "commune-muret"),
    ("reserver", "epci-toulouse-metropole"),
    ("reserver", "departement-31"),
}


def test_demo_loads_and_prints_one_working_token_per_demo_user(flux, client, rows):
    result = flux("demo", "--until", "2025-02-28")

    assert result.exit_code == 0, result.output
    tokens = _demo_tokens(result.stdout)
    assert set(tokens) == EXPECTED_DEMO_USERS
    assert len(TOKEN.findall(result.stdout)) == len(EXPECTED_DEMO_USERS)
    assert rows(Dwelling) == 6000
    assert rows(Convention) == 16
    oph = _get(client, "/dwellings?page_size=1", tokens["landlord", "oph-demo-garonne"])
    assert json.loads(oph.headers["X-Pagination"])["total"] == 3000
    toulouse = _get(client, "/conventions", tokens["reserver", "commune-toulouse"])
    assert {c["reference"] for c in toulouse.json} == {"31-OPHG-TLSE", "31-PAST-TLSE"}
    prefecture = _get(client, "/conventions?page_size=100", tokens["prefecture", "etat-31"])
    assert len(prefecture.json) == 16
    vacancies = _get(client, "/vacancies?page_size=500", tokens["prefecture", "etat-31"])
    assert len(vacancies.json) > 50  # two months of activity, through the services
    assert {v["available_on"] for v in vacancies.json} <= {
        f"2025-{month:02d}-{day:02d}" for month in (1, 2) for day in range(1, 32)
    }


def test_demo_without_activity_logs_no_vacancy(flux, client):
    tokens = _demo_tokens(flux("demo", "--no-activity").stdout)

    vacancies = _get(client, "/vacancies", tokens["admin", "-"])
    assert vacancies.json == []


def test_demo_run_twice_fails_unless_if_empty_which_prints_fresh_working_tokens(flux, client, rows):
    first = _demo_tokens(flux("demo", "--no-activity").stdout)

    again = flux("demo")
    fresh = flux("demo", "--if-empty")

    assert again.exit_code == 1
    assert "--if-empty" in again.stderr
    assert again.stdout == ""
    assert fresh.exit_code == 0, fresh.output
    assert "nouveaux jetons" in fresh.stderr
    tokens = _demo_tokens(fresh.stdout)
    assert set(tokens) == EXPECTED_DEMO_USERS
    assert not set(tokens.values()) & set(first.values())
    admin = _get(client, "/organisations", tokens["admin", "-"])
    assert admin.status_code == 200
    assert rows(Dwelling) == 6000  # nothing loaded twice
    assert rows(User) == len(EXPECTED_DEMO_USERS)


# --- flux users create --------------------------------------------------------------------


def test_users_create_prints_only_a_token_that_authenticates(flux, client, reference_data):
    result = flux(
        "users",
        "create",
        "--email",
        "gestion@oph.example",
        "--role",
        "landlord",
        "--org",
        "oph-demo-garonne",
    )

    assert result.exit_code == 0, result.output
    assert TOKEN.fullmatch(result.stdout.rstrip("\n"))
    assert result.stdout.count("\n") == 1
    token = result.stdout.strip()
    assert _get(client, "/dwellings", token).status_code == 200


def test_users_create_read_only_gives_a_token_refused_on_writes(flux, client, reference_data):
    token = flux(
        "users",
        "create",
        "--email",
        "lecture@oph.example",
        "--role",
        "landlord",
        "--org",
        "oph-demo-garonne",
        "--read-only",
    ).stdout.strip()

    response = client.post(
        "/api/v1/dwellings",
        json={
            "rpls_id": "R1",
            "commune": "31555",
            "typology": "T3",
            "financing": "PLUS",
            "construction_year": 1990,
        },
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "landlord"], "exige une organisation"),
        (["--role", "landlord", "--org", "nobody"], "« nobody » inconnue"),
        (["--role", "landlord", "--org", "etat-31"], "ne convient pas"),
        (["--role", "prefecture", "--org", "action-logement"], "organisation État"),
    ],
)
def test_users_create_refuses_a_wrong_organisation_and_creates_nobody(
    flux, rows, reference_data, args, message
):
    result = flux("users", "create", "--email", "x@example.org", *args)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr
    assert rows(User) == 0


def test_users_create_refuses_an_email_already_used(flux, rows, reference_data):
    flux("users", "create", "--email", "admin@example.org", "--role", "admin")

    result = flux("users", "create", "--email", "admin@example.org", "--role", "admin")

    assert result.exit_code == 1
    assert "existe déjà" in result.stderr
    assert rows(User) == 1


def test_users_create_refuses_an_unknown_role(flux):
    result = flux("users", "create", "--email", "x@example.org", "--role", "king")

    assert result.exit_code == 2
    assert "king" in result.stderr


# --- flux conventions load ----------------------------------------------------------------


def test_conventions_load_loads_the_demo_conventions(flux, rows, reference_data):
    result = flux("conventions", "load", str(DEMO_DIR / "conventions"))

    assert result.exit_code == 0, result.output
    assert rows(Convention) == 16
    assert result.stdout.count("chargée") == 16
    assert "31-ophg-etat.toml : convention 31-OPHG-ETAT chargée" in result.stdout
    [warning] = [line for line in result.stdout.splitlines() if "avertissement" in line]
    assert warning.startswith("31-past-mure.toml : avertissement : ")
    assert "22,00 %" in warning


def _demo_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "conventions"
    shutil.copytree(DEMO_DIR / "conventions", directory)
    return directory


def test_conventions_load_with_one_bad_file_names_file_and_field_and_loads_nothing(
    flux, rows, reference_data, tmp_path
):
    directory = _demo_copy(tmp_path)
    good = (directory / "31-ophg-tlse.toml").read_text()
    bad = good.replace('"31-OPHG-TLSE"', '"ZZ-BAD"').replace('"15.00"', '"quinze"')
    (directory / "zz-bad.toml").write_text(bad.replace('"commune-toulouse"', '"commune-muret"'))

    result = flux("conventions", "load", str(directory))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Erreur : zz-bad.toml : shares.0.percent : ")
    assert "rien n'a été chargé" in result.stderr
    assert rows(Convention) == 0
    assert rows(ConventionVersion) == 0


def test_conventions_load_refuses_a_file_over_the_etat_cap_naming_the_rule_figures(
    flux, rows, reference_data, tmp_path
):
    directory = _demo_copy(tmp_path)
    path = directory / "31-ophg-etat.toml"
    path.write_text(path.read_text().replace('percent = "25.00"', 'percent = "25.01"'))

    result = flux("conventions", "load", str(directory))

    assert result.exit_code == 1
    assert "31-ophg-etat.toml : shares : Les droits de l'État atteignent 30,01 %" in result.stderr
    assert rows(Convention) == 0


def test_conventions_load_refuses_invalid_toml_naming_the_file(
    flux, rows, reference_data, tmp_path
):
    directory = _demo_copy(tmp_path)
    (directory / "31-coop-al.toml").write_text("reference = \n")

    result = flux("conventions", "load", str(directory))

    assert result.exit_code == 1
    assert "31-coop-al.toml : TOML invalide" in result.stderr
    assert rows(Convention) == 0


def test_conventions_load_refuses_an_unknown_field_naming_it(flux, rows, reference_data, tmp_path):
    directory = tmp_path / "one"
    directory.mkdir()
    text = (DEMO_DIR / "conventions" / "31-coop-al.toml").read_text()
    (directory / "al.toml").write_text('signed_by = "moi"\n' + text)

    result = flux("conventions", "load", str(directory))

    assert result.exit_code == 1
    assert "al.toml : signed_by : Champ inconnu." in result.stderr
    assert rows(Convention) == 0


def test_conventions_load_of_a_directory_without_toml_fails(flux, reference_data, tmp_path):
    result = flux("conventions", "load", str(tmp_path))

    assert result.exit_code == 1
    assert "aucun fichier de convention" in result.stderr


# --- flux import dwellings ----------------------------------------------------------------

CSV_HEADER = "rpls_id;commune;qpv;typology;financing;construction_year;out_of_flux\n"


def test_import_dwellings_loads_a_landlords_stock(flux, rows, reference_data, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text(CSV_HEADER + "G1;31555;QP031007;T3;PLUS;1975;\nG2;31395;;T2;PLAI;2010;\n")

    result = flux("import", "dwellings", str(path), "--landlord", "oph-demo-garonne")
    again = flux("import", "dwellings", str(path), "--landlord", "oph-demo-garonne")

    assert result.exit_code == 0, result.output
    assert result.stdout == "2 créés, 0 mis à jour, 0 inchangés.\n"
    assert again.stdout == "0 créés, 0 mis à jour, 2 inchangés.\n"
    assert rows(Dwelling) == 2


def test_import_dwellings_shows_progress_and_dry_run_writes_nothing(
    flux, rows, reference_data, tmp_path
):
    path = tmp_path / "stock.csv"
    path.write_text(CSV_HEADER + "G1;31555;QP031007;T3;PLUS;1975;\nG2;31395;;T2;PLAI;2010;\n")

    result = flux("import", "dwellings", str(path), "--landlord", "oph-demo-garonne", "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout == "2 créés, 0 mis à jour, 0 inchangés (essai : rien écrit).\n"
    assert "\r2 lignes" in result.stderr
    assert rows(Dwelling) == 0


def test_import_dwellings_with_a_bad_line_names_file_line_and_field_and_writes_nothing(
    flux, rows, reference_data, tmp_path
):
    path = tmp_path / "stock.csv"
    path.write_text(CSV_HEADER + "G1;31555;;T3;PLUS;1975;\nG2;31555;;T3;PLUS;1492;\n")

    result = flux("import", "dwellings", str(path), "--landlord", "oph-demo-garonne")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "stock.csv" in result.stderr
    assert "ligne 3 : construction_year : " in result.stderr
    assert rows(Dwelling) == 0


def test_import_dwellings_for_an_unknown_landlord_fails(flux, rows, reference_data, tmp_path):
    path = tmp_path / "stock.csv"
    path.write_text(CSV_HEADER + "G1;31555;;T3;PLUS;1975;\n")

    result = flux("import", "dwellings", str(path), "--landlord", "nobody")

    assert result.exit_code == 1
    assert "nobody" in result.stderr
    assert rows(Dwelling) == 0


# --- reference data -----------------------------------------------------------------------


def test_territories_and_organisations_load_report_what_they_loaded(flux, rows):
    territory = flux("territories", "load", str(DEMO_DIR / "territory.toml"))
    organisations = flux("organisations", "load", str(DEMO_DIR / "organisations.toml"))

    assert territory.stdout == "20 communes, 3 EPCI, 10 QPV.\n"
    assert organisations.stdout == "10 organisations créées.\n"
    assert rows(Organisation) == 10


def test_organisations_load_refuses_a_bad_entry_naming_it_and_creates_none(flux, rows, tmp_path):
    flux("territories", "load", str(DEMO_DIR / "territory.toml"))
    path = tmp_path / "orgs.toml"
    path.write_text(
        '[[organisation]]\ncode = "esh-a"\nname = "A"\nkind = "landlord"\n'
        '[[organisation]]\ncode = "ville-x"\nname = "X"\nkind = "reserver"\n'
        'category = "commune"\n'
    )

    result = flux("organisations", "load", str(path))

    assert result.exit_code == 1
    assert "orgs.toml : organisation[1] : " in result.stderr
    assert "territory : Champ requis pour cette catégorie." in result.stderr
    assert rows(Organisation) == 0


def test_users_revoke_refuses_every_token_of_the_user_at_once(flux, client, reference_data):
    create = (
        "users",
        "create",
        "--email",
        "r@oph.example",
        "--role",
        "landlord",
        "--org",
        "oph-demo-garonne",
    )
    token = flux(*create).stdout.strip()
    assert _get(client, "/dwellings", token).status_code == 200

    result = flux("users", "revoke", "--email", "r@oph.example")

    assert result.exit_code == 0, result.output
    assert "1 jeton(s) révoqué(s)" in result.stderr
    assert _get(client, "/dwellings", token).status_code == 401


def test_users_create_reads_a_password_from_stdin_for_the_login(flux, client, reference_data):
    flux(
        "users",
        "create",
        "--email",
        "p@oph.example",
        "--role",
        "landlord",
        "--org",
        "oph-demo-garonne",
        "--password-stdin",
        input="a long enough password\n",
    )

    login = client.post(
        "/api/v1/auth/login", json={"email": "p@oph.example", "password": "a long enough password"}
    )

    assert login.status_code == 201
