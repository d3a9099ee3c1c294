"""Fitting an adapter on registered photos: its mechanics on a thumbnail embedder, then once
with a real backbone."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ebrcs.adaptation import AdapterConfig, FitDeadlineExceeded, fit_adapter
from ebrcs.adaptation.fit import fit_on_vectors, views_per_photo
from ebrcs.config import Settings
from ebrcs.embedding.registry import load_embedder

SMALL = AdapterConfig(views_per_photo=2, dim=3)


def product_photo(kind: int, seed: int) -> np.ndarray:
    """One of four clearly different products, each photo slightly different."""
    rng = np.random.default_rng(seed)
    image = rng.normal(128, 20, (96, 96, 3))
    colour = np.array([[230, 40, 40], [40, 200, 60], [50, 60, 230], [230, 210, 40]][kind])
    y, x = np.mgrid[0:96, 0:96]
    shapes = [
        (y // 12) % 2 == 0,
        ((x // 16) + (y // 16)) % 2 == 0,
        (x - 48) ** 2 + (y - 48) ** 2 < 900,
    ]
    image[shapes[kind % 3] if kind < 3 else (x > 20) & (x < 76)] = colour
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


class ThumbnailEmbedder:
    """Each image shrunk to 6 x 6 pixels, centred and made unit: instant, and tells the four
    products apart (each has its own colour and pattern)."""

    id = "test-thumbnail"
    dim = 6 * 6 * 3

    def embed(self, images) -> np.ndarray:
        rows = [cv2.resize(image, (6, 6), interpolation=cv2.INTER_AREA) for image in images]
        flat = np.array(rows, np.float32).reshape(len(rows), self.dim)
        flat -= flat.mean(axis=1, keepdims=True)
        return flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)


@pytest.fixture(scope="module")
def embedder() -> ThumbnailEmbedder:
    return ThumbnailEmbedder()


@pytest.fixture(scope="module")
def catalogue() -> dict[str, list[np.ndarray]]:
    return {f"product-{k}": [product_photo(k, 10 * k + n) for n in range(2)] for k in range(4)}


@pytest.fixture(scope="module")
def fitted(embedder, catalogue):
    """One fit shared by the tests that only read it, with the progress it reported."""
    steps: list[tuple[int, int]] = []
    adapter = fit_adapter(
        catalogue, embedder, config=SMALL, progress=lambda done, total: steps.append((done, total))
    )
    return adapter, steps


def test_fit_is_deterministic_for_a_seed(embedder, catalogue, fitted) -> None:
    again = fit_adapter(dict(reversed(catalogue.items())), embedder, config=SMALL)
    other = fit_adapter(catalogue, embedder, seed=1, config=SMALL)
    assert again.to_bytes() == fitted[0].to_bytes()
    assert other.version != fitted[0].version


def test_fitted_adapter_names_its_backbone_and_maps_to_unit_vectors(embedder, fitted) -> None:
    adapter, steps = fitted
    assert adapter.backbone_id == embedder.id and adapter.input_dim == embedder.dim
    assert adapter.dim == SMALL.dim
    out = adapter.transform(embedder.embed([product_photo(0, 99)]))
    assert out.shape == (1, SMALL.dim)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert steps == [(done, 8) for done in range(1, 9)]
    assert dict(adapter.details)["views_per_photo"] == 2


@pytest.mark.slow  # the first backward pass of a process costs seconds
def test_a_trained_head_reports_each_epoch_as_a_step(embedder, catalogue) -> None:
    steps: list[tuple[int, int]] = []
    config = AdapterConfig(views_per_photo=2, dim=3, head_epochs=2, batch_size=16)
    adapter = fit_adapter(catalogue, embedder, config=config, progress=lambda *s: steps.append(s))
    assert steps == [(done, 10) for done in range(1, 11)]
    assert adapter.dim == 3


@pytest.mark.slow
def test_with_a_real_backbone_an_adapted_new_photo_is_nearest_its_own_product(catalogue) -> None:
    embedder = load_embedder(Settings(embedder="mobilenet_v2", device="cpu"))
    adapter = fit_adapter(catalogue, embedder, config=SMALL)
    assert adapter.backbone_id == "mobilenet_v2" and adapter.input_dim == embedder.dim
    keys = sorted(catalogue)
    refs = adapter.transform(embedder.embed([catalogue[key][0] for key in keys]))
    queries = adapter.transform(embedder.embed([product_photo(k, 500 + k) for k in range(4)]))
    assert list((queries @ refs.T).argmax(axis=1)) == [0, 1, 2, 3]


def test_photos_may_be_paths_and_stored_vectors_are_not_embedded_again(
    embedder, catalogue, fitted, tmp_path: Path
) -> None:
    paths, raw = {}, {}
    for key, photos in catalogue.items():
        paths[key] = []
        for number, image in enumerate(photos):
            path = tmp_path / f"{key}-{number}.png"
            Image.fromarray(image).save(path)
            paths[key].append(path)
        raw[key] = embedder.embed(photos)
    raw["imported"] = raw["product-0"][:1] * 0.5 + raw["product-1"][:1] * 0.5
    from_paths = fit_adapter(paths, embedder, raw_by_product=raw, config=SMALL)
    assert dict(from_paths.details)["products"] == 5
    assert fitted[0].version != from_paths.version


def test_fit_past_its_deadline_is_abandoned(embedder, catalogue) -> None:
    with pytest.raises(FitDeadlineExceeded, match="deadline"):
        fit_adapter(catalogue, embedder, config=SMALL, deadline_seconds=0)


def test_fit_needs_two_products(embedder, catalogue) -> None:
    with pytest.raises(ValueError, match="at least two products"):
        fit_adapter({"only": catalogue["product-0"], "empty": []}, embedder, config=SMALL)
    with pytest.raises(ValueError, match="at least two products"):
        fit_on_vectors(np.ones((3, 4)), np.zeros(3), backbone_id="b")


def test_big_catalogues_get_fewer_views_within_the_bound() -> None:
    config = AdapterConfig(views_per_photo=12, max_views=24_000)
    assert views_per_photo(243, config) == 12
    assert views_per_photo(15_000, config) == 1
    assert views_per_photo(30_000, config) == 0
