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


def page(api: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = api.get("/api/products/search", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("q", "size"), [("", 2), ("re", 1)], ids=["browsing", "searching"])
def test_pages_are_disjoint_and_together_the_whole_ranked_list(
    api: TestClient, shopper, q: str, size: int
) -> None:
    whole = page(api, shopper.headers, q=q, limit=100)
    assert whole["total"] == len(whole["items"]) > size
    starts = range(0, whole["total"], size)
    pages = [page(api, shopper.headers, q=q, offset=start, limit=size) for start in starts]
    assert [(answer["offset"], answer["total"]) for answer in pages] == [
        (start, whole["total"]) for start in starts
    ]
    assert [item for answer in pages for item in answer["items"]] == whole["items"]


def test_an_offset_past_the_end_is_an_empty_page_with_the_total(api: TestClient, shopper) -> None:
    answer = page(api, shopper.headers, q="", offset=len(NAMES), limit=2)
    assert answer == {"items": [], "total": len(NAMES), "offset": len(NAMES)}


@pytest.mark.parametrize("offset", ["-1", "1000001", str(2**63), "one"])
def test_an_odd_offset_is_422(api: TestClient, shopper, offset: str) -> None:
    response = api.get("/api/products/search", params={"offset": offset}, headers=shopper.headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


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
