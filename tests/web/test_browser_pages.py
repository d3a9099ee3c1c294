"""The pages in headless Chromium: rendering, language switch, login and role guards.

Every test fails on any JavaScript console error or uncaught page error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_harness import ConsoleWatch, LiveServer, chromium, screenshot
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


def log_in(page: Page, server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/login")
    form = page.get_by_role("form", name="Log in")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()


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
    log_in(page, live_server, username, "not-the-password")
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


def test_checkout_fits_a_phone_screen(browser: Browser, live_server: LiveServer) -> None:
    console = ConsoleWatch()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    console.watch(page)
    username, password = live_server.create_account(Role.USER)
    log_in(page, live_server, username, password)
    expect(page).to_have_url(f"{live_server.url}/checkout")
    page_width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "checkout-phone")
    context.close()
    assert page_width <= 390
    assert console.errors == []
