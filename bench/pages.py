"""Benchmark of the pages: latency (median, p95) and SQL statements of each main page on the
demo, by the Flask test client (no network), signed in as each role.

Usage: .venv/bin/python bench/pages.py [--repeat 20] [--database-url URL]

The first call of each page is reported apart (caches cold): the allocation books, the
monthly series and the drawn charts are kept between requests, as a running server keeps them.

Without --database-url the demo is loaded once into bench/.data/pages-demo.sqlite (activity up
to today) and reused. The anchor, measured in the same run, is the sign-in page (a template and
no query): each page's p95 is also given as a ratio to it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flux import create_app, demo  # noqa: E402
from flux.db import db  # noqa: E402
from flux.migrate import upgrade  # noqa: E402
from flux.services import allocation_book, desk  # noqa: E402
from flux.web import charts  # noqa: E402

DATA = ROOT / "bench" / ".data" / "pages-demo.sqlite"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
ROLES = {
    "landlord": ("landlord@oph-demo-garonne", "flux-demo-landlord"),
    "reserver": ("reserver@etat-31", "flux-demo-reserver"),
    "prefecture": ("prefecture@etat-31", "flux-demo-prefecture"),
    "admin": ("admin", "flux-demo-admin"),
}


def database(url: str | None) -> str:
    if url:
        return url
    url = f"sqlite:///{DATA}"
    if not DATA.exists():
        DATA.parent.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            demo.load(db.session, activity_until=date.today())
            db.session.commit()
            db.engine.dispose()
    return url


def signed_in(app, role: str):
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    email, password = ROLES[role]
    response = client.post(
        "/connexion",
        data={
            "csrf_token": CSRF.search(page).group(1),
            "email": f"{email}.{demo.DEMO_DOMAIN}"
            if "@" in email
            else f"{email}@{demo.DEMO_DOMAIN}",
            "password": password,
        },
    )
    assert response.status_code == 302, response.status_code
    return client


def measure(client, path: str, repeat: int, counter: list[int]) -> tuple[float, float, float, int]:
    desk.clear_series_cache()
    allocation_book.clear_cache()
    charts.clear_drawn()
    started = time.perf_counter()
    with client.get(path) as response:  # the first call: caches cold (then warm-up)
        assert response.status_code == 200, (path, response.status_code)
    first = time.perf_counter() - started
    timings, statements = [], []
    for _ in range(repeat):
        counter[0] = 0
        started = time.perf_counter()
        with client.get(path) as response:
            response.get_data()
        timings.append(time.perf_counter() - started)
        statements.append(counter[0])
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return first, statistics.median(timings), p95, max(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    app = create_app({"DATABASE_URL": database(args.database_url)})
    counter = [0]
    with app.app_context():
        sa.event.listen(
            db.engine, "before_cursor_execute", lambda *_: counter.__setitem__(0, counter[0] + 1)
        )
    clients = {role: signed_in(app, role) for role in ROLES}
    first = re.search(
        r'href="(/logements-liberes/\d+)"',
        clients["landlord"].get("/bailleur/a-traiter").get_data(as_text=True),
    ).group(1)
    chart = (
        re.search(
            r'src="(/reservataire/droits/graphique/[^"]+)"',
            clients["reserver"].get("/reservataire/droits").get_data(as_text=True),
        )
        .group(1)
        .replace("&amp;", "&")
    )
    pages = [
        ("anchor", "(ancre) connexion", app.test_client(), "/connexion"),
        ("landlord", "bailleur : À traiter", None, "/bailleur/a-traiter"),
        ("landlord", "bailleur : Déclarer", None, "/bailleur/declarer"),
        ("landlord", "bailleur : une libération", None, first),
        ("landlord", "bailleur : Patrimoine", None, "/bailleur/patrimoine"),
        ("landlord", "bailleur : Patrimoine, recherche", None, "/bailleur/patrimoine?q=toulouse"),
        ("reserver", "réservataire : Mes droits", None, "/reservataire/droits"),
        ("reserver", "réservataire : un graphique SVG", None, chart),
        ("reserver", "réservataire : À pourvoir", None, "/reservataire/a-pourvoir"),
        ("reserver", "réservataire : Mes bilans", None, "/reservataire/bilans"),
        ("prefecture", "préfecture : Console", None, "/prefecture/console"),
        ("admin", "admin : Utilisateurs", None, "/admin/utilisateurs"),
        ("admin", "admin : Organisations", None, "/admin/organisations"),
    ]
    print(
        "| page | premier appel | médiane | p95 | p95 / ancre | requêtes SQL |\n"
        "|---|---|---|---|---|---|"
    )
    anchor = None
    for role, label, client, path in pages:
        first, median, p95, statements = measure(
            client or clients[role], path, args.repeat, counter
        )
        anchor = anchor or p95
        print(
            f"| {label} | {first * 1000:.0f} ms | {median * 1000:.0f} ms | {p95 * 1000:.0f} ms | "
            f"{p95 / anchor:.0f} | {statements} |"
        )
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
