"""Huge pages for an index's arrays: asked for where the kernel offers them, contents kept."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ebrcs.catalog.hugepages import HUGE_PAGE, back_with_huge_pages

THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def test_an_array_smaller_than_one_huge_page_is_left_alone() -> None:
    assert back_with_huge_pages(np.zeros(1000, np.float32)) is False


def test_a_large_array_keeps_its_contents_whether_or_not_the_kernel_collapses_it() -> None:
    values = np.random.default_rng(0).random(3 * HUGE_PAGE // 4, dtype=np.float32)
    before = values.copy()
    back_with_huge_pages(values)
    np.testing.assert_array_equal(values, before)


@pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not THP.is_file()
    or "[never]" in THP.read_text(),
    reason="this kernel offers no transparent huge pages",
)
def test_a_large_array_is_collapsed_into_huge_pages_where_the_kernel_offers_them() -> None:
    values = np.ones(4 * HUGE_PAGE // 4, np.float32)
    assert back_with_huge_pages(values) is True
