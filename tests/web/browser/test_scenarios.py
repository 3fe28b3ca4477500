"""One scenario per role on the demo, in Debian's chromium: sign in, do the main task, sign out;
axe-core on every page of the way (no serious or critical violation)."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from playwright.sync_api import expect

from flux.db import create_engine
from flux.demo import DEMO_DOMAIN, demo_password
from flux.models import Dwelling, JournalEntry, Organisation

from .conftest import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM


def sign_in(page, who: str, role: str, check) -> None:
    page.goto("/")
    assert page.url.endswith("/connexion?next=/")
    check(page, f"connexion-{role}")
    page.get_by_label("Adresse électronique").fill(f"{role}@{who}.{DEMO_DOMAIN}")
    page.get_by_label("Mot de passe").fill(demo_password(role))
    page.get_by_role("button", name="Se connecter").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté.")).to_be_visible()
    page.goto("/")
    assert "/connexion" in page.url


def _free_dwelling(url: str, landlord: str) -> str:
    """A dwelling of the landlord, in the flux, never freed in the demo."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rpls = connection.scalar(
            sa.select(Dwelling.rpls_id)
            .join(Organisation, Organisation.id == Dwelling.landlord_id)
            .where(
                Organisation.code == landlord,
                Dwelling.out_of_flux.is_(None),
                ~sa.exists().where(JournalEntry.dwelling_id == Dwelling.id),
            )
            .order_by(Dwelling.id)
            .limit(1)
        )
    engine.dispose()
    return rpls


def test_a_landlord_logs_a_vacancy_and_reads_its_orientation(page, demo_url, check_accessibility):
    check = check_accessibility
    sign_in(page, "oph-demo-garonne", "landlord", check)
    expect(page.get_by_role("heading", level=1)).to_have_text("À traiter")
    check(page, "bailleur-a-traiter")

    page.get_by_role("link", name="Déclarer un logement libéré").click()
    check(page, "bailleur-declarer")
    page.get_by_label("Numéro RPLS ou adresse du logement").fill(
        _free_dwelling(demo_url, "oph-demo-garonne")
    )
    page.get_by_label("Date de disponibilité").fill(date.today().isoformat())
    page.get_by_role("button", name="Enregistrer et orienter").click()

    expect(page.locator("p.answer")).to_have_text(
        re.compile(r"^Ce logement est orienté vers .+ : c'est la part éligible la plus en retard")
    )
    expect(page.get_by_role("table", name=re.compile("Parts éligibles"))).to_be_visible()
    expect(page.get_by_text("orienté ici")).to_be_visible()
    check(page, "bailleur-logement")

    page.get_by_role("link", name="Patrimoine").click()
    check(page, "bailleur-patrimoine")
    page.get_by_label("Numéro RPLS, adresse ou commune").fill("Muret")
    page.get_by_role("button", name="Chercher").click()
    # Every check after a click waits for the new page (expect retries); a bare count() or
    # is_visible() could read the page the click is leaving.
    expect(
        page.get_by_role("status").get_by_text(re.compile(r"logements? pour «\sMuret\s»"))
    ).to_have_count(1)
    expect(page.get_by_role("table", name=re.compile("Logements, page 1"))).to_be_visible()
    check(page, "bailleur-patrimoine-recherche")
    page.get_by_role("link", name=re.compile("^Déclarer libéré")).first.click()
    expect(page.get_by_label("Numéro RPLS ou adresse du logement")).not_to_have_value("")
    page.get_by_role("link", name="Patrimoine").click()
    page.get_by_role("link", name="Conventions").click()
    expect(page.get_by_role("table", name=re.compile("Droits par part"))).to_be_visible()
    check(page, "bailleur-conventions")
    page.get_by_role("link", name="À traiter").click()
    expect(page.locator("table").first).to_be_visible()
    sign_out(page)


def test_a_reserver_finds_its_shortfall_and_designates(page, check_accessibility):
    check = check_accessibility
    # The État as a reserver (its officers designate for its two shares): behind on some shares.
    sign_in(page, "etat-31", "reserver", check)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes droits")
    expect(page.get_by_text("taux de réalisation global")).to_be_visible()
    rights = page.get_by_role("table", name=re.compile("Droits par bailleur"))
    gaps = rights.locator("tbody tr td:nth-child(11)").all_inner_texts()
    assert any(g.startswith("−") for g in gaps), gaps  # a share behind its due: a shortfall
    chart = page.locator("img.chart").first
    chart.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
    )
    check(page, "reservataire-droits")

    page.get_by_role("link", name="Logements à pourvoir").click()
    check(page, "reservataire-a-pourvoir")
    first = page.locator("tbody th a").first
    first.click()
    check(page, "reservataire-logement")
    form = page.locator("section", has=page.get_by_role("heading", name="Désignation de candidats"))
    form.get_by_label("Date de l'événement").fill(date.today().isoformat())
    form.get_by_label("Nombre de candidats proposés").fill("3")
    form.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Enregistré : désignation de candidats.")).to_be_visible()
    expect(page.get_by_text("candidats désignés").first).to_be_visible()
    check(page, "reservataire-logement-designe")

    page.get_by_role("link", name="Mes bilans").click()
    check(page, "reservataire-bilans")
    sign_out(page)


def test_the_prefecture_sees_breaches_and_downloads_the_bilan(page, check_accessibility):
    check = check_accessibility
    sign_in(page, "etat-31", "prefecture", check)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Console du département"))
    page.get_by_label("Année", exact=True).select_option("2025")
    page.get_by_role("button", name="Afficher").click()
    expect(
        page.locator("p.answer").get_by_text(re.compile(r"obligations? non respectées?"))
    ).to_have_count(1)
    expect(page.locator("td.status-breached").first).to_be_visible()
    check(page, "prefecture-console")

    page.get_by_label("Format", exact=True).select_option("xlsx")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le bilan consolidé").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert download.value.path().stat().st_size > 1000
    page.get_by_role("link", name="Conventions de l'État").click()
    check(page, "prefecture-conventions")
    sign_out(page)


def test_an_admin_reaches_users_and_organisations(page, check_accessibility):
    check = check_accessibility
    page.goto("/connexion")
    page.get_by_label("Adresse électronique").fill(f"admin@{DEMO_DOMAIN}")
    page.get_by_label("Mot de passe").fill(demo_password("admin"))
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Utilisateurs")
    check(page, "admin-utilisateurs")
    page.get_by_role("link", name="Organisations").click()
    check(page, "admin-organisations")
    # A new landlord: a code the API's schema refuses, said on its field, then the right one.
    page.get_by_label("Nom", exact=True).fill("SA HLM d'essai")
    page.get_by_label("Code", exact=True).fill("SA HLM")
    page.get_by_label("Type", exact=True).select_option("landlord")
    page.get_by_role("button", name="Créer l'organisation").click()
    expect(
        page.locator(".error-summary").get_by_text("minuscules, chiffres et tirets")
    ).to_be_visible()
    check(page, "admin-organisations-erreur")
    page.get_by_label("Code", exact=True).fill("sa-hlm-essai")
    page.get_by_role("button", name="Créer l'organisation").click()
    created = "Organisation « SA HLM d'essai » (sa-hlm-essai) créée."
    expect(page.get_by_text(created)).to_be_visible()
    page.get_by_role("link", name="SA HLM d'essai").click()
    check(page, "admin-organisation")
    page.get_by_role("link", name="Créer un utilisateur de cette organisation").click()
    expect(page.get_by_label("Organisation", exact=True)).to_have_value("sa-hlm-essai")
    page.get_by_role("link", name="Mon compte").click()
    check(page, "compte")
    sign_out(page)
