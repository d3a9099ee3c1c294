"""Items the camera counted but could not name, as the shopper settles them (issue 13's UI).

The unsure items are made on the test's own server the way the live pipeline makes them
(``cart.record_frame`` with a ``CountedUnsure`` change, its crop kept on disk); the browser
then shows them in the live cart and on the bill, where one tap names an item, "None of these"
opens the product picker, and an item can be dismissed. Confirming is refused while any is open.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

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
from sqlalchemy.orm import Session

from ebrcs.auth.models import Role
from ebrcs.checkout import cart
from ebrcs.checkout.cart import CountedUnsure
from ebrcs.checkout.unsure import Candidate
from ebrcs.db.engine import make_engine

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PRODUCTS = {
    "Banana": ("1.20", (230, 200, 40)),
    "Arla-Standard-Milk": ("2.50", (240, 240, 250)),
    "Red-Bell-Pepper": ("0.90", (200, 30, 30)),
}


@pytest.fixture(scope="module")
def products(live_server: LiveServer) -> dict[str, uuid.UUID]:
    with ApiClient(live_server, *live_server.create_account(Role.ADMIN)) as admin:
        return {
            name: admin.register_product(name, price, product_photo(colour, seed))
            for seed, (name, (price, colour)) in enumerate(PRODUCTS.items())
        }


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    with sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


def count_unsure(
    server: LiveServer, session_id: str, candidates: list[tuple[uuid.UUID, float]]
) -> None:
    """What the live pipeline does for an item it cannot name: one frame's CountedUnsure."""
    item_id = uuid.uuid4()
    crop = Path("crops") / session_id / f"unsure-{item_id}.jpg"
    (server.data_dir / crop).parent.mkdir(parents=True, exist_ok=True)
    (server.data_dir / crop).write_bytes(product_photo((250, 250, 245), 99, fmt="JPEG"))
    change = CountedUnsure(item_id, [Candidate(pid, score) for pid, score in candidates], crop)
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as db:
            cart.record_frame(db=db, session_id=uuid.UUID(session_id), changes=[change])
    finally:
        engine.dispose()


def test_unsure_items_are_named_with_one_tap_picked_or_dismissed_before_paying(
    browser: Browser, live_server: LiveServer, products: dict[str, uuid.UUID]
) -> None:
    console = ConsoleWatch()
    console.expect(r"status of 409")
    shopper = live_server.create_account(Role.USER)
    banana, milk, pepper = products.values()
    with ApiClient(live_server, *shopper) as shopper_api:
        session_id = shopper_api.open_session({banana: 1})
    count_unsure(live_server, session_id, [(milk, 0.72), (banana, 0.70)])
    count_unsure(live_server, session_id, [(banana, 0.66)])
    count_unsure(live_server, session_id, [(pepper, 0.61)])

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    console.watch(page)
    log_in(page, live_server, *shopper)

    # The live cart counts them and says they wait on the bill; the total is the named lines'.
    live_cart = page.get_by_role("list", name="Cart")
    expect(live_cart.locator("li.unsure")).to_have_count(3)
    expect(live_cart.locator("li.unsure").first).to_contain_text(
        "Maybe Arla-Standard-Milk / Banana"
    )
    expect(page.locator(".cart-head")).to_contain_text("3 to check")
    expect(page.locator(".cart-total")).to_contain_text("€1.20")
    screenshot(page, "checkout-unsure-phone", full_page=False)

    page.get_by_role("button", name="Check the bill").click()
    expect(page).to_have_url(f"{live_server.url}/bill/{session_id}")
    cards = page.locator(".unsure-card")
    expect(cards).to_have_count(3)
    first = cards.first
    expect(first.get_by_role("list", name="Possible products").locator(".tile")).to_have_text(
        [re.compile(r"Arla-Standard-Milk\s*€2\.50"), re.compile(r"Banana\s*€1\.20")]
    )
    expect(first.locator(".unsure-head img")).to_be_visible()  # the crop it was seen in
    expect(first.locator(".tile img").first).to_be_visible()  # the candidate's first photo
    screenshot(page, "bill-unsure-phone")

    # Paying is refused while any is open; the shopper is taken to the first one.
    page.get_by_role("button", name="Confirm and pay").click()
    expect(page.locator(".toast.error")).to_have_text(
        "Choose what each unsure item is, or take it off, before paying."
    )
    expect(page).to_have_url(f"{live_server.url}/bill/{session_id}")
    expect(first.locator(".tile").first).to_be_focused()

    # One tap (here Enter, on the focused first candidate) names it: the milk joins the bill,
    # and the focus moves on to the next unsure item rather than to the top of the page.
    page.keyboard.press("Enter")
    expect(cards).to_have_count(2)
    expect(cards.first.locator(".tile").first).to_be_focused()
    lines = page.locator(".bill-line")
    expect(lines.filter(has_text="Arla-Standard-Milk")).to_have_count(1)

    # Not among the candidates: the picker finds it.
    cards.first.get_by_role("button", name="None of these").click()
    picker = page.get_by_role("dialog", name="Which product is it?")
    picker.get_by_label("Search products").fill("red pepper")
    expect(picker.locator(".tile").first).to_contain_text("Red-Bell-Pepper")
    expect(picker.locator(".tile img").first).to_be_visible()
    screenshot(page, "bill-picker-phone", full_page=False)
    picker.locator(".tile", has_text="Red-Bell-Pepper").click()
    expect(cards).to_have_count(1)
    expect(lines.filter(has_text="Red-Bell-Pepper")).to_have_count(1)

    # Not something to pay for.
    cards.first.get_by_role("button", name="Not buying this").click()
    expect(cards).to_have_count(0)
    expect(page.locator(".totals")).to_contain_text("€4.60")  # 1.20 + 2.50 + 0.90

    page.get_by_role("button", name="Confirm and pay").click()
    expect(page).to_have_url(re.compile(r"/receipt/[0-9a-f-]{36}$"))
    expect(page.locator(".receipt tbody tr")).to_have_count(3)
    context.close()
    assert console.errors == []
