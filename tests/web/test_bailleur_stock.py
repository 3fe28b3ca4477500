"""The landlord's stock (CSV import with a dry run and row errors, search) and conventions
(shares, balances as of a date, deduction forecasts)."""

from __future__ import annotations

import io

import sqlalchemy as sa

from flux.models import DeductionForecast, Dwelling

from .conftest import OPH, csrf_of

HEADER = "rpls_id;commune;qpv;typology;financing;construction_year\n"


def _upload(client, content: str, dry_run: bool):
    page = client.get("/bailleur/patrimoine").get_data(as_text=True)
    data = {"csrf_token": csrf_of(page), "file": (io.BytesIO(content.encode()), "logements.csv")}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/bailleur/patrimoine", data=data, content_type="multipart/form-data")


def _count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Dwelling))


def test_a_dry_run_checks_the_file_and_writes_nothing(signed_in, world, session):
    client = signed_in("landlord", OPH)
    before = _count(session)
    response = _upload(client, HEADER + "N0000001;31555;;T2;PLUS;2001\n", dry_run=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Essai à blanc : rien n&#39;a été enregistré." in html and "1 logement(s)" in html
    assert _count(session) == before
    assert _upload(client, HEADER + "N0000001;31555;;T2;PLUS;2001\n", False).status_code == 200
    assert _count(session) == before + 1


def test_row_errors_are_listed_line_by_line(signed_in, world, session):
    client = signed_in("landlord", OPH)
    before = _count(session)
    content = HEADER + "N0000001;31555;;T2;PLUS;2001\nN0000002;99999;;T9;PLUS;2001\n"
    response = _upload(client, content, dry_run=False)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Lignes fautives du fichier" in html
    assert '<th scope="row">3</th><td>typology</td>' in html
    assert _count(session) == before  # nothing written, not even the good line


def test_the_stock_is_searched_by_rpls_or_commune(signed_in, world):
    client = signed_in("landlord", OPH)
    html = client.get("/bailleur/patrimoine?q=muret").get_data(as_text=True)
    assert "R0000003" in html and "R0000001" not in html
    assert "E0000001" not in client.get("/bailleur/patrimoine").get_data(as_text=True)  # ESH's


def test_conventions_show_shares_balances_and_take_forecasts(signed_in, world, session):
    client = signed_in("landlord", OPH)
    html = client.get("/bailleur/conventions?au=2026-01-31").get_data(as_text=True)
    assert "AL — Action Logement Services" in html and "60,00 %" in html
    assert "Droits par part au 31/01/2026" in html
    assert "Part non réservée du bailleur" in html
    assert "AL-ESH" not in html
    data = {"csrf_token": csrf_of(html), "departement": "31", "annee": "2026"}
    for category in ("internal_transfer", "urban_renewal", "degraded_condo", "unfit_housing"):
        data[f"prevision-{category}"] = "2"
    data["prevision-sale"] = "x"
    refused = client.post("/bailleur/conventions", data=data)
    assert refused.status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(DeductionForecast)) == 0
    data["prevision-sale"] = "1"
    assert client.post("/bailleur/conventions", data=data).status_code == 302
    assert session.scalar(sa.select(sa.func.sum(DeductionForecast.forecast))) == 9
