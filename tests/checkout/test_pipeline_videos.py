"""End to end on dataset photos: the real embedder and index, synthetic checkout videos."""

from __future__ import annotations

import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from checkout_videos import load_photos, make_video
from ebrcs.catalog.index import ProductIndex
from ebrcs.checkout.models import EventKind
from ebrcs.checkout.pipeline import CheckoutPipeline, PipelineConfig
from ebrcs.config import Settings
from ebrcs.embedding.registry import load_embedder
from ebrcs.recognition.recogniser import Recogniser

PRODUCTS = ("Banana", "Carrots", "Oatly-Oat-Milk", "Red-Bell-Pepper", "Kiwi", "Zucchini")

pytestmark = [pytest.mark.dataset, pytest.mark.slow]


@pytest.mark.parametrize(("scenario", "seed"), [("same_twice", 2), ("two_at_once", 1)])
def test_synthetic_video_of_registered_photos_gives_its_true_cart(
    dataset_dir: Path, scenario: str, seed: int
) -> None:
    photos = [p for p in load_photos(dataset_dir, "train.txt") if p.label in PRODUCTS]
    registered = [next(p for p in photos if p.label == label) for label in PRODUCTS]
    settings = Settings()
    embedder = load_embedder(settings)
    index = ProductIndex(embedder.dim, "flat", embedder_id=embedder.id)
    ids = {label: uuid.uuid5(uuid.NAMESPACE_URL, label) for label in PRODUCTS}
    images = [cv2.cvtColor(cv2.imread(str(p.path)), cv2.COLOR_BGR2RGB) for p in registered]
    index.add(np.arange(1, 7), embedder.embed(images), [ids[p.label] for p in registered])
    recogniser = Recogniser(
        embedder, index, top_k=3, threshold=0.5, margin=0.0, prototype_weight=0.0
    )
    video = make_video(scenario, seed=seed, photos=registered, size=(480, 270))

    pipeline = CheckoutPipeline(recogniser, PipelineConfig(), video.roi)
    names = {product_id: label for label, product_id in ids.items()}
    added = [
        names[event.product_id]
        for index, frame in enumerate(video.frames())
        for event in pipeline.process(frame, index / video.fps).events
        if event.kind == EventKind.ADD
    ]
    assert sorted(added) == sorted(video.true_cart.elements())
