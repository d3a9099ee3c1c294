"""Bad registrations are refused with a clear 4xx, and nothing is written."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from catalog_fixtures import ColourEmbedder, photo
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from ebrcs.catalog.models import Product, ProductImage

RED = (200, 30, 30)


def bomb_png() -> bytes:
    """A tiny PNG whose header claims far more pixels than any limit allows."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_file(settings) -> bytes:
    return photo(RED) + b"\0" * settings.max_upload_bytes


def files_of(*blobs: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("images", (f"{i}.png", blob, "image/png")) for i, blob in enumerate(blobs)]


GOOD = photo(RED)
CASES: dict[str, tuple[dict[str, str], Callable[..., list], int]] = {
    "not an image": ({"name": "Tomato"}, lambda s: files_of(b"hello, not a picture"), 422),
    "truncated image": ({"name": "Tomato"}, lambda s: files_of(photo(RED, fmt="JPEG")[:200]), 422),
    "huge image": ({"name": "Tomato"}, lambda s: files_of(huge_file(s)), 413),
    "decompression bomb": ({"name": "Tomato"}, lambda s: files_of(bomb_png()), 413),
    "no images": ({"name": "Tomato"}, lambda s: [], 422),
    "four images": ({"name": "Tomato"}, lambda s: files_of(GOOD, GOOD, GOOD, GOOD), 422),
    "one bad among good": ({"name": "Tomato"}, lambda s: files_of(GOOD, b"junk"), 422),
    "empty name": ({"name": "   "}, lambda s: files_of(GOOD), 422),
    "500-character name": ({"name": "x" * 500}, lambda s: files_of(GOOD), 422),
    "negative price": ({"name": "Tomato", "price": "-1"}, lambda s: files_of(GOOD), 422),
    "price with fractions of a cent": (
        {"name": "Tomato", "price": "1.001"},
        lambda s: files_of(GOOD),
        422,
    ),
}


def stored_state(client: TestClient, images_dir: Path) -> tuple[int, int, int, list[Path]]:
    with client.app.state.runtime.sessions() as db:
        products = db.scalar(select(func.count()).select_from(Product))
        images = db.scalar(select(func.count()).select_from(ProductImage))
    files = sorted(images_dir.rglob("*")) if images_dir.exists() else []
    return products, images, client.app.state.runtime.index.ntotal, files


@pytest.mark.parametrize("case", CASES)
def test_bad_registration_is_refused_and_writes_nothing(
    case: str, colour_embedder: ColourEmbedder, client: TestClient, admin, settings
) -> None:
    form, files, expected_status = CASES[case]
    before = stored_state(client, settings.images_dir)
    response = client.post("/api/products", data=form, files=files(settings), headers=admin.headers)
    assert response.status_code == expected_status, response.text
    assert response.json()["detail"]
    assert stored_state(client, settings.images_dir) == before


def test_shopper_cannot_register_products(
    colour_embedder: ColourEmbedder, client: TestClient, shopper, settings
) -> None:
    before = stored_state(client, settings.images_dir)
    response = client.post(
        "/api/products", data={"name": "Tomato"}, files=files_of(GOOD), headers=shopper.headers
    )
    assert response.status_code == 403
    assert (
        client.post("/api/products", data={"name": "Tomato"}, files=files_of(GOOD)).status_code
        == 401
    )
    assert stored_state(client, settings.images_dir) == before


def test_shopper_cannot_change_or_deactivate_products(
    colour_embedder: ColourEmbedder, client: TestClient, admin, shopper
) -> None:
    created = client.post(
        "/api/products", data={"name": "Tomato"}, files=files_of(GOOD), headers=admin.headers
    ).json()
    url = f"/api/products/{created['product_id']}"
    assert client.patch(url, json={"name": "Nope"}, headers=shopper.headers).status_code == 403
    assert client.delete(url, headers=shopper.headers).status_code == 403
    assert client.get(url, headers=shopper.headers).json()["name"] == "Tomato"


def test_bad_update_is_refused(colour_embedder: ColourEmbedder, client: TestClient, admin) -> None:
    created = client.post(
        "/api/products", data={"name": "Tomato"}, files=files_of(GOOD), headers=admin.headers
    ).json()
    url = f"/api/products/{created['product_id']}"
    for body in ({"price": "-2"}, {"name": ""}, {"name": None}, {"colour": "red"}):
        assert client.patch(url, json=body, headers=admin.headers).status_code == 422, body
    assert client.get(url, headers=admin.headers).json()["name"] == "Tomato"


def test_recognising_a_non_image_is_a_clear_error(
    colour_embedder: ColourEmbedder, client: TestClient, shopper
) -> None:
    files = {"image": ("q.png", b"not an image", "image/png")}
    response = client.post("/api/recognize", files=files, headers=shopper.headers)
    assert response.status_code == 422
    empty = np.zeros((4, 4, 3), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(empty).save(buffer, format="PNG")
    files = {"image": ("tiny.png", buffer.getvalue(), "image/png")}
    assert client.post("/api/recognize", files=files, headers=shopper.headers).status_code == 422
