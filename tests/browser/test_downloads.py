"""What the browser downloads: the shop page within its byte budget, and the editor only when
an editor is shown."""
from playwright.sync_api import expect

from tests.browser.steps import HISTORY, create_message, log_in, until

CDN = "https://cdn.jsdelivr.net/"
SHOP_BUDGET = 30_000  # bytes on the wire: the page and its own files, besides images and CDN files


def test_the_buyers_shop_page_transfers_at_most_30_kb_of_its_own(page, demo):
    log_in(page, "admin@bloom.example")
    create_message(page, "Peony season", "Pop-up")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "buyer@rosecafe.example")
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")  # a first visit
    responses = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto("/shop/", wait_until="networkidle")
    expect(page.get_by_role("dialog", name="Peony season")).to_be_visible()
    own = [r for r in responses if not r.url.startswith(CDN) and r.resource_type != "image"]
    sizes = {r.url: r.sizes()["responseHeadersSize"] + r.sizes()["responseBodySize"] for r in own}
    assert any(url.endswith("/shop/") for url in sizes) and any("/static/js/app." in url for url in sizes)
    total = sum(sizes.values())
    assert total <= SHOP_BUDGET, f"{total} bytes: {sizes}"


def test_message_history_loads_the_editor_only_when_a_row_is_edited(page, demo):
    log_in(page, "admin@bloom.example")
    create_message(page, "Tulip week", "Pop-up")
    editor_files = []
    page.on("request", lambda request: "trix" in request.url and editor_files.append(request.url))
    page.goto(HISTORY, wait_until="networkidle")
    assert editor_files == []
    row = page.locator("tr", has_text="Tulip week")
    row.get_by_role("link", name="Edit").click()
    until(page, "() => document.querySelector('trix-editor')?.editor")
    expect(page.get_by_label("Content")).to_have_text("Tulip week: fresh stock this week.")
    assert [url for url in editor_files if url.startswith(CDN)] == [
        "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.css",
        "https://cdn.jsdelivr.net/npm/trix@2.1.19/dist/trix.umd.min.js"]
    page.get_by_label("Content").fill("Tulip week: now with irises.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="Tulip week")).not_to_have_class("editing")
    page.locator("tr", has_text="Tulip week").get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Content")).to_have_text("Tulip week: now with irises.")
    assert len([url for url in editor_files if url.startswith(CDN)]) == 2  # loaded once per page
