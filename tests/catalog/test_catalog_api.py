"""Registering, listing, changing and recognising products through the API."""

from __future__ import annotations

from typing import Any

import pytest
from catalog_fixtures import ColourEmbedder, photo
from fastapi.testclient import TestClient

RED, GREEN, BLUE = (200, 30, 30), (30, 200, 30), (30, 30, 200)


@pytest.fixture
def api(colour_embedder: ColourEmbedder, client: TestClient) -> TestClient:
    """A started app whose runtime embeds with the colour embedder."""
    return client


def register(
    api: TestClient, headers: dict[str, str], name: str, colour: tuple[int, int, int], **form: Any
) -> dict[str, Any]:
    """Register a product from three photos of one colour; returns the JSON answer."""
    files = [("images", (f"{i}.png", photo(colour, seed=i), "image/png")) for i in range(3)]
    response = api.post("/api/products", data={"name": name, **form}, files=files, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_registration_answers_like_the_original(api: TestClient, admin) -> None:
    body = register(api, admin.headers, "Tomato", RED, price="2.50")
    assert body["status"] == "added"
    assert body["product_name"] == "Tomato"
    assert body["images_count"] == 3
    assert body["total_products"] == 1
    assert body["total_embeddings"] == 3
    assert set(body) == {
        "status",
        "product_id",
        "product_name",
        "images_count",
        "total_products",
        "total_embeddings",
    }


def test_registered_product_is_recognised_at_once(api: TestClient, admin, shopper) -> None:
    tomato = register(api, admin.headers, "Tomato", RED)
    register(api, admin.headers, "Cucumber", GREEN)
    files = {"image": ("q.jpg", photo(RED, seed=9, fmt="JPEG"), "image/jpeg")}
    matches = api.post("/api/recognize", files=files, headers=shopper.headers).json()["matches"]
    assert matches[0]["product_id"] == tomato["product_id"]
    assert matches[0]["name"] == "Tomato"
    assert [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)


def test_deactivated_product_is_never_recognised_again(api: TestClient, admin, shopper) -> None:
    tomato = register(api, admin.headers, "Tomato", RED)
    register(api, admin.headers, "Cucumber", GREEN)
    response = api.delete(f"/api/products/{tomato['product_id']}", headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    files = {"image": ("q.png", photo(RED, seed=9), "image/png")}
    matches = api.post("/api/recognize", files=files, headers=shopper.headers).json()["matches"]
    assert tomato["product_id"] not in {m["product_id"] for m in matches}
    assert api.get("/api/health").json()["index_size"] == 3


def test_reactivated_product_is_recognised_again(api: TestClient, admin, shopper) -> None:
    tomato = register(api, admin.headers, "Tomato", RED)
    url = f"/api/products/{tomato['product_id']}"
    api.delete(url, headers=admin.headers)
    response = api.patch(url, json={"is_active": True, "price": "3.10"}, headers=admin.headers)
    assert response.json()["is_active"] is True
    assert response.json()["price"] == "3.10"
    files = {"image": ("q.png", photo(RED, seed=9), "image/png")}
    matches = api.post("/api/recognize", files=files, headers=shopper.headers).json()["matches"]
    assert matches[0]["product_id"] == tomato["product_id"]


def test_listing_is_paginated_with_image_counts(api: TestClient, admin, shopper) -> None:
    for name, colour in [("Tomato", RED), ("Cucumber", GREEN), ("Blueberry", BLUE)]:
        register(api, admin.headers, name, colour)
    first = api.get("/api/products?limit=2", headers=shopper.headers).json()
    second = api.get("/api/products?limit=2&offset=2", headers=shopper.headers).json()
    assert first["total"] == 3
    items = first["items"] + second["items"]
    assert sorted(item["name"] for item in items) == ["Blueberry", "Cucumber", "Tomato"]
    assert {item["image_count"] for item in items} == {3}
    assert {"id", "name", "price", "is_active", "image_count"} <= set(items[0])


def test_more_photos_can_be_added_up_to_the_cap(api: TestClient, admin, settings) -> None:
    tomato = register(api, admin.headers, "Tomato", RED)
    url = f"/api/products/{tomato['product_id']}/images"
    files = [("images", (f"{i}.png", photo(RED, seed=20 + i), "image/png")) for i in range(3)]
    added = 0
    while True:
        response = api.post(url, files=files, headers=admin.headers)
        if response.status_code != 201:
            break
        added += 3
    assert response.status_code == 422
    assert 3 + added == settings.max_stored_images_per_product
    detail = api.get(f"/api/products/{tomato['product_id']}", headers=admin.headers).json()
    assert detail["image_count"] == settings.max_stored_images_per_product
    assert api.get("/api/health").json()["index_size"] == settings.max_stored_images_per_product


def test_stored_photos_are_served_to_logged_in_users_only(api: TestClient, admin, shopper) -> None:
    tomato = register(api, admin.headers, "Tomato", RED)
    detail = api.get(f"/api/products/{tomato['product_id']}", headers=shopper.headers).json()
    url = detail["images"][0]["url"]
    served = api.get(url, headers=shopper.headers)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == photo(RED, seed=0)
    assert api.get(url).status_code == 401


def test_health_names_the_embedder_and_index_size(api: TestClient, admin) -> None:
    register(api, admin.headers, "Tomato", RED)
    body = api.get("/api/health").json()
    assert body["embedder"] == ColourEmbedder.id
    assert body["index_size"] == 3
