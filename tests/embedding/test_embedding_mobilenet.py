"""The default MobileNetV2 embedder and the embedder registry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from ebrcs.config import Settings
from ebrcs.embedding.frozen import freeze_for_inference
from ebrcs.embedding.mobilenet import centre_crop, to_batch
from ebrcs.embedding.registry import load_embedder


def photo(seed: int, height: int = 120, width: int = 160) -> np.ndarray:
    """A small random RGB photo with some structure (a coloured block on noise)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    image[height // 4 : height // 2, width // 4 : width // 2] = rng.integers(0, 256, 3)
    return image


@pytest.fixture(scope="module")
def embedder():
    return load_embedder(Settings(embedder="mobilenet_v2", device="cpu"))


def test_vectors_are_unit_length_of_declared_dimension(embedder) -> None:
    vectors = embedder.embed([photo(1), photo(2, 300, 90), photo(3, 20, 20)])
    assert vectors.shape == (3, embedder.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_same_image_gives_same_vector_alone_or_in_a_batch(embedder) -> None:
    alone = embedder.embed([photo(7)])
    batched = embedder.embed([photo(8), photo(7), photo(9)])
    np.testing.assert_allclose(alone[0], batched[1], atol=1e-5)


def test_different_images_give_different_vectors(embedder) -> None:
    vectors = embedder.embed([photo(1), photo(2)])
    assert float(vectors[0] @ vectors[1]) < 0.999


def test_empty_input_gives_empty_array(embedder) -> None:
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_non_rgb_input_is_refused(embedder) -> None:
    with pytest.raises(ValueError, match="RGB"):
        embedder.embed([np.zeros((10, 10), dtype=np.uint8)])


def test_embedder_is_loaded_once_per_configuration(embedder) -> None:
    assert load_embedder(Settings(embedder="mobilenet_v2", device="cpu")) is embedder


def test_unknown_embedder_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        load_embedder(Settings(embedder="resnet9000"))


def test_concurrent_calls_give_the_same_vectors_as_one_at_a_time(embedder) -> None:
    images = [photo(seed) for seed in range(8)]
    expected = embedder.embed(images)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda image: embedder.embed([image])[0], images))
    np.testing.assert_allclose(np.stack(results), expected, atol=1e-5)


def test_frozen_graph_gives_the_vectors_of_the_model_it_was_traced_from(embedder) -> None:
    images = [photo(seed) for seed in range(3)]
    with torch.inference_mode():
        eager = embedder.model(to_batch([centre_crop(image) for image in images]))
    expected = torch.nn.functional.normalize(eager, dim=1).numpy()
    np.testing.assert_allclose(embedder.embed(images), expected, atol=1e-5)


def test_freezing_folds_batch_norms_without_changing_outputs() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU6(), torch.nn.Flatten()
    )
    model[1].running_mean.uniform_(-1, 1)
    model[1].running_var.uniform_(0.5, 2)
    frozen = freeze_for_inference(model, torch.rand(1, 3, 6, 6))
    assert "batch_norm" not in str(frozen.graph)
    batch = torch.rand(3, 3, 6, 6)
    with torch.inference_mode():
        torch.testing.assert_close(frozen(batch), model.eval()(batch), atol=1e-5, rtol=1e-5)
