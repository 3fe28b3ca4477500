"""The État's conventions, created and amended by its prefecture through the same service and
checks as the API (caps, If-Match-like revision)."""

from __future__ import annotations

import re

from .conftest import csrf_of, post_form

PAGE = "/prefecture/conventions"


def _create(client, **overrides):
    data = {
        "reference": "ETAT-ESH",
        "landlord": "esh-demo-pastel",
        "valid_from": "2026-01-01",
        "new-prioritaires": "25",
        "new-agents": "5",
        **overrides,
    }
    return post_form(client, PAGE, data)


def test_the_prefecture_creates_an_etat_convention(signed_in, world):
    client = signed_in("prefecture", "etat-31")
    response = _create(client)
    assert response.status_code == 302, re.findall(r"<p>[^<]*</p>", response.get_data(as_text=True))
    html = client.get(PAGE).get_data(as_text=True)
    assert "ETAT-ESH — " in html and 'value="25,00"' in html


def test_a_convention_over_the_etat_cap_is_refused(signed_in, world):
    client = signed_in("prefecture", "etat-31")
    response = _create(client, **{"new-prioritaires": "28", "new-agents": "5"})
    assert response.status_code == 422
    assert "30,00 %" in response.get_data(as_text=True)
    assert "ETAT-ESH —" not in client.get(PAGE).get_data(as_text=True)


def _amend_form(html: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'action="(/prefecture/conventions/\d+/avenant)"', html).group(1)
    revision = re.search(r'name="revision" value="(\d+)"', html).group(1)
    shares = dict(re.findall(r'name="(share-\d+)" value="([^"]+)"', html))
    return action, {"csrf_token": csrf_of(html), "revision": revision, **shares}


def test_an_amendment_read_at_a_stale_revision_is_refused(signed_in, world):
    client = signed_in("prefecture", "etat-31")
    _create(client)
    html = client.get(PAGE).get_data(as_text=True)
    action, data = _amend_form(html)
    first = {**data, "effective_from": "2026-06-01"}
    first[next(k for k in data if k.startswith("share-"))] = "20"
    assert client.post(action, data=first).status_code == 302
    stale = client.post(action, data={**data, "effective_from": "2026-07-01"})  # old revision
    assert stale.status_code == 412
    assert "modifiée depuis votre lecture" in stale.get_data(as_text=True)
    assert "Version 2, en vigueur depuis le 01/06/2026" in client.get(PAGE).get_data(as_text=True)


def test_the_etat_conventions_page_is_the_prefectures(signed_in, world):
    assert signed_in("landlord", "oph-demo-garonne").get(PAGE).status_code == 404
    assert signed_in("reserver", "etat-31").get(PAGE).status_code == 404
