"""Journeys a person clicks through, in Chromium, against the real processes."""
import re

from playwright.sync_api import expect

from sqlalchemy import select

from komet.extensions import db
from komet.models import Company
from tests.factories import Made
from tests.browser.steps import answer_confirmation, create_message, log_in, write_content
from tests.browser.conftest import axe_violations, shot
from tests.mailsink import text_of


def test_htmx_loads_from_the_pinned_cdn_file_with_integrity(page, demo):
    page.goto("/login")
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.version") == "2.0.11"


def test_buyer_of_two_sellers_chooses_a_company_and_changes_it(page, demo):
    page.goto("/login")
    shot(page, "01-login")
    log_in(page, "multi@greenmarket.example")
    expect(page.get_by_role("heading", name="Choose a company")).to_be_visible()
    shot(page, "02-choose-company")
    page.get_by_role("button", name=re.compile("Harvest Produce Co.*Green Market Deli")).click()
    expect(page.get_by_role("heading", name="Welcome to Harvest Produce Co.")).to_be_visible()
    expect(page.get_by_text("Honeycrisp apples")).to_be_visible()
    expect(page.get_by_text("Red roses, 50 cm")).to_have_count(0)
    shot(page, "03-shop")
    page.get_by_role("link", name="Change Company").click()
    page.get_by_role("button", name=re.compile("Bloom Wholesale Flowers.*Green Market")).click()
    expect(page.get_by_role("heading", name="Welcome to Bloom Wholesale Flowers")).to_be_visible()
    expect(page.get_by_text("Red roses, 50 cm")).to_be_visible()


def test_admin_finds_promotions_and_messages_under_setup_settings(page, demo):
    log_in(page, "admin@bloom.example")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    shot(page, "04-setup-settings")
    page.get_by_role("link", name="Promotions and Messages").click()
    expect(page.get_by_role("heading", name="Promotions and Messages")).to_be_visible()
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("cell", name="buyer@rosecafe.example")).to_be_visible()
    shot(page, "05-setup-users")


def test_sales_manager_is_told_clearly_when_a_page_is_not_for_their_role(page, demo):
    log_in(page, "sales@bloom.example")
    response = page.goto("/setup/settings/promotions-and-messages/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You don't have permission to do that")).to_be_visible()


def test_forgot_password_journey_through_the_dev_mailbox(page, demo, smtp_sink):
    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("Email").fill("buyer@rosecafe.example")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    smtp_sink.wait_for(1, address="buyer@rosecafe.example")
    page.goto("/dev/mail/")
    shot(page, "06-dev-mailbox")
    page.get_by_role("link", name="Reset your Komet password").click()
    page.get_by_role("link", name=re.compile("reset-password")).click()
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("tulips in the spring")
    page.get_by_label("Repeat the new password").fill("tulips in the spring")
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_text("Your password is changed. Log in with the new one.")).to_be_visible()
    log_in(page, "buyer@rosecafe.example", "tulips in the spring")
    expect(page.get_by_role("heading", name="Welcome to Bloom Wholesale Flowers")).to_be_visible()
    changed = smtp_sink.wait_for(2, address="buyer@rosecafe.example")
    assert "was just changed" in text_of(changed[-1])


def test_invalid_login_shows_the_error_next_to_the_field(page, demo):
    log_in(page, "admin@bloom.example", "not the password")
    error = page.locator("#password-error")
    expect(error).to_have_text("Email or password is incorrect.")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("aria-describedby", "password-error")
    assert axe_violations(page) == []


def test_admin_writes_a_message_and_manages_it_in_message_history(page, demo):
    log_in(page, "admin@bloom.example")
    page.get_by_role("link", name="Promotions and Messages").click()
    page.get_by_role("link", name="New Message", exact=True).click()
    page.get_by_label("Title", exact=True).fill("Tulip week 🌷")
    write_content(page, "Fresh tulips all week.")
    page.get_by_label("Publish now").check()
    page.get_by_label("Expires On").fill("2031-01-01T09:00")
    page.get_by_label("Window").check()
    shot(page, "07-new-message")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Message “Tulip week 🌷” saved.")).to_be_visible()
    row = page.locator("tr", has_text="Tulip week 🌷")
    expect(row.get_by_text("Published")).to_be_visible()
    shot(page, "08-message-history")
    row.get_by_role("link", name="Preview").click()
    expect(page.get_by_role("dialog", name="Tulip week 🌷")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Back to Message History").click()
    row = page.locator("tr", has_text="Tulip week 🌷")
    row.get_by_role("link", name="Edit").click()
    page.get_by_label("Title", exact=True).fill("Tulip fortnight 🌷")
    page.get_by_role("button", name="Save").click()
    row = page.locator("tr", has_text="Tulip fortnight 🌷")
    expect(row.get_by_text("Published")).to_be_visible()
    row.get_by_role("button", name="Delete").click()
    answer_confirmation(page, True)
    expect(page.locator("tr", has_text="Tulip fortnight")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("No messages yet.")).to_be_visible()


def test_buyer_sees_popup_and_window_closes_them_and_admin_sees_reads(page, demo):
    log_in(page, "admin@bloom.example")
    create_message(page, "Tulip week", "Pop-up", customers=["Rose Café 🌹"])
    create_message(page, "Holiday hours", "Window")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "buyer@rosecafe.example")
    window = page.get_by_role("dialog", name="Holiday hours")
    popup = page.get_by_role("dialog", name="Tulip week")
    expect(window).to_be_visible()
    expect(popup).to_be_visible()
    box = page.viewport_size
    window_box = window.bounding_box()
    assert window_box["width"] > box["width"] * 0.9 and window_box["height"] > box["height"] * 0.9
    expect(window.get_by_role("button", name="Close Holiday hours")).to_be_focused()
    shot(page, "09-buyer-window")
    page.keyboard.press("Escape")  # Esc closes the window
    expect(window).to_be_hidden()
    popup_box = popup.bounding_box()
    assert popup_box["x"] > box["width"] / 2 and popup_box["y"] > box["height"] / 2  # lower right
    shot(page, "10-buyer-popup")
    popup.get_by_role("button", name="Close Tulip week").click()
    expect(popup).to_be_hidden()
    page.wait_for_timeout(500)  # the reads are posted in the background
    page.reload()
    expect(page.get_by_role("dialog")).to_have_count(0)  # read: they don't pop up again
    page.get_by_text("Messages").first.click()
    page.get_by_role("button", name="Tulip week").click()
    expect(page.get_by_role("dialog", name="Tulip week")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, "admin@bloom.example")
    page.goto("/setup/settings/promotions-and-messages/")
    expect(page.locator("tr", has_text="Tulip week").locator("td.num")).to_have_text(re.compile(r"^1 of 1 customer read"))
    expect(page.locator("tr", has_text="Holiday hours").locator("td.num")).to_have_text(re.compile(r"^1 of \d+ customers read"))
    shot(page, "11-history-read-counts")
    page.locator("tr", has_text="Tulip week").locator("td.num").get_by_role("link").click()
    expect(page.get_by_role("cell", name="buyer@rosecafe.example")).to_be_visible()


def test_image_added_in_the_editor_reaches_the_buyer(page, demo):
    import base64
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 90)).save(png, "PNG")
    log_in(page, "admin@bloom.example")
    page.goto("/setup/settings/promotions-and-messages/new")
    page.get_by_label("Title", exact=True).fill("Roses in pictures")
    page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const file = new File([bytes], "roses.png", {type: "image/png"});
        document.querySelector("trix-editor").editor.insertFile(file);
    }""", base64.b64encode(png.getvalue()).decode())
    expect(page.locator("trix-editor img[src*='/shop/messages/images/']")).to_have_count(1)  # uploaded, URL set
    page.get_by_label("Publish now").check()
    page.get_by_label("Expires On").fill("2031-01-01T09:00")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Log out").click()
    log_in(page, "buyer@rosecafe.example")
    image = page.get_by_role("dialog", name="Roses in pictures").locator("img")
    expect(image).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) == 40


def test_buyer_in_the_shop_sees_a_new_message_within_a_minute_without_reloading(page, demo, make):
    page.clock.install()
    log_in(page, "buyer@rosecafe.example")
    expect(page.get_by_role("heading", name="Welcome to Bloom Wholesale Flowers")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    with make.app.app_context():
        bloom = Made(db.session.scalar(select(Company.id).where(Company.slug == "bloom")))
    make.message(bloom, "Just arrived: peonies")
    page.locator("#messages-menu-button").focus()  # the buyer is busy elsewhere on the page
    page.clock.run_for("00:31")  # the shop asks every 30 s
    expect(page.get_by_role("dialog", name="Just arrived: peonies")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("New message: Just arrived: peonies")
    expect(page.locator("#messages-menu-button")).to_be_focused()  # a pop-up that arrives takes no focus


def test_back_after_a_search_and_a_page_change_shows_the_whole_history_page(page, demo):
    log_in(page, "admin@bloom.example")
    for n in range(2):
        create_message(page, f"Tulip {n}", "Pop-up")
    page.goto("/setup/settings/promotions-and-messages/")
    page.get_by_label("Search by title").fill("Tulip 1")
    expect(page).to_have_url(re.compile(r"q=Tulip"))
    expect(page.locator("tr", has_text="Tulip 0")).to_have_count(0)
    page.go_back()
    expect(page.get_by_role("heading", name="Promotions and Messages")).to_be_visible()
    expect(page.get_by_label("Search by title")).to_be_visible()
    page.go_forward()
    expect(page.get_by_role("heading", name="Promotions and Messages")).to_be_visible()
    expect(page.locator("tr", has_text="Tulip 1")).to_be_visible()
    expect(page.get_by_role("navigation", name="Setup")).to_be_visible()
