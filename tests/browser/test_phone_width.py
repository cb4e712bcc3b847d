"""Every screen a person opens on a phone fits its width: nothing scrolls sideways."""
from playwright.sync_api import expect

from tests.browser.steps import log_in, log_out

PHONE = {"width": 390, "height": 844}
STAFF_PAGES = [
    "/setup/", "/setup/settings", "/setup/settings/promotions-and-messages/",
    "/setup/settings/promotions-and-messages/new", "/setup/users", "/setup/users/new", "/setup/users/import",
    "/setup/users/audit", "/setup/users/invite", "/setup/users/invite/requests", "/setup/emails",
    "/account/profile", "/account/password", "/account/two-step", "/account/two-step/setup",
]
BUYER_PAGES = ["/choose", "/shop/", "/account/profile", "/account/two-step"]
PUBLIC_PAGES = ["/login", "/forgot-password"]


def too_wide(page, paths):
    """The paths whose page is wider than the phone, with the width it takes."""
    wide = {}
    for path in paths:
        response = page.goto(path)
        assert response.ok, f"{path} answered {response.status}"
        expect(page.locator("main")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            # Name the culprit: the innermost element whose content overflows it.
            wide[path] = (width, page.evaluate("""[...document.querySelectorAll('body *')]
                .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 1)
                .map(e => e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 40)).pop()"""))
    return wide


def test_no_screen_scrolls_sideways_on_a_phone(page, demo):
    page.set_viewport_size(PHONE)
    assert too_wide(page, PUBLIC_PAGES) == {}
    log_in(page, "admin@bloom.example")
    assert too_wide(page, STAFF_PAGES) == {}
    page.goto("/setup/users/invite")
    invite_link = page.get_by_role("textbox", name="Invite link").input_value()
    log_out(page)
    log_in(page, "multi@greenmarket.example")  # buys from two sellers: the selection screen
    assert too_wide(page, BUYER_PAGES) == {}
    page.goto("/shop/")
    log_out(page)
    assert too_wide(page, [invite_link, invite_link + "/register"]) == {}
