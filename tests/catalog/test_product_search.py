"""The product picker's search: fuzzy, accent- and case-insensitive across words, with photos."""

from __future__ import annotations

from typing import Any

import pytest
from catalog_fixtures import ColourEmbedder, photo
from fastapi.testclient import TestClient

NAMES = ["Arla-Standard-Milk", "Crème fraîche", "Banana", "Red-Bell-Pepper", "바나나 우유"]


@pytest.fixture
def api(colour_embedder: ColourEmbedder, client: TestClient, admin) -> TestClient:
    """A started app with a few products registered, one photo each."""
    for index, name in enumerate(NAMES):
        files = [
            (
                "images",
                ("0.png", photo((40 * index, 90, 200 - 40 * index), seed=index), "image/png"),
            )
        ]
        response = client.post(
            "/api/products", data={"name": name}, files=files, headers=admin.headers
        )
        assert response.status_code == 201, response.text
    return client


def found(api: TestClient, headers: dict[str, str], q: str, **params: Any) -> list[str]:
    response = api.get("/api/products/search", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def test_words_match_in_any_order_and_with_words_missing(api: TestClient, shopper) -> None:
    assert found(api, shopper.headers, "arla milk")[0] == "Arla-Standard-Milk"
    assert found(api, shopper.headers, "milk arla")[0] == "Arla-Standard-Milk"


def test_accents_and_case_do_not_matter(api: TestClient, shopper) -> None:
    assert found(api, shopper.headers, "CREME FRAICHE")[0] == "Crème fraîche"


def test_a_typo_still_finds_the_product(api: TestClient, shopper) -> None:
    assert found(api, shopper.headers, "banan")[0] == "Banana"
    assert found(api, shopper.headers, "peper red")[0] == "Red-Bell-Pepper"


def test_korean_names_are_found_by_a_part(api: TestClient, shopper) -> None:
    assert found(api, shopper.headers, "바나나")[0] == "바나나 우유"


def test_unrelated_names_are_left_out(api: TestClient, shopper) -> None:
    assert found(api, shopper.headers, "zzqx") == []


def test_a_blank_query_browses_by_name_with_photos(api: TestClient, shopper) -> None:
    response = api.get("/api/products/search", params={"limit": 3}, headers=shopper.headers)
    items = response.json()["items"]
    assert [item["name"] for item in items] == sorted(NAMES, key=str.casefold)[:3]
    photo_url = items[0]["image_url"]
    assert photo_url.startswith(f"/api/products/{items[0]['id']}/images/")
    assert api.get(photo_url, headers=shopper.headers).status_code == 200


def test_deactivated_products_are_not_offered(api: TestClient, admin, shopper) -> None:
    banana = api.get("/api/products/search", params={"q": "banana"}, headers=shopper.headers)
    api.delete(f"/api/products/{banana.json()['items'][0]['id']}", headers=admin.headers)
    assert "Banana" not in found(api, shopper.headers, "banana")


def test_search_needs_a_login_and_bounds_its_input(api: TestClient, shopper) -> None:
    assert api.get("/api/products/search", params={"q": "milk"}).status_code == 401
    too_long = {"q": "x" * 201}
    assert (
        api.get("/api/products/search", params=too_long, headers=shopper.headers).status_code == 422
    )
