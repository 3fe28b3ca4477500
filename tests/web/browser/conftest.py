"""The browser tests' world: the demo database built once per session, served by a live Flux
server, and Debian's chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from flux import create_app, demo
from flux.db import create_engine, db
from flux.migrate import upgrade
from flux.services import allocation_book, scope_conventions

from ...conftest import ON_POSTGRES, PG_URL
from .chromium import CHROMIUM, launch

SERIOUS = {"serious", "critical"}


# Applied by each browser test module: skipped, with the reason, only without chromium.
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} est absent : installez le paquet Debian chromium (apt-get install "
        "chromium) pour les tests dans le navigateur",
    ),
]


def _pages_database(tmp: Path) -> str:
    """A database of its own for the demo: a SQLite file, or a sibling PostgreSQL database
    (the other tests truncate theirs)."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp / 'demo.sqlite'}"
    url = sa.engine.make_url(PG_URL)
    name = f"{url.database}_pages"
    admin = create_engine(url.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo territory with its activity up to today (about 20 s to load, once)."""
    url = _pages_database(tmp_path_factory.mktemp("pages"))
    upgrade(url)
    allocation_book.clear_cache()
    scope_conventions.clear_cache()
    app = create_app({"ENV": "test", "DATABASE_URL": url})
    with app.app_context():
        demo.load(db.session, activity_until=date.today())
        db.session.commit()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def live_server(demo_url: str) -> Iterator[str]:
    allocation_book.clear_cache()
    scope_conventions.clear_cache()
    app = create_app({"ENV": "test", "DATABASE_URL": demo_url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API runs an event loop in this thread until it stops, and
    # the later tests' app contexts (asgiref) refuse to run while one is running.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(live_server, browser) -> Iterator[Any]:
    # axe-core is injected by Playwright: the pages' own policy allows no script at all.
    context = browser.new_context(
        base_url=live_server, bypass_csp=True, locale="fr-FR", accept_downloads=True
    )
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def check_accessibility():
    """check_accessibility(page): axe-core on the page as it is; no serious or critical
    violation. Saves a screenshot when FLUX_SCREENSHOTS names a directory."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    seen: list[str] = []

    def check(page: Any, name: str) -> None:
        page.wait_for_load_state()  # after a click, the page it leads to, whole
        results = axe.run(page)
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in results.response["violations"]
            if v["impact"] in SERIOUS
        ]
        assert bad == [], f"{page.url}: {bad}"
        seen.append(page.url)
        folder = os.environ.get("FLUX_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    check.seen = seen  # type: ignore[attr-defined]
    return check
