"""Augmented views of a registered photo."""

from __future__ import annotations

import numpy as np

from ebrcs.adaptation.views import VIEW_SIZE, augmented_view, counter_background


def photo(height: int = 90, width: int = 140) -> np.ndarray:
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image[20:60, 30:90] = (220, 30, 40)
    return image


def test_views_are_square_rgb_of_the_view_size() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        view = augmented_view(photo(), rng)
        assert view.shape == (VIEW_SIZE, VIEW_SIZE, 3) and view.dtype == np.uint8


def test_views_are_the_same_for_a_seed_and_differ_between_draws() -> None:
    first = [augmented_view(photo(), np.random.default_rng([3, 1])) for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])
    rng = np.random.default_rng([3, 1])
    assert not np.array_equal(augmented_view(photo(), rng), augmented_view(photo(), rng))


def test_views_keep_the_product_colour_within_jitter() -> None:
    """Mostly red in, mostly red out: views vary the photo, they do not repaint it."""
    red = np.zeros((100, 100, 3), np.uint8)
    red[..., 0] = 200
    rng = np.random.default_rng(1)
    for _ in range(10):
        view = augmented_view(red, rng).astype(float)
        centre = view[96:160, 96:160].reshape(-1, 3).mean(axis=0)
        assert centre[0] > 2 * max(centre[1], centre[2])


def test_counter_background_is_a_plain_surface() -> None:
    surface = counter_background(np.random.default_rng(2), 64)
    assert surface.shape == (64, 64, 3)
    assert surface.astype(float).std(axis=(0, 1)).max() < 40
