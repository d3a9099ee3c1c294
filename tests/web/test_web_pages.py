"""The web app's pages and assets: served publicly, deep links work, text catalogues agree."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from ebrcs.web.views import PAGE_PATHS, STATIC_DIR

DEEP_LINKS = [
    path.replace("{session_id}", "5f0c6f57-8f1e-4a59-9d0e-2b7a4f1c2d3e").replace(
        "{order_id}", "0b3d2c1a-1111-4222-8333-944455556666"
    )
    for path in PAGE_PATHS
]
CATALOGUES = sorted((STATIC_DIR / "i18n").glob("*.json"))
SOURCES = sorted([*STATIC_DIR.rglob("*.js"), STATIC_DIR / "index.html"])
# A text key is a quoted "namespace.key" literal, or the argument of t("...").
KEY_LITERAL = re.compile(r"""["']([a-z]+\.[A-Za-z0-9]+)["']""")
T_CALL = re.compile(r"""\bt\(\s*["']([A-Za-z0-9.]+)["']""")


def _keys_used() -> set[str]:
    namespaces = {key.split(".")[0] for key in json.loads(CATALOGUES[0].read_text())}
    used: set[str] = set()
    for source in SOURCES:
        text = source.read_text()
        used |= {key for key in KEY_LITERAL.findall(text) if key.split(".")[0] in namespaces}
        used |= set(T_CALL.findall(text))
    return used


@pytest.mark.parametrize("path", DEEP_LINKS)
def test_every_page_path_serves_the_app_shell_without_logging_in(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in response.text


def test_the_shell_forbids_inline_and_foreign_scripts(client: TestClient) -> None:
    policy = client.get("/login").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_static_assets_are_served(client: TestClient) -> None:
    for asset in ("/static/js/app.js", "/static/css/app.css", "/static/i18n/ko.json"):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/static/js/nothing-here.js").status_code == 404


def test_pages_stay_out_of_the_api_schema(client: TestClient) -> None:
    schema_paths = set(client.get("/openapi.json").json()["paths"])
    assert not schema_paths & set(PAGE_PATHS)
    assert all(path.startswith("/api/") for path in schema_paths)


def test_an_unknown_path_is_still_a_404(client: TestClient) -> None:
    assert client.get("/no/such/page").status_code == 404


def test_every_language_has_exactly_the_same_keys() -> None:
    assert [path.stem for path in CATALOGUES] == ["en", "ko"]
    key_sets = [set(json.loads(path.read_text())) for path in CATALOGUES]
    assert key_sets[0] == key_sets[1]


def test_every_text_key_the_code_uses_is_in_the_catalogues_and_none_is_unused() -> None:
    catalogue = set(json.loads(CATALOGUES[0].read_text()))
    used = _keys_used()
    assert used - catalogue == set(), "keys used but missing from the catalogues"
    assert catalogue - used == set(), "keys in the catalogues that no code uses"


def test_no_script_builds_markup_from_strings() -> None:
    # All text goes through textContent; these would let data become markup.
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(")
    offenders = [
        str(path.relative_to(STATIC_DIR)) for path in SOURCES if forbidden.search(path.read_text())
    ]
    assert offenders == []
