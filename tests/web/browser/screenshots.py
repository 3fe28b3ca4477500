"""The README's screenshots of the pages (docs/pages/*.png), taken in Debian's chromium on the
demo: each role's home page at 960 × 600 pixels, and three pages at 320 pixels wide (a phone).

Usage: .venv/bin/python -m tests.web.browser.screenshots [--database-url URL] [--out docs/pages]

Without --database-url it uses the benchmark's demo database (bench/.data/pages-demo.sqlite,
loaded by bench/pages.py if absent). Only the viewport is captured: small PNGs.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from flux import create_app  # noqa: E402
from flux.demo import DEMO_DOMAIN, demo_password  # noqa: E402
from tests.web.browser.chromium import FRENCH, launch  # noqa: E402

DESKTOP = {"width": 960, "height": 600}
PHONE = {"width": 320, "height": 640}
# (file, email, role, path, viewport)
SHOTS = [
    ("bailleur", "landlord@oph-demo-garonne", "landlord", "/bailleur/a-traiter", DESKTOP),
    ("reservataire", "reserver@etat-31", "reserver", "/reservataire/droits", DESKTOP),
    ("prefecture", "prefecture@etat-31", "prefecture", "/prefecture/console", DESKTOP),
    ("admin", "admin", "admin", "/admin/utilisateurs", DESKTOP),
    ("admin-organisations", "admin", "admin", "/admin/organisations", DESKTOP),
    ("declarer-320", "landlord@oph-demo-garonne", "landlord", "/bailleur/declarer", PHONE),
    ("droits-320", "reserver@etat-31", "reserver", "/reservataire/droits", PHONE),
    (
        "patrimoine-320",
        "landlord@oph-demo-garonne",
        "landlord",
        "/bailleur/patrimoine?q=toulouse#logements",
        PHONE,
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--out", default=str(ROOT / "docs" / "pages"))
    args = parser.parse_args()
    if not FRENCH.exists():
        sys.exit(
            f"{FRENCH} absent : installez le paquet Debian chromium-l10n (les champs de date "
            "s'afficheraient au format américain)."
        )
    import pages as bench_pages  # bench/pages.py: the demo database, loaded once

    app = create_app({"DATABASE_URL": bench_pages.database(args.database_url)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.port}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        for name, who, role, path, viewport in SHOTS:
            context = browser.new_context(base_url=base, viewport=viewport, locale="fr-FR")
            context.set_default_timeout(120_000)
            page = context.new_page()
            page.goto("/connexion")
            email = f"{who}.{DEMO_DOMAIN}" if "@" in who else f"{who}@{DEMO_DOMAIN}"
            page.get_by_label("Adresse électronique").fill(email)
            page.get_by_label("Mot de passe").fill(demo_password(role))
            page.get_by_role("button", name="Se connecter").click()
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / f"{name}.png"))
            print(out / f"{name}.png")
            context.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
