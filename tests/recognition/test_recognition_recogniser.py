"""The recogniser: embed, search, rank and accept, per image."""

from __future__ import annotations

import uuid

import numpy as np

from ebrcs.recognition.recogniser import Recogniser
from ebrcs.recognition.types import Hit

APPLE, PEAR = uuid.uuid4(), uuid.uuid4()


class ColourEmbedder:
    """Embeds an image as its unit mean colour: enough to tell plain colours apart."""

    id = "mean-colour"
    dim = 3

    def embed(self, images):
        vectors = np.array([image.reshape(-1, 3).mean(axis=0) for image in images], np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class ExactIndex:
    """A brute-force inner-product index with the product index's search contract."""

    def __init__(self, vectors: np.ndarray, products: list[uuid.UUID]) -> None:
        self.vectors, self.products = vectors, products

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        scores = queries @ self.vectors.T
        order = np.argsort(-scores, axis=1)[:, :k]
        return [
            [Hit(int(i), self.products[i], float(row[i])) for i in ranked]
            for row, ranked in zip(scores, order, strict=True)
        ]


def plain(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((16, 16, 3), rgb, dtype=np.uint8)


def make_recogniser(margin: float) -> Recogniser:
    embedder = ColourEmbedder()
    catalogue = [plain((200, 20, 20)), plain((190, 30, 25)), plain((20, 200, 20))]
    index = ExactIndex(embedder.embed(catalogue), [APPLE, APPLE, PEAR])
    return Recogniser(embedder, index, top_k=5, threshold=0.5, margin=margin)


def test_each_image_is_matched_to_the_product_that_looks_like_it() -> None:
    red, green = make_recogniser(margin=0.05).recognise(
        [plain((210, 15, 15)), plain((10, 220, 30))]
    )
    assert red.accepted is not None and red.accepted.product_id == APPLE
    assert green.accepted is not None and green.accepted.product_id == PEAR
    assert [match.product_id for match in red.matches] == [APPLE, PEAR]


def test_ambiguous_image_is_ranked_but_not_accepted() -> None:
    (yellow,) = make_recogniser(margin=0.05).recognise([plain((200, 200, 20))])
    assert len(yellow.matches) == 2
    assert yellow.accepted is None


def test_no_images_give_no_recognitions() -> None:
    assert make_recogniser(margin=0.0).recognise([]) == []
