"""Registration and recognition with a real embedder (the tests' MobileNetV2) on shop photos."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ebrcs.embedding.registry import load_embedder

PRODUCTS = {
    "Banana": "Fruit/Banana/Banana_{:03d}.jpg",
    "Arla Milk": (
        "Packages/Milk/Arla-Ecological-Medium-Fat-Milk/Arla-Ecological-Medium-Fat-Milk_{:03d}.jpg"
    ),
    "Red Bell Pepper": "Vegetables/Pepper/Red-Bell-Pepper/Red-Bell-Pepper_{:03d}.jpg",
}


@pytest.mark.dataset
def test_real_embedder_recognises_a_new_photo_of_a_registered_product(
    dataset_dir: Path, client: TestClient, admin, shopper, settings
) -> None:
    ids = {}
    for name, pattern in PRODUCTS.items():
        files = [
            ("images", (f"{i}.jpg", (dataset_dir / "train" / pattern.format(i)).read_bytes()))
            for i in (1, 2, 3)
        ]
        response = client.post(
            "/api/products", data={"name": name}, files=files, headers=admin.headers
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["product_id"]
    health = client.get("/api/health").json()
    assert health["embedder"] == load_embedder(settings).id
    assert health["index_size"] == 9
    for name, pattern in PRODUCTS.items():
        query = (dataset_dir / "val" / pattern.format(1)).read_bytes()
        response = client.post(
            "/api/recognize", files={"image": ("q.jpg", query)}, headers=shopper.headers
        )
        assert response.json()["matches"][0]["product_id"] == ids[name], name
