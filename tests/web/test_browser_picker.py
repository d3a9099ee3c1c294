"""The product picker pages through a catalogue larger than one answer: "Show more".

One product is registered through the API; the others come the way the original system's
``.npy`` files are imported (``importing.import_vectors``: vectors of the server's embedder,
no photo), which is instant and what a big imported shop looks like.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from browser_harness import (
    ApiClient,
    ConsoleWatch,
    LiveServer,
    chromium,
    log_in,
    product_photo,
    screenshot,
)
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from ebrcs.auth.models import Role
from ebrcs.catalog.importing import import_vectors
from ebrcs.catalog.models import ProductImage
from ebrcs.db.engine import make_engine

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE_SIZE = 48  # picker.js's
IMPORTED = [f"Apple {number:02d}" for number in range(1, PAGE_SIZE + 2)]
# Last by name: browsing shows it only on the second page.
LAST = "Zucchini"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def zucchini(live_server: LiveServer) -> uuid.UUID:
    """A registered product that sorts after a full page of imported ones."""
    with ApiClient(live_server, *live_server.create_account(Role.ADMIN)) as admin:
        product_id = admin.register_product(LAST, "0.70", product_photo((40, 140, 60), 1))
    engine = make_engine(live_server.database_url)
    try:
        with Session(engine) as db:
            embedder_id, dim = db.execute(
                select(ProductImage.embedder_id, ProductImage.embedding_dim).where(
                    ProductImage.product_id == product_id
                )
            ).one()
            vectors = np.random.default_rng(0).normal(size=(len(IMPORTED), dim))
            for name, vector in zip(IMPORTED, vectors, strict=True):
                import_vectors(db=db, name=name, vectors=vector[None, :], embedder_id=embedder_id)
    finally:
        engine.dispose()
    return product_id


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    with sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


def test_show_more_reaches_a_product_past_the_first_page_and_a_new_query_starts_over(
    browser: Browser, live_server: LiveServer, zucchini: uuid.UUID
) -> None:
    shopper = live_server.create_account(Role.USER)
    with ApiClient(live_server, *shopper) as shopper_api:
        session_id = shopper_api.open_session({})
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True)
    console = ConsoleWatch()
    page = context.new_page()
    console.watch(page)
    log_in(page, live_server, *shopper)
    page.goto(f"{live_server.url}/bill/{session_id}")
    page.get_by_role("button", name="Add an item").click()
    picker = page.get_by_role("dialog", name="Add an item")
    tiles = picker.locator(".tile")
    more = picker.get_by_role("button", name="Show more")

    expect(tiles).to_have_count(PAGE_SIZE)
    expect(picker.get_by_role("button", name=LAST)).to_have_count(0)
    box = more.bounding_box()
    assert box is not None and box["height"] >= 44
    screenshot(page, "picker-show-more-phone", full_page=False)
    more.focus()
    page.keyboard.press("Enter")
    expect(tiles).to_have_count(len(IMPORTED) + 1)
    # The keyboard goes on from the first new tile; nothing is left to show.
    expect(tiles.nth(PAGE_SIZE)).to_be_focused()
    expect(tiles.nth(PAGE_SIZE)).to_contain_text(IMPORTED[PAGE_SIZE])
    expect(more).to_have_count(0)

    search = picker.get_by_label("Search products")
    search.fill("zucchini")
    expect(tiles).to_have_count(1)
    expect(more).to_have_count(0)
    # A new query starts over from its first page.
    search.fill("")
    expect(tiles).to_have_count(PAGE_SIZE)
    more.click()
    picker.locator(".tile", has_text=LAST).click()
    expect(picker).to_be_hidden()
    expect(page.locator(".bill-line")).to_contain_text(LAST)
    context.close()
    assert console.errors == []
