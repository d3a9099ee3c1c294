"""The pages in headless Chromium: rendering, language switch, login and role guards.

Every test fails on any JavaScript console error or uncaught page error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser_harness import ConsoleWatch, LiveServer, chromium, log_in, screenshot
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from ebrcs.auth.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Browser]:
    with sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def page(browser: Browser, console: ConsoleWatch) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    page = context.new_page()
    console.watch(page)
    yield page
    context.close()
    assert console.errors == []


def test_login_page_renders_and_switches_to_korean(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to EBRCS")
    screenshot(page, "login-en")

    page.get_by_label("Language").select_option("ko")
    expect(page.get_by_role("heading", level=1)).to_have_text("EBRCS에 오신 것을 환영합니다")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.get_by_role("form", name="로그인").get_by_label("아이디")).to_be_visible()
    screenshot(page, "login-ko")

    page.reload()
    expect(page.get_by_role("form", name="로그인").get_by_role("button")).to_have_text("로그인")


def test_a_new_shopper_signs_up_lands_on_checkout_and_logs_out(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.url}/login")
    page.get_by_role("tab", name="Sign up").click()
    form = page.get_by_role("form", name="Sign up")
    form.get_by_label("Username").fill("newshopper")
    form.get_by_label("Password").fill("a-long-password")
    form.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(f"{live_server.url}/checkout")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Checkout", "My orders"])
    expect(page.get_by_text("The cart is empty.")).to_be_visible()
    screenshot(page, "checkout-empty")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/login")
    page.goto(f"{live_server.url}/me")
    expect(page).to_have_url(f"{live_server.url}/login?next=%2Fme")


def test_a_wrong_password_is_reported_in_the_form(
    page: Page, live_server: LiveServer, console: ConsoleWatch
) -> None:
    console.expect(r"status of 401")
    username, _ = live_server.create_account(Role.USER)
    log_in(page, live_server, username, "not-the-password", succeeds=False)
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(f"{live_server.url}/login")


def test_shoppers_are_kept_out_of_admin_pages(page: Page, live_server: LiveServer) -> None:
    username, password = live_server.create_account(Role.USER)
    page.goto(f"{live_server.url}/admin/products")
    expect(page).to_have_url(f"{live_server.url}/login?next=%2Fadmin%2Fproducts")
    form = page.get_by_role("form", name="Log in")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()
    # Back to the page asked for, which a shopper may not see: their home instead.
    expect(page).to_have_url(f"{live_server.url}/checkout")


def test_an_admin_lands_on_the_dashboard_and_sees_admin_navigation(
    page: Page, live_server: LiveServer
) -> None:
    username, password = live_server.create_account(Role.ADMIN)
    log_in(page, live_server, username, password)
    expect(page).to_have_url(f"{live_server.url}/admin/dashboard")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link")).to_have_text(["Checkout", "My orders", "Products", "Dashboard"])
    expect(page.get_by_role("heading", name="Recognition health")).to_be_visible()
    nav.get_by_role("link", name="Products").click()
    expect(page.get_by_text("No products yet. Add the first one.")).to_be_visible()


def test_a_scan_zone_is_drawn_by_clicking_points_and_saved(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, *live_server.create_account(Role.USER))
    expect(page).to_have_url(f"{live_server.url}/checkout")
    page.get_by_text("Camera, zone and connection").click()
    page.get_by_role("button", name="Draw zone").click()
    save = page.get_by_role("button", name="Save zone")
    overlay = page.locator("canvas.overlay")
    box = overlay.bounding_box()
    assert box is not None
    for x, y in ((0.6, 0.2), (0.95, 0.2), (0.95, 0.8)):
        overlay.click(position={"x": box["width"] * x, "y": box["height"] * y})
    overlay.click(position={"x": box["width"] * 0.6, "y": box["height"] * 0.8})
    expect(save).to_be_enabled()
    screenshot(page, "checkout-zone")
    save.click()
    expect(page.get_by_text("Zone saved: items count when they enter it.")).to_be_visible()

    session_id = page.evaluate("sessionStorage.getItem('ebrcs.checkoutSession')")
    roi = page.evaluate(
        """async (id) => {
            const token = JSON.parse(sessionStorage.getItem('ebrcs.token')).token;
            const response = await fetch(`/api/sessions/${id}`,
                {headers: {Authorization: `Bearer ${token}`}});
            return (await response.json()).roi;
        }""",
        session_id,
    )
    assert len(roi) == 4
    assert all(0.0 <= coordinate <= 1.0 for point in roi for coordinate in point)

    page.get_by_role("button", name="Clear zone").click()
    expect(page.get_by_text("Zone cleared: the whole picture scans.")).to_be_visible()


def test_an_admin_edits_and_deactivates_a_product(
    page: Page, live_server: LiveServer, tmp_path: Path, console: ConsoleWatch
) -> None:
    console.expect(r"status of 409")  # the repeated name, asked about
    photos = []
    halves = [((200, 40, 40), (40, 40, 200)), ((40, 160, 40), (200, 200, 40))]
    for index, (left, right) in enumerate(halves):
        colours = np.zeros((120, 160, 3), np.uint8)
        colours[:, :80] = left
        colours[:, 80:] = right
        photos.append(tmp_path / f"tin-{index}.png")
        Image.fromarray(colours).save(photos[-1])
    log_in(page, live_server, *live_server.create_account(Role.ADMIN))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Products").click()
    form = page.get_by_role("form", name="Add a product")
    form.get_by_label("Name").fill("Tomato tin")
    form.get_by_label("Price").fill("1.10")
    form.get_by_label("Photos (1–3)").set_input_files([str(path) for path in photos])
    form.get_by_role("button", name="Register product").click()
    card = page.locator("article.product-card", has_text="Tomato tin")
    expect(card).to_contain_text("€1.10")
    expect(card.get_by_text("2 photos", exact=True)).to_be_visible()

    # The same name again is asked about first; declining registers nothing.
    form.get_by_label("Name").fill("Tomato tin")
    form.get_by_label("Photos (1–3)").set_input_files(str(photos[0]))
    asked: list[str] = []
    page.once("dialog", lambda question: (asked.append(question.message), question.dismiss()))
    form.get_by_role("button", name="Register product").click()
    refused = page.locator(".toast.error")
    expect(refused).to_have_text("A product with this name is already on sale.")
    assert asked and "Tomato tin" in asked[0]
    expect(page.locator("article.product-card")).to_have_count(1)

    # Try recognition says what the checkout would do with the photo.
    tryout = page.get_by_role("region", name="Try recognition")
    tryout.get_by_label("Photo", exact=True).set_input_files(str(photos[0]))
    tryout.get_by_role("button", name="Recognise").click()
    expect(tryout.locator(".verdict")).to_have_text(
        re.compile("The checkout would (count this as Tomato tin|count it but ask|not count)")
    )

    card.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit product")
    # Stored photos are shown and one can go; the last one stays.
    stored = dialog.locator(".photo-tray").first
    expect(stored.locator("img")).to_have_count(2)
    stored.get_by_role("button", name="Remove photo 1").click()
    expect(stored.locator("img")).to_have_count(1)
    expect(stored.get_by_role("button", name="Remove photo 1")).to_be_disabled()
    dialog.get_by_label("Price").fill("1.25")
    dialog.get_by_label("Description").fill("400 g")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(card).to_contain_text("€1.25")

    page.once("dialog", lambda confirm: confirm.accept())
    card.get_by_role("button", name="Deactivate").click()
    expect(card.get_by_text("Deactivated")).to_be_visible()
    expect(card.get_by_role("button", name="Deactivate")).to_have_count(0)
    screenshot(page, "admin-product-deactivated")

    card.get_by_role("button", name="Reactivate").click()
    expect(card.get_by_text("Deactivated")).to_have_count(0)
    expect(card.get_by_role("button", name="Deactivate")).to_be_visible()
    expect(card.get_by_text("1 photo", exact=True)).to_be_visible()
    screenshot(page, "admin-product-reactivated")
