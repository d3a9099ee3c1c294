"""Augmented views of a registered photo: how the same product may look at the counter.

Each view is one random affine warp (a resized crop, or the whole photo shrunk and pasted on a
counter-like background; rotated, maybe mirrored) followed by light and colour changes, blur
and sensor noise. Everything is drawn from the generator passed in, so a seed fixes the views.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

VIEW_SIZE = 256
PASTE_CHANCE = 0.35
FLIP_CHANCE = 0.5
BLUR_CHANCE = 0.3
NOISE_CHANCE = 0.3
MAX_ROTATION_DEGREES = 20.0
CROP_AREA = (0.35, 1.0)
CROP_ASPECT = (3 / 4, 4 / 3)
PASTE_SIZE = (0.55, 0.9)
JITTER = 0.3  # brightness, contrast and saturation factors within 1 +- JITTER
HUE_SHIFT = 3  # OpenCV hue units (2 degrees each): hue tells varieties apart
CHANNEL_GAIN = 0.08  # white balance: each channel's gain within 1 +- CHANNEL_GAIN
# Counter tops, belts and trays: greys, whites, dark belts, light and dark wood.
COUNTER_COLOURS = np.array(
    [[128, 128, 128], [200, 200, 200], [235, 235, 230], [40, 40, 45], [160, 120, 80], [95, 65, 40]],
    dtype=np.float32,
)


def augmented_view(
    image: np.ndarray, rng: np.random.Generator, size: int = VIEW_SIZE
) -> np.ndarray:
    """One random ``size`` x ``size`` RGB view of ``image`` (``H x W x 3`` uint8)."""
    height, width = image.shape[:2]
    angle = math.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    mirror = -1.0 if rng.random() < FLIP_CHANCE else 1.0
    if rng.random() < PASTE_CHANCE:
        scale = rng.uniform(*PASTE_SIZE) * size / max(height, width)
        scale_x = scale_y = scale
        centre = (width / 2, height / 2)
        slack = size * (1 - rng.uniform(*PASTE_SIZE)) / 2
        target = (size / 2 + rng.uniform(-slack, slack), size / 2 + rng.uniform(-slack, slack))
        canvas = counter_background(rng, size)
        border = cv2.BORDER_TRANSPARENT
    else:
        area = rng.uniform(*CROP_AREA) * height * width
        aspect = math.exp(rng.uniform(math.log(CROP_ASPECT[0]), math.log(CROP_ASPECT[1])))
        crop_w = min(width, math.sqrt(area * aspect))
        crop_h = min(height, math.sqrt(area / aspect))
        centre = (
            rng.uniform(crop_w / 2, width - crop_w / 2),
            rng.uniform(crop_h / 2, height - crop_h / 2),
        )
        scale_x, scale_y = size / crop_w, size / crop_h
        target = (size / 2, size / 2)
        canvas = np.zeros((size, size, 3), np.uint8)
        border = cv2.BORDER_REFLECT_101
    matrix = _affine(centre, target, angle, mirror * scale_x, scale_y)
    view = cv2.warpAffine(
        image, matrix, (size, size), dst=canvas, flags=cv2.INTER_LINEAR, borderMode=border
    )
    return _photometric(view, rng)


def counter_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A counter-like surface: a base colour, a soft light gradient and fine texture."""
    base = COUNTER_COLOURS[rng.integers(len(COUNTER_COLOURS))] * rng.uniform(0.8, 1.2)
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    direction = rng.uniform(0, 2 * math.pi)
    gradient = math.cos(direction) * ramp[None, :] + math.sin(direction) * ramp[:, None]
    light = 1.0 + rng.uniform(0.0, 0.25) * gradient
    texture = rng.normal(0.0, rng.uniform(2.0, 10.0), (size, size, 1)).astype(np.float32)
    surface = base[None, None, :] * light[:, :, None] + texture
    return np.clip(surface, 0, 255).astype(np.uint8)


def _affine(
    centre: tuple[float, float],
    target: tuple[float, float],
    angle: float,
    scale_x: float,
    scale_y: float,
) -> np.ndarray:
    """The 2 x 3 map: move ``centre`` to the origin, scale, rotate, move to ``target``."""
    cos, sin = math.cos(angle), math.sin(angle)
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.diag([scale_x, scale_y])
    offset = np.array(target) - linear @ np.array(centre)
    return np.hstack([linear, offset[:, None]]).astype(np.float32)


def _photometric(view: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, saturation, hue and white balance jitter; then blur and noise."""
    hsv = cv2.cvtColor(view, cv2.COLOR_RGB2HSV)
    hue = hsv[:, :, 0].astype(np.int16) + int(rng.integers(-HUE_SHIFT, HUE_SHIFT + 1))
    hsv[:, :, 0] = np.mod(hue, 180).astype(np.uint8)
    pixels = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + rng.uniform(1 - JITTER, 1 + JITTER) * (pixels - grey)
    pixels = pixels.mean() + rng.uniform(1 - JITTER, 1 + JITTER) * (pixels - pixels.mean())
    gains = rng.uniform(1 - CHANNEL_GAIN, 1 + CHANNEL_GAIN, 3) * rng.uniform(1 - JITTER, 1 + JITTER)
    pixels *= gains.astype(np.float32)
    if rng.random() < BLUR_CHANCE:
        pixels = cv2.GaussianBlur(pixels, (0, 0), rng.uniform(0.5, 1.8))
    if rng.random() < NOISE_CHANCE:
        pixels += rng.normal(0.0, rng.uniform(2.0, 8.0), pixels.shape).astype(np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)
