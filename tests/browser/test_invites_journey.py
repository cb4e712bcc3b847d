"""Invites, clicked through in Chromium against the real web and worker processes: the link and
its QR codes, Register Here, the emails, approval, activation, and logging in through the link."""
import io
import re

import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from komet.demo import DEMO_PASSWORD
from komet.extensions import db
from komet.invites import links, requests
from komet.models import Company
from tests.browser.conftest import shot
from tests.factories import Made
from tests.browser.test_users_journey import NEW_PASSWORD, link_from, log_in, log_out
from tests.mailsink import text_of
from tests.browser.steps import answer_confirmation

VISITOR = "nina@newshop.example"


def _download(page, name):
    with page.expect_download() as info:
        page.get_by_role("link", name=name).click()
    return open(info.value.path(), "rb").read()


def test_staff_share_the_link_a_visitor_registers_is_approved_and_activates(page, demo, smtp_sink):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "admin@bloom.example")
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Invite Customers to Your E-Commerce").click()
    expect(page.get_by_role("heading", name="Invite Customers to Your E-Commerce")).to_be_visible()
    url = page.get_by_role("textbox", name="Invite link").input_value()
    assert re.fullmatch(r"http://[^/]+/i/[\w-]+\.[\w-]+", url)

    page.get_by_role("button", name="Copy link").focus()
    page.keyboard.press("Enter")  # keyboard-usable
    expect(page.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == url
    shot(page, "30-invite-link")

    png = Image.open(io.BytesIO(_download(page, "PNG (for print)")))
    assert png.size[0] >= 1000
    assert [code.text for code in zxingcpp.read_barcodes(png)] == [url]
    assert b"<svg" in _download(page, "SVG")
    page.get_by_role("button", name="Regenerate link").click()  # asks first; "Cancel" keeps the link
    answer_confirmation(page, False, says="every printed QR code stop working")
    expect(page.get_by_role("textbox", name="Invite link")).to_have_value(url)
    log_out(page)

    page.goto(url)
    expect(page.get_by_role("heading", name="Welcome to Bloom Wholesale Flowers")).to_be_visible()
    expect(page.locator(".topbar")).to_have_count(0)  # no platform header
    shot(page, "31-invite-page")
    page.get_by_role("link", name="Register Here").click()
    page.get_by_label("Business name").fill("New Shop")
    page.get_by_label("Contact name").fill("Nina Newshop")
    page.get_by_label("Email").fill(VISITOR)
    page.get_by_label("Phone").fill("555-0101")
    page.get_by_label("City").fill("Boston")
    page.get_by_label("Country").fill("USA")
    page.get_by_label("Message").fill("We sell flowers by the station.")
    shot(page, "32-register-here")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    shot(page, "33-thank-you")

    confirmation = smtp_sink.wait_for(1, address=VISITOR)
    assert confirmation and "received your request" in confirmation[-1]["Subject"]
    for admin in ("admin@bloom.example", "sales@bloom.example"):
        told = [m for m in smtp_sink.wait_for(1, address=admin) if "New access request" in m["Subject"]]
        assert len(told) == 1 and "New Shop" in text_of(told[0])
    assert not [m for m in smtp_sink.to("setup@bloom.example") if "New access request" in m["Subject"]]
    queue_url = re.search(r"(http://\S+/setup/users/invite/requests\S*)", text_of(told[0])).group(1)

    log_in(page, "sales@bloom.example")
    page.goto(queue_url)
    expect(page.get_by_role("link", name="Pending (1)")).to_be_visible()
    shot(page, "34-access-requests")
    page.get_by_role("article", name="New Shop").get_by_role("link", name="Approve").click()
    expect(page.get_by_label("New customer's name")).to_have_value("New Shop")
    shot(page, "35-approve")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("New Shop was approved")).to_be_visible()
    expect(page.get_by_role("link", name="Approved (1)")).to_be_visible()
    log_out(page)

    _, activate_url = link_from(smtp_sink, VISITOR, 2, "activate")
    page.goto(activate_url)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Activate and log in").click()
    expect(page.get_by_role("heading", name="Welcome to Bloom Wholesale Flowers")).to_be_visible()
    expect(page.get_by_text("Buying for New Shop")).to_be_visible()


def test_a_buyer_of_several_sellers_logs_in_through_the_link_straight_into_that_shop(page, demo, app, make):
    with app.app_context():
        harvest = db.session.scalar(select(Company).where(Company.slug == "harvest"))
        path = f"/i/{links.link_for(harvest.id).token}"
        harvest = Made(harvest.id)
        db.session.remove()
    make.message(harvest, "Squash season", content="<p>Butternut by the crate</p>")
    make.message(harvest, "Holiday hours", type="window", content="<p>Closed on the 25th</p>")

    page.goto(path)  # a buyer of Bloom only: told, not let in
    page.get_by_label("Email").fill("buyer@rosecafe.example")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("not for this seller's shop yet")).to_be_visible()
    expect(page.get_by_role("alert").get_by_role("link", name="Register Here")).to_be_visible()
    shot(page, "36-invite-login-no-link")

    page.get_by_label("Email").fill("multi@greenmarket.example")  # buys from Bloom and Harvest
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    window = page.get_by_role("dialog", name="Holiday hours")
    expect(window).to_be_visible()  # the messages work in the focused shop: the Window first
    shot(page, "38-invite-login-window")
    page.keyboard.press("Escape")
    expect(window).to_be_hidden()
    popup = page.get_by_role("dialog", name="Squash season")
    expect(popup).to_be_visible()
    expect(page.get_by_role("heading", name="Welcome to Harvest Produce Co.")).to_be_visible()
    expect(page.get_by_text("Buying for Green Market Deli")).to_be_visible()
    assert "/choose" not in page.url
    # A focused shop: the seller's name, the catalogue, the messages, Sign out; no platform header.
    expect(page.locator(".topbar")).to_have_count(0)
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="Harvest Produce Co.")).to_be_visible()
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    for elsewhere in ("Change Company", "Bloom Wholesale Flowers", "Change password"):
        expect(page.get_by_text(elsewhere)).to_have_count(0)
    expect(page.get_by_role("table", name="Products")).to_be_visible()
    shot(page, "37-invite-login-shop")
    popup.get_by_role("button", name="Close Squash season").click()
    expect(popup).to_be_hidden()
    page.locator("#messages-menu-button").click()  # the menu still opens a read message again
    page.get_by_role("button", name="Squash season").click()
    again = page.get_by_role("dialog", name="Squash season")
    expect(again).to_be_visible()
    again.get_by_role("button", name="Close Squash season").click()

    header.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Welcome to Harvest Produce Co.")).to_be_visible()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    assert page.url.endswith(path)  # back on the seller's invite page
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


PHONE = {"width": 390, "height": 844}
LONG_EMAIL = "a" * 48 + "@example.com"  # 60 characters, no place to break


def _bloom(app):
    with app.app_context():
        company_id = db.session.scalar(select(Company.id).where(Company.slug == "bloom"))
        db.session.remove()
    return company_id


def test_the_request_queue_fits_a_phone_with_a_sixty_character_email(page, demo, app):
    assert len(LONG_EMAIL) == 60
    company_id = _bloom(app)
    with app.app_context():
        requests.submit(company_id, business_name="Long Address Florist", contact_name="Lena Long",
                        email=LONG_EMAIL, phone="", city="", country="", message="")
        db.session.remove()
    page.set_viewport_size(PHONE)
    log_in(page, "sales@bloom.example")
    page.goto("/setup/users/invite/requests?status=pending")
    expect(page.get_by_role("article", name="Long Address Florist")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("article", name="Long Address Florist").get_by_role("link", name="Approve").click()
    expect(page.get_by_role("heading", name="Approve Long Address Florist")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _submit(app, company_id, *names):
    with app.app_context():
        for name in names:
            email = name.split()[0].lower() + "@newshop.example"
            requests.submit(company_id, business_name=name, contact_name=f"{name} owner", email=email, phone="",
                            city="", country="", message="")
        db.session.remove()


def _fits(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_staff_decide_several_requests_at_once_by_keyboard_on_a_phone(page, demo, app):
    _submit(app, _bloom(app), "Sunny Stems", "Daisy Days", "Tulip Town", "Orchid Outlet")
    page.set_viewport_size(PHONE)
    log_in(page, "sales@bloom.example")
    page.goto("/setup/users/invite/requests?status=pending")
    expect(page.get_by_role("link", name="Pending (4)")).to_be_visible()
    _fits(page)
    page.get_by_role("button", name="Approve selected").focus()
    page.keyboard.press("Enter")  # nothing ticked: told next to the buttons, nothing decided
    expect(page.get_by_role("alert")).to_have_text("Tick the requests to decide, or Select all on this page.")
    expect(page.get_by_role("link", name="Pending (4)")).to_be_visible()
    _fits(page)

    # Enter in a checkbox decides nothing: the form's default button is a disabled one.
    page.get_by_role("checkbox", name="Select Tulip Town").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="1 selected")).to_be_visible()
    expect(page.get_by_role("link", name="Pending (4)")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Select Tulip Town")).to_be_checked()
    page.keyboard.press("Space")  # unticked again

    page.get_by_role("checkbox", name="Select all on this page").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("status").filter(has_text="4 selected")).to_be_visible()
    for name in ("Sunny Stems", "Daisy Days", "Tulip Town", "Orchid Outlet"):
        expect(page.get_by_role("checkbox", name=f"Select {name}")).to_be_checked()
    page.get_by_role("checkbox", name="Select Orchid Outlet").focus()
    page.keyboard.press("Space")  # all but one
    expect(page.get_by_role("checkbox", name="Select all on this page")).not_to_be_checked()
    expect(page.get_by_role("status").filter(has_text="3 selected")).to_be_visible()
    shot(page, "39-access-requests-selected")
    page.get_by_role("button", name="Approve selected").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Approved 3 of 3 requests")).to_be_visible()
    summary = page.get_by_role("table", name="What happened to each selected request")
    expect(summary.get_by_role("row").filter(has_text="Daisy Days")).to_contain_text(
        "Approved into new customer Daisy Days.")
    _fits(page)
    shot(page, "39b-access-requests-decided")

    page.get_by_role("link", name="Back to pending requests").focus()
    page.keyboard.press("Enter")
    page.get_by_role("checkbox", name="Select Orchid Outlet").focus()
    page.keyboard.press("Space")
    page.locator("summary", has_text="Reject selected").focus()
    page.keyboard.press("Enter")  # opens the reason
    page.get_by_label("Reason (optional)").focus()
    page.keyboard.type("We only sell to florists.")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Include the reason in the emails to the requesters")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Reject selected")).to_be_focused()
    _fits(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Rejected 1 of 1 request")).to_be_visible()
    expect(page.get_by_role("cell", name="Rejected; the reason was included in the email.")).to_be_visible()

    page.get_by_role("link", name="See rejected requests").click()
    card = page.get_by_role("article", name="Orchid Outlet")
    expect(card).to_contain_text("Rejected by Sol Bloom")
    expect(card).to_contain_text(re.compile(r"E[SD]T\."))
    page.goto("/setup/users/invite/requests?status=approved")
    card = page.get_by_role("article", name="Daisy Days")
    expect(card).to_contain_text(re.compile(r"Approved into customer Daisy Days\s+by Sol Bloom on .+ E[SD]T\."))
    expect(card).to_contain_text(re.compile(r"Activation\s+to daisy@newshop.example: (Queued|Sending|Sent)"))
    expect(card).not_to_contain_text("already has a login linked")
    _fits(page)


def test_a_request_from_an_existing_customer_is_named_and_linked_to_it_in_one_keypress(page, demo, app):
    _submit(app, _bloom(app), "Green Market Inc.")
    page.set_viewport_size(PHONE)
    log_in(page, "admin@bloom.example")
    page.goto("/setup/users/invite/requests?status=pending")
    card = page.get_by_role("article", name="Green Market Inc.")
    expect(card).to_contain_text("This business name resembles your customer Green Market.")
    _fits(page)
    shot(page, "39c-access-request-lookalike")
    card.get_by_role("button", name="Link to this customer").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Green Market Inc. was approved")).to_be_visible()
    page.goto("/setup/users/invite/requests?status=approved")
    expect(page.get_by_role("article", name="Green Market Inc.")).to_contain_text(
        re.compile(r"Approved into customer Green Market\s+by Ada Bloom"))
