"""Debian's chromium as a French user runs it, for the browser tests and the README's
screenshots.

Chromium draws its own controls (a date field's « jj/mm/aaaa ») in its interface language, not
in the page's: that language comes from the LANGUAGE variable and needs the French resources of
the Debian package chromium-l10n. Without them a date field reads 12/04/2026 for 4 December.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FRENCH = Path("/usr/lib/chromium/locales/fr.pak")  # from the package chromium-l10n


def launch(playwright: Any) -> Any:
    """Headless chromium speaking French (its controls too, when chromium-l10n is installed)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--no-sandbox", "--lang=fr-FR"],
        env={**os.environ, "LANGUAGE": "fr"},
        headless=True,
    )
