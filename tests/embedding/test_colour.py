"""Colour descriptors of a crop: unit Hellinger histograms that tell colours apart."""

from __future__ import annotations

import numpy as np
import pytest

from ebrcs.embedding.colour import ab_histogram, hsv_histogram

DESCRIPTORS = [hsv_histogram, ab_histogram]


def filled(rgb: tuple[int, int, int], height: int = 40, width: int = 30) -> np.ndarray:
    return np.full((height, width, 3), rgb, np.uint8)


@pytest.mark.parametrize("describe", DESCRIPTORS)
def test_descriptor_is_a_unit_vector_of_fixed_length(describe) -> None:
    rng = np.random.default_rng(0)
    small, large = (
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(9, 13), (300, 200)]
    )
    first, second = describe(small), describe(large)
    assert first.shape == second.shape and first.dtype == np.float32
    np.testing.assert_allclose([np.linalg.norm(first), np.linalg.norm(second)], 1.0, atol=1e-6)
    assert (first >= 0).all()


@pytest.mark.parametrize("describe", DESCRIPTORS)
def test_one_colour_fills_one_bin_and_another_colour_another(describe) -> None:
    red, green = describe(filled((220, 30, 30))), describe(filled((30, 200, 40)))
    assert np.count_nonzero(red) == 1 and np.count_nonzero(green) == 1
    assert float(red @ green) == 0.0


@pytest.mark.parametrize("describe", DESCRIPTORS)
def test_same_crop_gives_the_same_descriptor(describe) -> None:
    image = np.random.default_rng(1).integers(0, 256, (64, 48, 3), dtype=np.uint8)
    np.testing.assert_array_equal(describe(image), describe(image.copy()))


def test_centre_ignores_the_border() -> None:
    image = filled((30, 200, 40), 100, 100)
    image[:15], image[-15:], image[:, :15], image[:, -15:] = 0, 0, 0, 0
    assert np.count_nonzero(hsv_histogram(image, centre=0.6)) == 1
    assert np.count_nonzero(hsv_histogram(image)) > 1


def test_centre_outside_the_unit_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="centre"):
        hsv_histogram(filled((1, 2, 3)), centre=0.0)
