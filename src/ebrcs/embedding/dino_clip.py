"""The original fusion: DINO CLS and CLIP image embeddings, from local model files only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoImageProcessor, AutoModel, CLIPVisionModelWithProjection

from ebrcs.embedding.base import EmbedderUnavailable, embed_in_batches

logger = logging.getLogger(__name__)

DINO_WEIGHT = 0.7
CLIP_WEIGHT = 0.3
BATCH_SIZE = 16


def _load(setting: str, model: str, loader: type) -> tuple[object, object]:
    """Load a model and its image processor from a local folder or the local HF cache only."""
    try:
        # local_files_only: a missing model must fail here, never start a download.
        processor = AutoImageProcessor.from_pretrained(model, local_files_only=True)
        network = loader.from_pretrained(model, local_files_only=True)
    except (OSError, ValueError) as error:
        raise EmbedderUnavailable(
            f"{setting}={model!r} is neither a model folder nor in the local Hugging Face cache"
            f" (nothing is downloaded): {error}"
        ) from error
    return processor, network.eval()


def _unit(features: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(features.float(), dim=1)


class DinoClipEmbedder:
    """DINO CLS (weight 0.7) and CLIP image (weight 0.3) embeddings, concatenated, L2-normalised."""

    def __init__(self, *, dino_model: str | None, clip_model: str | None, device: torch.device):
        unset = [
            name
            for name, value in (("EBRCS_DINO_MODEL", dino_model), ("EBRCS_CLIP_MODEL", clip_model))
            if not value
        ]
        if unset:
            raise EmbedderUnavailable(
                f"the dino_clip embedder needs local model folders: set {' and '.join(unset)}"
            )
        self.device = device
        self.dino_processor, dino = _load("EBRCS_DINO_MODEL", str(dino_model), AutoModel)
        self.clip_processor, clip = _load(
            "EBRCS_CLIP_MODEL", str(clip_model), CLIPVisionModelWithProjection
        )
        self.dino, self.clip = dino.to(device), clip.to(device)
        self.dim = dino.config.hidden_size + clip.config.projection_dim
        self.id = f"dino_clip:{Path(str(dino_model)).name}+{Path(str(clip_model)).name}"
        logger.info("dino_clip embedder %s (%d-d) on %s", self.id, self.dim, device)

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Embed RGB uint8 images into ``[n, dim]`` unit vectors, ``BATCH_SIZE`` at a time."""
        return embed_in_batches(images, dim=self.dim, batch_size=BATCH_SIZE, forward=self._forward)

    def _forward(self, images: list[np.ndarray]) -> np.ndarray:
        dino_pixels = self.dino_processor(images=images, return_tensors="pt")["pixel_values"]
        clip_pixels = self.clip_processor(images=images, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            dino = self.dino(pixel_values=dino_pixels.to(self.device)).last_hidden_state[:, 0]
            clip = self.clip(pixel_values=clip_pixels.to(self.device)).image_embeds
            fused = torch.cat([DINO_WEIGHT * _unit(dino), CLIP_WEIGHT * _unit(clip)], dim=1)
        return _unit(fused).cpu().numpy()
