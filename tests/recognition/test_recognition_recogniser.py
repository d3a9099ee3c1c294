"""The recogniser: embed, search the product index, rank and accept, per image."""

from __future__ import annotations

import uuid

import numpy as np

from ebrcs.catalog.index import ProductIndex
from ebrcs.recognition.recogniser import Recogniser

APPLE, PEAR, LEEK = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


class ColourEmbedder:
    """Embeds an image as its unit mean colour: enough to tell plain colours apart."""

    id = "mean-colour"
    dim = 3

    def embed(self, images):
        vectors = np.array([image.reshape(-1, 3).mean(axis=0) for image in images], np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def plain(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((16, 16, 3), rgb, dtype=np.uint8)


def make_recogniser(
    catalogue: list[tuple[uuid.UUID, tuple[int, int, int]]],
    *,
    top_k: int = 5,
    margin: float,
    prototype_weight: float = 0.0,
) -> Recogniser:
    embedder = ColourEmbedder()
    index = ProductIndex(embedder.dim, embedder_id=embedder.id)
    vectors = embedder.embed([plain(rgb) for _, rgb in catalogue])
    index.add(np.arange(1, len(catalogue) + 1), vectors, [product for product, _ in catalogue])
    return Recogniser(
        embedder,
        index,
        top_k=top_k,
        threshold=0.5,
        margin=margin,
        prototype_weight=prototype_weight,
    )


SHOP = [(APPLE, (200, 20, 20)), (APPLE, (190, 30, 25)), (PEAR, (20, 200, 20))]


def test_each_image_is_matched_to_the_product_that_looks_like_it() -> None:
    recogniser = make_recogniser(SHOP, margin=0.05)
    red, green = recogniser.recognise([plain((210, 15, 15)), plain((10, 220, 30))])
    assert red.accepted is not None and red.accepted.product_id == APPLE
    assert green.accepted is not None and green.accepted.product_id == PEAR
    assert [match.product_id for match in red.matches] == [APPLE, PEAR]


def test_ambiguous_image_is_ranked_but_not_accepted() -> None:
    (yellow,) = make_recogniser(SHOP, margin=0.05).recognise([plain((200, 200, 20))])
    assert len(yellow.matches) == 2
    assert yellow.accepted is None


def test_product_with_many_photos_cannot_hide_the_runner_up_from_the_margin_test() -> None:
    reds = [(APPLE, (200, 20 + i, 20)) for i in range(12)]
    recogniser = make_recogniser([*reds, (LEEK, (200, 60, 20))], top_k=1, margin=0.05)
    (reddish,) = recogniser.recognise([plain((200, 40, 20))])
    assert reddish.matches[0].product_id == APPLE
    assert reddish.accepted is None


def test_no_images_give_no_recognitions() -> None:
    assert make_recogniser(SHOP, margin=0.0).recognise([]) == []


def test_product_whose_photos_surround_the_image_beats_one_with_a_single_closer_photo() -> None:
    # Orange photographed from two sides: neither photo alone is as close as the satsuma's.
    orange = [(APPLE, (200, 70, 20)), (APPLE, (70, 200, 20))]
    catalogue = [*orange, (PEAR, (170, 100, 20))]
    image = plain((130, 130, 20))
    (by_photo,) = make_recogniser(catalogue, margin=0.0).recognise([image])
    (by_prototype,) = make_recogniser(catalogue, margin=0.0, prototype_weight=0.75).recognise(
        [image]
    )
    assert by_photo.matches[0].product_id == PEAR
    assert by_prototype.matches[0].product_id == APPLE


def test_many_near_duplicate_photos_do_not_outweigh_a_better_matching_product() -> None:
    duplicates = [(APPLE, (200, 90 + i % 3, 20)) for i in range(30)]
    catalogue = [*duplicates, (PEAR, (130, 130, 20))]
    (image,) = make_recogniser(catalogue, margin=0.0, prototype_weight=1.0).recognise(
        [plain((140, 125, 20))]
    )
    assert [match.product_id for match in image.matches] == [PEAR, APPLE]


def test_prototype_margin_rejects_an_image_between_two_products() -> None:
    recogniser = make_recogniser(SHOP, margin=0.05, prototype_weight=0.75)
    red, yellow = recogniser.recognise([plain((210, 15, 15)), plain((200, 200, 20))])
    assert red.accepted is not None and red.accepted.product_id == APPLE
    assert yellow.accepted is None
