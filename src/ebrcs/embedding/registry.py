"""Building the configured embedder, once per process and configuration."""

from __future__ import annotations

import threading

import torch

from ebrcs.config import Settings
from ebrcs.embedding.base import Embedder
from ebrcs.embedding.colour import CentreColourEmbedder
from ebrcs.embedding.device import resolve_device
from ebrcs.embedding.efficientnet import EfficientNetLite2Embedder
from ebrcs.embedding.mobilenet import MobileNetV2Embedder
from ebrcs.embedding.pair import ConcatenatedEmbedder

EMBEDDERS = ("mobilenet_v2", "mnv2_effl2", "mnv2_effl2_hsv", "dino_clip")

HSV_WEIGHT = 0.25
"""The colour histogram's weight beside the pair's unit vector (0.25-0.5 measured alike)."""

_loaded: dict[tuple[str, ...], Embedder] = {}
_lock = threading.Lock()


def _build(settings: Settings) -> Embedder:
    if settings.embed_threads:
        torch.set_num_threads(settings.embed_threads)
    device = resolve_device(settings.device)
    if settings.embedder == "mobilenet_v2":
        return MobileNetV2Embedder(device)
    if settings.embedder in ("mnv2_effl2", "mnv2_effl2_hsv"):
        parts = (MobileNetV2Embedder(device), EfficientNetLite2Embedder(device))
        pair = ConcatenatedEmbedder("mnv2_effl2", parts)
        if settings.embedder == "mnv2_effl2":
            return pair
        # The crop's colours beside the pair, at a quarter of its weight (docs/PERFORMANCE.md,
        # "Colour beside the pair"): ImageNet features are trained to ignore colour.
        return ConcatenatedEmbedder(
            "mnv2_effl2_hsv", (pair, CentreColourEmbedder()), weights=(1.0, HSV_WEIGHT)
        )
    if settings.embedder == "dino_clip":
        # Imported here so that the default embedder never pays for importing transformers.
        from ebrcs.embedding.dino_clip import DinoClipEmbedder

        return DinoClipEmbedder(
            dino_model=settings.dino_model, clip_model=settings.clip_model, device=device
        )
    raise ValueError(f"unknown embedder {settings.embedder!r}; choose one of {EMBEDDERS}")


def load_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.embedder`` names, loaded once and shared by every caller."""
    key = (settings.embedder, settings.device, str(settings.dino_model), str(settings.clip_model))
    with _lock:
        if key not in _loaded:
            _loaded[key] = _build(settings)
        return _loaded[key]
