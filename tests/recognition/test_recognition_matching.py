"""Ranking products from neighbour hits, and accepting or rejecting the best."""

from __future__ import annotations

import uuid

import pytest

from ebrcs.recognition.matching import accept, rank_products
from ebrcs.recognition.types import Hit, ProductMatch

APPLE, PEAR, LEEK = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_product_with_several_photos_is_ranked_once_by_its_best_photo() -> None:
    hits = [Hit(1, APPLE, 0.9), Hit(2, PEAR, 0.8), Hit(3, APPLE, 0.7), Hit(4, LEEK, 0.6)]
    assert rank_products(hits) == [
        ProductMatch(APPLE, 0.9, closest=0.9),
        ProductMatch(PEAR, 0.8, closest=0.8),
        ProductMatch(LEEK, 0.6, closest=0.6),
    ]


def test_ranking_is_best_first_whatever_the_hit_order() -> None:
    hits = [Hit(1, LEEK, 0.2), Hit(2, PEAR, 0.5), Hit(3, APPLE, 0.4), Hit(4, LEEK, 0.6)]
    assert [match.product_id for match in rank_products(hits)] == [LEEK, PEAR, APPLE]


def test_ranking_keeps_at_most_limit_products() -> None:
    hits = [Hit(1, APPLE, 0.9), Hit(2, PEAR, 0.8), Hit(3, LEEK, 0.7)]
    assert [match.product_id for match in rank_products(hits, limit=2)] == [APPLE, PEAR]


def test_no_hits_rank_nothing() -> None:
    assert rank_products([]) == []


def test_clear_winner_above_threshold_is_accepted() -> None:
    matches = [ProductMatch(APPLE, 0.9), ProductMatch(PEAR, 0.5)]
    assert accept(matches, threshold=0.6, margin=0.1) == matches[0]


def test_best_score_below_threshold_is_rejected() -> None:
    matches = [ProductMatch(APPLE, 0.55), ProductMatch(PEAR, 0.1)]
    assert accept(matches, threshold=0.6, margin=0.1) is None


def test_best_too_close_to_runner_up_is_rejected() -> None:
    matches = [ProductMatch(APPLE, 0.9), ProductMatch(PEAR, 0.85)]
    assert accept(matches, threshold=0.6, margin=0.1) is None


def test_only_product_in_catalogue_needs_only_the_threshold() -> None:
    matches = [ProductMatch(APPLE, 0.7)]
    assert accept(matches, threshold=0.6, margin=0.5) == matches[0]


def test_nothing_to_accept_without_matches() -> None:
    assert accept([], threshold=0.0, margin=0.0) is None


def test_prototype_scores_blend_with_the_best_photo_by_their_weight() -> None:
    hits = [Hit(1, APPLE, 0.9), Hit(2, PEAR, 0.8)]
    prototypes = {APPLE: 0.7, PEAR: 0.8}
    ranked = rank_products(hits, prototypes=prototypes, prototype_weight=0.75)
    assert [match.product_id for match in ranked] == [PEAR, APPLE]
    assert ranked[0].score == pytest.approx(0.8)
    assert ranked[1].score == pytest.approx(0.75 * 0.7 + 0.25 * 0.9)


def test_product_without_a_prototype_is_not_ranked() -> None:
    hits = [Hit(1, APPLE, 0.9), Hit(2, PEAR, 0.8)]
    ranked = rank_products(hits, prototypes={PEAR: 0.8}, prototype_weight=1.0)
    assert [match.product_id for match in ranked] == [PEAR]
