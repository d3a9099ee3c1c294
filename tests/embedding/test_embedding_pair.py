"""The MobileNetV2 + EfficientNet-Lite2 pair embedder and its EfficientNet-Lite2 half."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ebrcs.config import Settings
from ebrcs.embedding.efficientnet import CROP_SIZE, RESIZE_SHORT_SIDE, to_batch
from ebrcs.embedding.mobilenet import centre_crop
from ebrcs.embedding.pair import ConcatenatedEmbedder
from ebrcs.embedding.registry import load_embedder


def photo(seed: int, height: int = 120, width: int = 160) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    image[height // 4 : height // 2, width // 4 : width // 2] = rng.integers(0, 256, 3)
    return image


@pytest.fixture(scope="module")
def pair():
    return load_embedder(Settings(embedder="mnv2_effl2", device="cpu"))


def test_pair_gives_unit_vectors_of_both_dimensions(pair) -> None:
    vectors = pair.embed([photo(1), photo(2, 300, 90), photo(3, 20, 20)])
    assert pair.id == "mnv2_effl2" and pair.dim == 2560
    assert vectors.shape == (3, 2560) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_pair_is_each_part_unit_vector_side_by_side(pair) -> None:
    images = [photo(4), photo(5)]
    mobilenet, efficientnet = (part.embed(images) for part in pair.parts)
    np.testing.assert_allclose(np.linalg.norm(efficientnet, axis=1), 1.0, atol=1e-5)
    expected = np.hstack([mobilenet, efficientnet]) / np.sqrt(2)
    np.testing.assert_allclose(pair.embed(images), expected, atol=1e-5)
    # The pair's cosine is the mean of its parts' cosines.
    both = pair.embed(images)
    parts = (mobilenet[0] @ mobilenet[1] + efficientnet[0] @ efficientnet[1]) / 2
    assert float(both[0] @ both[1]) == pytest.approx(float(parts), abs=1e-5)


def test_efficientnet_half_tells_images_apart_the_same_alone_or_batched(pair) -> None:
    efficientnet = pair.parts[1]
    assert efficientnet.id == "efficientnet_lite2"
    alone = efficientnet.embed([photo(7)])
    batched = efficientnet.embed([photo(8), photo(7)])
    np.testing.assert_allclose(alone[0], batched[1], atol=1e-5)
    assert float(batched[0] @ batched[1]) < 0.999


def test_efficientnet_half_frozen_gives_the_vectors_of_its_model(pair) -> None:
    efficientnet, images = pair.parts[1], [photo(10), photo(11, 90, 200)]
    crops = [centre_crop(i, short_side=RESIZE_SHORT_SIDE, size=CROP_SIZE) for i in images]
    with torch.inference_mode():
        maps = efficientnet.model.extract_features(to_batch(crops))
    expected = torch.nn.functional.normalize(maps.mean(dim=(2, 3)), dim=1).numpy()
    np.testing.assert_allclose(efficientnet.embed(images), expected, atol=1e-5)


def test_a_pair_needs_two_parts(pair) -> None:
    with pytest.raises(ValueError, match="two parts"):
        ConcatenatedEmbedder("one", pair.parts[:1])


def test_pair_with_colour_is_the_pair_beside_a_quarter_weight_colour_histogram(pair) -> None:
    with_colour = load_embedder(Settings(embedder="mnv2_effl2_hsv", device="cpu"))
    images = [photo(12), photo(13, 64, 200)]
    colour = with_colour.parts[1].embed(images)
    assert with_colour.id == "mnv2_effl2_hsv" and with_colour.dim == 2560 + colour.shape[1]
    expected = np.hstack([pair.embed(images), 0.25 * colour])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(with_colour.embed(images), expected, atol=1e-5)


def test_concatenated_parts_need_one_positive_weight_each(pair) -> None:
    with pytest.raises(ValueError, match="weight"):
        ConcatenatedEmbedder("x", pair.parts, weights=(1.0,))
    with pytest.raises(ValueError, match="weight"):
        ConcatenatedEmbedder("x", pair.parts, weights=(1.0, 0.0))
