"""End to end in headless Chromium with a fake camera: register, check out, correct, confirm.

An admin registers three products through the UI; a shopper's fake camera plays a video made
from the same dataset photos in which two of them are carried in, dwell and leave over a static
counter; the live cart must show exactly those two. The shopper corrects a quantity, confirms,
and finds the order on "my page". Any console or page error fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from browser_harness import (
    ConsoleWatch,
    LiveServer,
    chromium,
    log_in,
    screenshot,
    start_server,
    stop_server,
)
from playwright.sync_api import Browser, Page, expect, sync_playwright

from checkout_videos import CheckoutVideo, ItemPhoto, ItemTrip, write_mp4, write_y4m
from ebrcs.auth.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.dataset, pytest.mark.slow]

# Three products the default embedder tells apart clearly (each photo's best other product
# scores at least 0.25 below its own); the camera shows the first two.
PRODUCTS = {"Banana": "1.20", "Oatly-Oat-Milk": "2.50", "Red-Bell-Pepper": "0.90"}
SHOWN = ["Banana", "Oatly-Oat-Milk"]
PHOTOS_PER_PRODUCT = 3
VIDEO_SIZE = (640, 360)
VIDEO_FPS = 10.0
DWELL_SECONDS = 3.0
TAIL_SECONDS = 15.0
"""Empty counter after the last item, so the camera's loop does not replay them mid-test."""
CART_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class Product:
    """A product to register: its name, price and dataset photos."""

    name: str
    price: str
    photos: list[Path]


def products_from(dataset_dir: Path) -> list[Product]:
    """The first train photos of each chosen class."""
    photos: dict[str, list[Path]] = {name: [] for name in PRODUCTS}
    for line in (dataset_dir / "train.txt").read_text().splitlines():
        relative = line.split(",")[0].strip()
        name = Path(relative).parent.name
        if name in photos and len(photos[name]) < PHOTOS_PER_PRODUCT:
            photos[name].append(dataset_dir / relative)
    return [Product(name, price, photos[name]) for name, price in PRODUCTS.items()]


def fake_camera_video(products: list[Product], path: Path) -> Path:
    """Two items, one after the other, carried over a static counter; then an empty counter."""
    by_name = {product.name: product for product in products}
    trips = []
    enter_at = 1.0
    for index, name in enumerate(SHOWN):
        photo = ItemPhoto(label=name, path=by_name[name].photos[0])
        edges = ("left", "right") if index % 2 == 0 else ("right", "left")
        trip = ItemTrip(photo, enter_at, (0.5, 0.5), DWELL_SECONDS, *edges)
        trips.append(trip)
        enter_at = trip.gone_at + 1.5
    video = CheckoutVideo(
        name="browser-e2e",
        scenario="sequence",
        seed=7,
        fps=VIDEO_FPS,
        size=VIDEO_SIZE,
        duration=trips[-1].gone_at + TAIL_SECONDS,
        trips=trips,
        true_events=[],
    )
    write_y4m(path, video.frames(), VIDEO_FPS)
    return path


@pytest.fixture(scope="module")
def products(dataset_dir: Path) -> list[Product]:
    return products_from(dataset_dir)


@pytest.fixture(scope="module")
def browser(
    live_server: LiveServer, products: list[Product], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = fake_camera_video(products, tmp_path_factory.mktemp("camera") / "checkout.y4m")
    with sync_playwright() as playwright, chromium(playwright, fake_video=video) as launched:
        yield launched


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


def new_page(browser: Browser, console: ConsoleWatch) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB").new_page()
    console.watch(page)
    return page


def register_products(page: Page, products: list[Product]) -> None:
    """Fill the add-product form once per product, photos from files."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    form = page.get_by_role("form", name="Add a product")
    for product in products:
        form.get_by_label("Name").fill(product.name)
        form.get_by_label("Price").fill(product.price)
        form.get_by_label("Photos (1–3)").set_input_files([str(p) for p in product.photos])
        expect(form.get_by_text(f"{len(product.photos)} of 3 photos")).to_be_visible()
        form.get_by_role("button", name="Register product").click()
        card = page.locator("article.product-card", has_text=product.name)
        expect(card).to_be_visible(timeout=60_000)
        expect(card.get_by_text(f"{len(product.photos)} photos")).to_be_visible()
        expect(card.get_by_role("img", name=product.name)).to_be_visible()


def try_recognition(page: Page, product: Product) -> None:
    """The admin's "try recognition" shows the product itself as the best match."""
    card = page.get_by_role("region", name="Try recognition")
    card.get_by_label("Photo", exact=True).set_input_files(str(product.photos[0]))
    card.get_by_role("button", name="Recognise").click()
    expect(card.get_by_role("listitem").first).to_contain_text(product.name, timeout=30_000)


def test_admin_registers_products_and_a_shopper_checks_out_with_the_camera(
    browser: Browser, live_server: LiveServer, products: list[Product], console: ConsoleWatch
) -> None:
    admin = new_page(browser, console)
    log_in(admin, live_server, *live_server.create_account(Role.ADMIN))
    expect(admin).to_have_url(f"{live_server.url}/admin/dashboard")
    register_products(admin, products)
    try_recognition(admin, products[0])
    screenshot(admin, "admin-products")

    shopper = new_page(browser, console)
    log_in(shopper, live_server, *live_server.create_account(Role.USER))
    expect(shopper).to_have_url(f"{live_server.url}/checkout")
    shopper.get_by_role("button", name="Start", exact=True).click()
    expect(shopper.get_by_text("Live", exact=True)).to_be_visible(timeout=30_000)

    cart = shopper.get_by_role("list", name="Cart")
    expect(cart.get_by_role("listitem").first).to_be_visible(timeout=CART_TIMEOUT_MS)
    screenshot(shopper, "checkout-live")
    expect(cart.get_by_role("listitem")).to_have_count(2, timeout=CART_TIMEOUT_MS)
    for name in SHOWN:
        expect(cart.get_by_role("listitem").filter(has_text=name)).to_contain_text("× 1")
    expect(shopper.locator(".cart-total")).to_contain_text("€3.70")  # 1.20 + 2.50
    screenshot(shopper, "checkout-cart")

    shopper.get_by_role("button", name="Check the bill").click()
    expect(shopper).to_have_url(re.compile(r"/bill/[0-9a-f-]{36}$"))
    rows = shopper.locator(".bill-line")
    expect(rows).to_have_count(2)
    # The camera saw one banana; the shopper had two.
    shopper.get_by_role("button", name="One more Banana").click()
    expect(shopper.get_by_label("Quantity of Banana")).to_have_text("2")
    # A missed item can be picked from the catalogue, and removed again.
    shopper.get_by_role("button", name="Add an item").click()
    picker = shopper.get_by_role("dialog", name="Add an item")
    picker.get_by_label("Search products").fill("pepper")
    picker.locator(".tile", has_text="Red-Bell-Pepper").click()
    expect(rows).to_have_count(3)
    shopper.get_by_role("button", name="Remove Red-Bell-Pepper").click()
    expect(rows).to_have_count(2)
    expect(shopper.locator(".totals")).to_contain_text("€4.90")  # 2 × 1.20 + 2.50
    screenshot(shopper, "bill")

    shopper.get_by_role("button", name="Confirm and pay").click()
    expect(shopper).to_have_url(re.compile(r"/receipt/[0-9a-f-]{36}$"))
    expect(shopper.get_by_role("heading", name="Thank you!")).to_be_visible()
    screenshot(shopper, "receipt")

    shopper.get_by_role("navigation", name="Main").get_by_role("link", name="My orders").click()
    orders = shopper.locator("article.order")
    expect(orders).to_have_count(1)
    expect(orders.first).to_contain_text("3 items")
    expect(orders.first).to_contain_text("€4.90")
    expect(orders.first.locator("tbody tr")).to_have_text(
        [re.compile(r"Banana\s*2\s*€1\.20\s*€2\.40"), re.compile(r"Oatly-Oat-Milk\s*1\s*€2\.50")]
    )
    screenshot(shopper, "my-orders")

    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(admin.get_by_role("region", name="Recent orders").locator("tbody tr")).to_have_count(1)
    screenshot(admin, "admin-dashboard")

    assert console.errors == []


def register_by_api(server: LiveServer, product: Product) -> None:
    """Register a product through the API (this test is about the video, not the form)."""
    username, password = server.create_account(Role.ADMIN)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        login = http.post("/api/auth/login", data={"username": username, "password": password})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        files = [("images", (p.name, p.read_bytes(), "image/jpeg")) for p in product.photos]
        data = {"name": product.name, "price": product.price}
        http.post("/api/products", headers=headers, data=data, files=files).raise_for_status()


def test_a_recorded_video_uploads_with_progress_and_fills_the_cart(
    browser: Browser, products: list[Product], console: ConsoleWatch, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "server")
    try:
        milk = products[1]
        register_by_api(server, milk)
        trip = ItemTrip(ItemPhoto(milk.name, milk.photos[0]), 0.5, (0.5, 0.5), 2.0, "left", "right")
        video = CheckoutVideo(
            name="upload",
            scenario="single",
            seed=3,
            fps=VIDEO_FPS,
            size=VIDEO_SIZE,
            duration=trip.gone_at + 1.0,
            trips=[trip],
            true_events=[],
        )
        path = tmp_path / "counter.mp4"
        write_mp4(path, video.frames(), VIDEO_FPS)

        page = new_page(browser, console)
        log_in(page, server, *server.create_account(Role.USER))
        page.get_by_role("tab", name="Video file").click()
        page.get_by_label("Video file", exact=True).set_input_files(str(path))
        page.get_by_role("button", name="Upload and scan").click()

        expect(page.get_by_text("The video has been scanned.")).to_be_visible(timeout=120_000)
        expect(page.get_by_role("progressbar", name="Upload")).to_have_js_property("value", 1)
        expect(page.get_by_role("progressbar", name="Scanning")).to_have_js_property("value", 1)
        cart = page.get_by_role("list", name="Cart")
        expect(cart.get_by_role("listitem")).to_have_text([re.compile(rf"{milk.name}.*× 1")])
        screenshot(page, "checkout-video-file")
    finally:
        stop_server(server)
    assert console.errors == []
