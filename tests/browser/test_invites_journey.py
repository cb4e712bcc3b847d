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
from komet.invites import links
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
