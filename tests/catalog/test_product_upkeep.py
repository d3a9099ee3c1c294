"""Catalogue upkeep from the admin page: a repeated name asks first; photos can be removed."""

from __future__ import annotations

from typing import Any

import pytest
from catalog_fixtures import ColourEmbedder, photo
from fastapi.testclient import TestClient

RED, GREEN = (200, 30, 30), (30, 200, 30)


@pytest.fixture
def api(colour_embedder: ColourEmbedder, client: TestClient) -> TestClient:
    """A started app whose runtime embeds with the colour embedder."""
    return client


def post_product(
    api: TestClient, headers: dict[str, str], name: str, photos: int = 1, **form: Any
) -> Any:
    files = [("images", (f"{i}.png", photo(RED, seed=i), "image/png")) for i in range(photos)]
    return api.post("/api/products", data={"name": name, **form}, files=files, headers=headers)


def test_a_name_already_on_sale_is_refused_unless_confirmed(api: TestClient, admin) -> None:
    assert post_product(api, admin.headers, "Banana").status_code == 201
    again = post_product(api, admin.headers, "Banana")
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_product_name"
    assert api.get("/api/products", headers=admin.headers).json()["total"] == 1
    confirmed = post_product(api, admin.headers, "Banana", allow_duplicate="true")
    assert confirmed.status_code == 201


def test_a_deactivated_products_name_is_free_again(api: TestClient, admin) -> None:
    old = post_product(api, admin.headers, "Banana").json()
    api.delete(f"/api/products/{old['product_id']}", headers=admin.headers)
    assert post_product(api, admin.headers, "Banana").status_code == 201


def test_a_removed_photo_leaves_the_product_the_index_and_the_disk(
    api: TestClient, admin, settings
) -> None:
    product_id = post_product(api, admin.headers, "Tomato", photos=3).json()["product_id"]
    images = api.get(f"/api/products/{product_id}", headers=admin.headers).json()["images"]
    files_before = sorted(settings.images_dir.rglob("*.*"))
    url = f"/api/products/{product_id}/images/{images[0]['id']}"

    response = api.delete(url, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["image_count"] == 2
    assert api.get(url, headers=admin.headers).status_code == 404
    remaining = api.get(f"/api/products/{product_id}", headers=admin.headers).json()["images"]
    assert [image["id"] for image in remaining] == [image["id"] for image in images[1:]]
    assert api.get("/api/health").json()["index_size"] == 2
    assert len(sorted(settings.images_dir.rglob("*.*"))) == len(files_before) - 1


def test_the_last_photo_stays(api: TestClient, admin) -> None:
    product_id = post_product(api, admin.headers, "Tomato").json()["product_id"]
    [image] = api.get(f"/api/products/{product_id}", headers=admin.headers).json()["images"]
    response = api.delete(f"/api/products/{product_id}/images/{image['id']}", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "last_photo"
    assert api.get("/api/health").json()["index_size"] == 1


def test_photos_are_removed_by_admins_and_only_from_their_own_product(
    api: TestClient, admin, shopper
) -> None:
    tomato = post_product(api, admin.headers, "Tomato", photos=2).json()["product_id"]
    other = post_product(api, admin.headers, "Cucumber", photos=2).json()["product_id"]
    [image, _] = api.get(f"/api/products/{tomato}", headers=admin.headers).json()["images"]
    url = f"/api/products/{tomato}/images/{image['id']}"
    assert api.delete(url, headers=shopper.headers).status_code == 403
    wrong = api.delete(f"/api/products/{other}/images/{image['id']}", headers=admin.headers)
    assert wrong.status_code == 404
    assert api.get("/api/health").json()["index_size"] == 4


def verdict_for(api: TestClient, headers: dict[str, str], colour: tuple[int, int, int]) -> str:
    files = {"image": ("q.png", photo(colour, seed=9), "image/png")}
    response = api.post("/api/recognize", files=files, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["verdict"]


def test_try_recognition_says_what_the_checkout_would_do(api: TestClient, admin) -> None:
    post_product(api, admin.headers, "Tomato", photos=2)
    # Clearly one product: counted as it.
    assert verdict_for(api, admin.headers, RED) == "accepted"
    # Far from every product (a hand, a wallet): not counted.
    assert verdict_for(api, admin.headers, GREEN) == "not_a_product"
    # Two products that look alike: counted, and the shopper is asked which.
    post_product(api, admin.headers, "Red pepper", photos=2)
    assert verdict_for(api, admin.headers, RED) == "unsure"
