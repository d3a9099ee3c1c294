"""Backing an index's large arrays with 2 MiB pages, so a graph walk misses the TLB less.

A walk of a 1M-vector graph reads links and vectors at random across gigabytes: with 4 KiB
pages nearly every read also walks the page tables. Where transparent huge pages are on only
when asked for (``madvise``, the common default), the arrays are asked for them and collapsed
into them at once (``MADV_COLLAPSE``, Linux 6.1). Elsewhere nothing happens: the pages are an
optimisation, never needed.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

HUGE_PAGE = 2 << 20
MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25


def _madvise() -> Callable[[int, int, int], int] | None:
    """libc's ``madvise``, or None where there is none to ask (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    call = ctypes.CDLL(None, use_errno=True).madvise  # the C library the interpreter runs on
    call.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    call.restype = ctypes.c_int
    return call  # type: ignore[no-any-return]


_MADVISE = _madvise()


def back_with_huge_pages(array: np.ndarray) -> bool:
    """Ask for ``array``'s whole 2 MiB pages to be huge pages now; whether the kernel did.

    Only the pages wholly inside the array are touched, so nothing beside it changes.
    """
    start = -(-array.ctypes.data // HUGE_PAGE) * HUGE_PAGE
    end = (array.ctypes.data + array.nbytes) // HUGE_PAGE * HUGE_PAGE
    if _MADVISE is None or end <= start:
        return False
    for advice in (MADV_HUGEPAGE, MADV_COLLAPSE):
        if _MADVISE(start, end - start, advice) != 0:
            log.debug("madvise(%d) refused: errno %d", advice, ctypes.get_errno())
            return False
    return True
