"""The app as a shopper and an admin use it, on a phone (390×844) and a desktop (1280×800).

Every page fits the screen's width in both languages (screenshots of each go to
test-artifacts/web/); while scanning on a phone the cart's total stays on screen; the bill can
be completed with the keyboard alone, the focus staying where the shopper was; an open
checkout is offered back in a new browser; a paid checkout's bill is read-only. One server and
one browser serve the whole module; any console or page error fails a test.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from ebrcs.auth.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.slow]

I18N_DIR = Path(__file__).resolve().parents[2] / "src" / "ebrcs" / "web" / "static" / "i18n"
CATALOGUES = {code: json.loads((I18N_DIR / f"{code}.json").read_text()) for code in ("en", "ko")}
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "desktop": DESKTOP}
# Names long enough to test wrapping, one Korean (kept whole on a phone), distinct colours.
PRODUCTS = {
    "Banana": ("1.20", (230, 200, 40)),
    "Arla-Standard-Milk": ("2.50", (240, 240, 250)),
    "Red-Bell-Pepper": ("0.90", (200, 30, 30)),
    "바나나맛 우유": ("1.80", (250, 220, 120)),
}


@dataclass
class Shop:
    """What the tests find on the server: accounts, products, an order and an open bill."""

    admin: tuple[str, str]
    shopper: tuple[str, str]
    products: dict[str, uuid.UUID]
    order_id: str
    open_session: str


@pytest.fixture(scope="module")
def shop(live_server: LiveServer) -> Shop:
    admin = live_server.create_account(Role.ADMIN)
    with ApiClient(live_server, *admin) as admin_api:
        products = {
            name: admin_api.register_product(name, price, product_photo(colour, seed))
            for seed, (name, (price, colour)) in enumerate(PRODUCTS.items())
        }
    shopper = live_server.create_account(Role.USER)
    with ApiClient(live_server, *shopper) as shopper_api:
        paid = shopper_api.open_session({products["Banana"]: 2, products["바나나맛 우유"]: 1})
        order = shopper_api.call("POST", f"/api/sessions/{paid}/billing/confirm")
        milk, pepper, korean = (products[name] for name in list(PRODUCTS)[1:])
        open_session = shopper_api.open_session({milk: 1, pepper: 3, korean: 1})
    return Shop(admin, shopper, products, order["order_id"], open_session)


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    with sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


NewPage = Callable[[dict[str, int]], Page]


@pytest.fixture
def new_page(browser: Browser, console: ConsoleWatch) -> Iterator[NewPage]:
    """Open a page of a given screen size, each in its own browser profile; closed afterwards."""
    opened: list[BrowserContext] = []

    def _open(size: dict[str, int]) -> Page:
        phone = size == PHONE
        context = browser.new_context(
            viewport=size, locale="en-GB", is_mobile=phone, has_touch=phone
        )
        opened.append(context)
        page = context.new_page()
        console.watch(page)
        return page

    yield _open
    for context in opened:
        context.close()
    assert console.errors == []


def fits_width(page: Page) -> bool:
    """No horizontal scrolling: the page is no wider than the screen."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def use_language(page: Page, code: str) -> None:
    page.locator("#language").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)


def show_and_check(page: Page, name: str, ready: str, *, full_page: bool = True) -> None:
    """In English and Korean: the page fits its width; a screenshot of each."""
    for code in ("en", "ko"):
        use_language(page, code)
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert fits_width(page), f"{name} ({code}) is wider than the screen"
        screenshot(page, f"{name}-{code}", full_page=full_page)
    use_language(page, "en")


@pytest.mark.parametrize("size_name", SIZES)
def test_every_page_fits_the_screen_in_both_languages(
    new_page: NewPage, live_server: LiveServer, shop: Shop, size_name: str
) -> None:
    size = SIZES[size_name]
    shopper = new_page(size)
    shopper.goto(f"{live_server.url}/login")
    show_and_check(shopper, f"login-{size_name}", "form.login-form")
    log_in(shopper, live_server, *shop.shopper)
    expect(shopper).to_have_url(f"{live_server.url}/checkout")
    # What the screen shows: the phone's cart is a sheet fixed to the screen's bottom.
    show_and_check(shopper, f"checkout-{size_name}", ".cart-list li", full_page=False)
    shopper.goto(f"{live_server.url}/bill/{shop.open_session}")
    expect(shopper.locator(".bill-line")).to_have_count(3)
    show_and_check(shopper, f"bill-{size_name}", ".bill-line img")
    shopper.goto(f"{live_server.url}/receipt/{shop.order_id}")
    show_and_check(shopper, f"receipt-{size_name}", ".receipt tbody tr")
    shopper.goto(f"{live_server.url}/me")
    show_and_check(shopper, f"my-orders-{size_name}", "article.order")
    # Dates follow a language switch at once, without a reload.
    when = shopper.locator("article.order time").first
    english = when.inner_text()
    use_language(shopper, "ko")
    expect(when).not_to_have_text(english)
    expect(when).to_have_text(re.compile("오전|오후"))
    use_language(shopper, "en")

    admin = new_page(size)
    log_in(admin, live_server, *shop.admin)
    admin.goto(f"{live_server.url}/admin/products")
    expect(admin.locator("article.product-card")).to_have_count(len(PRODUCTS))
    show_and_check(admin, f"admin-products-{size_name}", "article.product-card img")
    admin.goto(f"{live_server.url}/admin/dashboard")
    show_and_check(admin, f"admin-dashboard-{size_name}", ".chart svg")
    # A recent order opens its receipt.
    admin.get_by_role("region", name="Recent orders").get_by_role("link").first.click()
    expect(admin).to_have_url(f"{live_server.url}/receipt/{shop.order_id}")


def test_the_dashboard_charts_are_drawn_again_in_the_new_language_without_a_reload(
    new_page: NewPage, live_server: LiveServer, shop: Shop
) -> None:
    admin = new_page(DESKTOP)
    log_in(admin, live_server, *shop.admin)
    admin.goto(f"{live_server.url}/admin/dashboard")
    sales, top = admin.locator(".chart-box svg").nth(0), admin.locator(".chart-box svg").nth(1)
    expect(sales).to_have_attribute("aria-label", CATALOGUES["en"]["dashboard.salesPerDay"])

    use_language(admin, "ko")

    expect(sales).to_have_attribute("aria-label", CATALOGUES["ko"]["dashboard.salesPerDay"])
    expect(top).to_have_attribute("aria-label", CATALOGUES["ko"]["dashboard.topProducts"])
    use_language(admin, "en")
    expect(top).to_have_attribute("aria-label", CATALOGUES["en"]["dashboard.topProducts"])


def test_korean_text_has_its_shipped_font_and_breaks_between_words(
    new_page: NewPage, live_server: LiveServer, shop: Shop
) -> None:
    page = new_page(PHONE)
    log_in(page, live_server, *shop.shopper)
    use_language(page, "ko")
    page.goto(f"{live_server.url}/bill/{shop.open_session}")
    expect(page.locator(".bill-line")).to_have_count(3)
    loaded = page.evaluate(
        """async () => (await document.fonts.load("16px 'Noto Sans KR Variable'", "바나나맛 우유"))
            .map((face) => face.status)"""
    )
    assert loaded and set(loaded) == {"loaded"}
    assert page.evaluate("getComputedStyle(document.body).wordBreak") == "keep-all"


def test_on_a_phone_the_cart_total_stays_on_screen_while_scanning(
    new_page: NewPage, live_server: LiveServer, shop: Shop
) -> None:
    page = new_page(PHONE)
    log_in(page, live_server, *shop.shopper)
    start = page.get_by_role("button", name="Start", exact=True)
    start.focus()
    page.keyboard.press("Enter")
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_enabled(timeout=30_000)
    # Start is disabled while scanning: the focus went on to Stop, not back to the page.
    expect(stop).to_be_focused()
    expect(page.locator("video")).to_have_js_property("paused", False)

    total = page.locator(".cart-total")
    expect(total).to_contain_text("€7.00")  # 2.50 + 3 × 0.90 + 1.80, the resumed open bill
    box = total.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= PHONE["height"]
    lines = page.get_by_role("list", name="Cart").get_by_role("listitem")
    expect(lines.first).to_be_in_viewport()
    bill_button = page.get_by_role("button", name="Check the bill")
    expect(bill_button).to_be_in_viewport()
    assert fits_width(page)
    screenshot(page, "checkout-scanning-phone", full_page=False)
    page.keyboard.press("Enter")  # Stop, with the keyboard: the focus returns to Start
    expect(start).to_be_focused()


def focused_name(page: Page) -> str:
    return page.evaluate(
        "(() => { const e = document.activeElement;"
        " return (e.getAttribute('aria-label') || e.textContent || '').trim(); })()"
    )


def tab_to(page: Page, name: str, presses: int = 60) -> None:
    """Press Tab until the control called `name` has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if focused_name(page) == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_the_bill_is_completed_with_the_keyboard_alone(
    new_page: NewPage, live_server: LiveServer, shop: Shop
) -> None:
    buyer = live_server.create_account(Role.USER)
    with ApiClient(live_server, *buyer) as buyer_api:
        session_id = buyer_api.open_session(
            {shop.products["Banana"]: 1, shop.products["Arla-Standard-Milk"]: 1}
        )
    page = new_page(DESKTOP)
    log_in(page, live_server, *buyer)
    page.goto(f"{live_server.url}/bill/{session_id}")
    lines = page.locator(".bill-line")
    expect(lines).to_have_count(2)

    tab_to(page, "One more Banana")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Quantity of Banana")).to_have_text("2")
    assert focused_name(page) == "One more Banana"
    page.keyboard.press("Enter")
    expect(page.get_by_label("Quantity of Banana")).to_have_text("3")
    assert focused_name(page) == "One more Banana"
    page.keyboard.press("Shift+Tab")  # the quantity is text; Shift+Tab lands on "−"
    page.keyboard.press("Enter")
    expect(page.get_by_label("Quantity of Banana")).to_have_text("2")
    assert focused_name(page) == "One less Banana"

    tab_to(page, "Remove Arla-Standard-Milk")
    page.keyboard.press("Enter")
    expect(lines).to_have_count(1)
    # The removed line's neighbour takes the focus, not the top of the page.
    assert focused_name(page) == "Remove Banana"

    tab_to(page, "Add an item")
    page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="Add an item")
    expect(picker).to_be_visible()
    expect(picker.get_by_label("Search products")).to_be_focused()
    page.keyboard.type("peper red")  # a typo, words in another order
    expect(picker.locator(".tile").first).to_contain_text("Red-Bell-Pepper")
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(lines).to_have_count(2)
    expect(lines.last).to_contain_text("Red-Bell-Pepper")
    expect(lines.last).to_contain_text("added by you")
    assert focused_name(page) == "Add an item"
    expect(page.locator(".totals")).to_contain_text("€3.30")  # 2 × 1.20 + 0.90
    screenshot(page, "bill-keyboard")

    tab_to(page, "Confirm and pay")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/receipt/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    # The paid checkout's bill is read-only and leads to its receipt.
    page.goto(f"{live_server.url}/bill/{session_id}")
    expect(page.get_by_text("This checkout is paid.")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("One more"))).to_have_count(0)
    page.get_by_role("link", name="See the receipt").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()


def test_an_open_checkout_is_offered_back_in_a_new_browser(
    new_page: NewPage, live_server: LiveServer, shop: Shop
) -> None:
    shopper = live_server.create_account(Role.USER)
    first = new_page(PHONE)
    log_in(first, live_server, *shopper)
    first.get_by_role("button", name="Start a new checkout").click()
    expect(first.get_by_text("A new checkout has started.")).to_be_visible()
    session_id = first.evaluate("sessionStorage.getItem('ebrcs.checkoutSession')")
    with ApiClient(live_server, *shopper) as shopper_api:
        shopper_api.set_bill(session_id, {shop.products["Banana"]: 2})

    # Another browser profile: nothing in its storage, yet the shopper's open cart comes back.
    second = new_page(PHONE)
    log_in(second, live_server, *shopper)
    notice = second.get_by_role("status").filter(has_text="Your open checkout is back")
    expect(notice).to_be_visible()
    cart = second.get_by_role("list", name="Cart")
    expect(cart.get_by_role("listitem")).to_have_count(1)
    expect(cart).to_contain_text("Banana")
    expect(second.locator(".cart-total")).to_contain_text("€2.40")
    assert second.evaluate("sessionStorage.getItem('ebrcs.checkoutSession')") == session_id
    screenshot(second, "checkout-resumed-phone")

    # A new checkout ends the old one instead of leaving it open.
    second.get_by_role("button", name="Start a new checkout").click()
    expect(cart.get_by_role("listitem")).to_have_count(0)
    with ApiClient(live_server, *shopper) as shopper_api:
        sessions = shopper_api.call("GET", "/api/sessions")
    assert [s["status"] for s in sessions if s["session_id"] == session_id] == ["expired"]


def test_an_unknown_checkout_says_so_in_the_shoppers_language_with_a_way_back(
    new_page: NewPage, live_server: LiveServer, shop: Shop, console: ConsoleWatch
) -> None:
    console.expect(r"status of 404")
    page = new_page(PHONE)
    log_in(page, live_server, *shop.shopper)
    use_language(page, "ko")
    page.goto(f"{live_server.url}/bill/{uuid.uuid4()}")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("해당 계산이 없거나 볼 수 없습니다.")
    alert.get_by_role("link").click()
    expect(page).to_have_url(f"{live_server.url}/checkout")


def test_login_tabs_follow_the_arrow_keys(new_page: NewPage, live_server: LiveServer) -> None:
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/login")
    page.get_by_role("tab", name="Log in").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Sign up")).to_be_focused()
    expect(page.get_by_role("tab", name="Sign up")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("form", name="Sign up")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("form", name="Log in")).to_be_visible()


def test_a_timed_out_checkout_can_still_be_paid_but_no_longer_changed(
    new_page: NewPage, live_server: LiveServer, shop: Shop
) -> None:
    buyer = live_server.create_account(Role.USER)
    with ApiClient(live_server, *buyer) as buyer_api:
        session_id = buyer_api.open_session({shop.products["Banana"]: 2})
        buyer_api.call("DELETE", f"/api/sessions/{session_id}")  # ends it, cart kept
    page = new_page(PHONE)
    log_in(page, live_server, *buyer)
    page.goto(f"{live_server.url}/bill/{session_id}")
    expect(page.get_by_role("status").filter(has_text="This checkout timed out")).to_be_visible()
    expect(page.locator(".bill-line")).to_contain_text("× 2")
    expect(page.get_by_role("button", name="One more Banana")).to_have_count(0)
    expect(page.get_by_role("button", name="Add an item")).to_be_hidden()
    page.get_by_role("button", name="Confirm and pay").click()
    expect(page).to_have_url(re.compile(r"/receipt/[0-9a-f-]{36}$"))


def test_a_checkout_taken_over_by_another_window_says_so_in_the_first(
    new_page: NewPage, live_server: LiveServer
) -> None:
    shopper = live_server.create_account(Role.USER)
    first = new_page(DESKTOP)
    log_in(first, live_server, *shopper)
    first.get_by_role("button", name="Start", exact=True).click()
    expect(first.get_by_role("button", name="Stop", exact=True)).to_be_enabled(timeout=30_000)

    second = new_page(DESKTOP)  # another browser: it resumes the same open checkout
    log_in(second, live_server, *shopper)
    second.get_by_role("button", name="Start", exact=True).click()
    expect(second.get_by_role("button", name="Stop", exact=True)).to_be_enabled(timeout=30_000)

    taken_over = first.locator(".toast.error", has_text="opened in another tab or window")
    expect(taken_over).to_be_visible(timeout=15_000)
    expect(first.get_by_role("button", name="Start", exact=True)).to_be_enabled()
