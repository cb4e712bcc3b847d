"""The journeys still work when the CDN does not answer: the app serves its own copies of
htmx and Trix, and destructive actions ask first whatever the scripts' state."""
import pytest
from playwright.sync_api import expect

from tests.browser.steps import answer_confirmation, create_message, log_in, until


@pytest.fixture
def cdn_down(page):
    # Registered after the page fixture's routes, so it wins: the CDN host never answers.
    page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
    return page


def _history_with(page, title):
    create_message(page, title, "Pop-up")
    return page.locator("tr", has_text=title)


def test_with_the_cdn_down_the_apps_own_copies_load(cdn_down, demo):
    page = cdn_down
    log_in(page, "admin@bloom.example")
    page.goto("/setup/settings/promotions-and-messages/new")
    until(page, "() => typeof htmx !== 'undefined'")  # the copy is added once the page has loaded
    assert page.evaluate("htmx.version") == "2.0.11"
    expect(page.locator("trix-editor")).to_be_visible()
    until(page, "() => typeof Trix !== 'undefined'")
    assert page.evaluate("typeof Trix") == "object"
    assert page.evaluate(r"[...document.styleSheets].some(s => /\/static\/vendor\/trix-2\.1\.19\.[0-9a-f]{10}\.css$/.test(s.href || ''))")


def test_with_the_cdn_down_a_buyer_closes_a_popup_and_the_read_is_recorded(cdn_down, demo):
    page = cdn_down
    log_in(page, "admin@bloom.example")
    create_message(page, "Peony season", "Pop-up")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "buyer@rosecafe.example")
    popup = page.get_by_role("dialog", name="Peony season")
    with page.expect_response(lambda r: "/read" in r.url and r.request.method == "POST") as posted:
        popup.get_by_role("button", name="Close Peony season").click()
    assert posted.value.ok
    page.reload()
    expect(page.get_by_role("dialog")).to_have_count(0)  # read: it does not pop up again


def test_with_the_cdn_down_delete_still_asks_first(cdn_down, demo):
    page = cdn_down
    log_in(page, "admin@bloom.example")
    row = _history_with(page, "Lily week")
    row.get_by_role("button", name="Delete").click()
    answer_confirmation(page, False)
    page.reload()
    expect(page.locator("tr", has_text="Lily week")).to_have_count(1)
    page.locator("tr", has_text="Lily week").get_by_role("button", name="Delete").click()
    answer_confirmation(page, True, says="Lily week")
    expect(page.locator("tr", has_text="Lily week")).to_have_count(0)


def test_with_no_htmx_at_all_delete_still_asks_first(cdn_down, demo):
    page = cdn_down
    page.route("**/static/vendor/htmx-*", lambda route: route.abort())  # the app's copy fails too
    log_in(page, "admin@bloom.example")
    row = _history_with(page, "Iris week")
    assert page.evaluate("typeof htmx") == "undefined"
    row.get_by_role("button", name="Delete").click()
    answer_confirmation(page, False)
    page.reload()
    expect(page.locator("tr", has_text="Iris week")).to_have_count(1)
    page.locator("tr", has_text="Iris week").get_by_role("button", name="Delete").click()
    answer_confirmation(page, True, says="Iris week")
    expect(page.get_by_text("Message “Iris week” deleted.")).to_be_visible()


def test_with_the_cdn_up_the_apps_copies_are_not_fetched(page, demo):
    fetched = []
    page.on("request", lambda request: "/static/vendor/" in request.url and fetched.append(request.url))
    log_in(page, "admin@bloom.example")
    page.goto("/setup/settings/promotions-and-messages/new")
    expect(page.locator("trix-editor")).to_be_visible()
    assert fetched == []
