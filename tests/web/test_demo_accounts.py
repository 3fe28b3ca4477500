"""Each demo user has a password that `flux demo` prints and that opens the pages."""

from __future__ import annotations

from click.testing import CliRunner

from flux import cli
from flux.demo import DEMO_DOMAIN

from .conftest import sign_in


def test_flux_demo_prints_emails_and_passwords_that_sign_in(app, database_url, monkeypatch):
    monkeypatch.setenv("FLUX_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli.main, ["demo", "--no-activity"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Comptes de démonstration pour les pages (adresse, mot de passe) :" in result.output
    lines = [
        line.split()
        for line in result.output.splitlines()
        if line.strip().endswith(("flux-demo-landlord", "flux-demo-reserver", "flux-demo-admin"))
    ]
    accounts = dict((email, password) for email, password in lines)
    email = f"landlord@oph-demo-garonne.{DEMO_DOMAIN}"
    assert accounts[email] == "flux-demo-landlord"
    assert accounts[f"admin@{DEMO_DOMAIN}"] == "flux-demo-admin"
    client = app.test_client()
    assert sign_in(client, email, accounts[email]).status_code == 302
    assert client.get("/").location == "/bailleur/a-traiter"
