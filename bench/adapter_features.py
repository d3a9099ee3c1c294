"""Cache backbone features of the Grocery Store photos and of augmented views of the train photos.

    python bench/adapter_features.py --root ../shared/datasets/grocery-store --backbone mnv2
    python bench/adapter_features.py --root ../shared/datasets/grocery-store --backbone effl2

Writes ``<out>/<backbone>_plain.npy`` (train.txt then val.txt rows), ``<backbone>_views<K>.npy``
(``[photos, views, dim]`` for the first ``K`` train photos of each product, ``K`` 0 = all) and
``labels.npz``; ``bench/adapter_accuracy.py`` fits and scores adapters on them in seconds. The
views are those ``ebrcs.adaptation.views`` draws, seeded by (seed, train row), the same for
every backbone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ebrcs.adaptation.views import augmented_view
from ebrcs.embedding.efficientnet import EfficientNetLite2Embedder
from ebrcs.embedding.mobilenet import MobileNetV2Embedder
from ebrcs.evaluation.recognition import first_per_class, read_list

BACKBONES = {"mnv2": MobileNetV2Embedder, "effl2": EfficientNetLite2Embedder}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--backbone", choices=sorted(BACKBONES), required=True)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ebrcs-features"))
    parser.add_argument("--shots", type=int, default=3, help="train photos per product with views")
    parser.add_argument("--views", type=int, default=24, help="views per photo")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    train = read_list(args.root / "train.txt", args.root)
    val = read_list(args.root / "val.txt", args.root)
    photos = train + val
    np.savez(
        args.out / "labels.npz",
        fine=np.array([int(p.fine) for p in photos]),
        coarse=np.array([int(p.coarse or -1) for p in photos]),
        n_train=len(train),
    )
    embedder = BACKBONES[args.backbone](torch.device("cpu"))
    plain = args.out / f"{args.backbone}_plain.npy"
    if not plain.exists():
        began = time.perf_counter()
        images = [np.asarray(Image.open(p.path).convert("RGB")) for p in photos]
        np.save(plain, embedder.embed(images))
        print(f"{args.backbone} plain: {len(images)} photos in {time.perf_counter() - began:.0f} s")
    chosen = set(map(id, first_per_class(train, args.shots)))
    rows = [row for row, photo in enumerate(train) if id(photo) in chosen]
    began = time.perf_counter()
    features = np.empty((len(rows), args.views, embedder.dim), np.float32)
    for n, row in enumerate(rows):
        image = np.asarray(Image.open(train[row].path).convert("RGB"))
        rng = np.random.default_rng([args.seed, row])
        features[n] = embedder.embed([augmented_view(image, rng) for _ in range(args.views)])
        if n % 50 == 0:
            print(f"{args.backbone} views: {n}/{len(rows)} {time.perf_counter() - began:.0f} s")
    np.save(args.out / f"{args.backbone}_views{args.shots}.npy", features)
    np.save(args.out / f"views{args.shots}_rows.npy", np.array(rows))
    print(f"{args.backbone} views: {features.shape} in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
