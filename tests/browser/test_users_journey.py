"""E-commerce users, clicked through in Chromium against the real web and worker processes."""
import re

from playwright.sync_api import expect
from sqlalchemy import select

from komet.extensions import db
from komet.models import Company
from tests.factories import Made
from tests.browser.steps import log_in, log_out
from tests.browser.conftest import shot
from tests.mailsink import text_of

NEW_PASSWORD = "sunflowers at dawn"


def link_from(smtp_sink, address, count, path):
    messages = smtp_sink.wait_for(count, address=address)
    assert len(messages) >= count, f"no email #{count} to {address}"
    return messages[-1], re.search(rf"(http://\S+/{path}/\S+)", text_of(messages[-1])).group(1)


def add_user(page, name, email, username, customer_search, customer):
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Add E-Commerce User").click()
    expect(page.get_by_role("heading", name="Add E-Commerce User")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Find customers by name or code").fill(customer_search)
    page.get_by_role("checkbox", name=customer).check()
    expect(page.get_by_role("list", name="Chosen customers").get_by_role("checkbox", name=customer)).to_be_checked()


def test_staff_add_a_buyer_who_activates_then_a_second_seller_links_the_same_login(page, demo, smtp_sink):
    log_in(page, "admin@bloom.example")
    add_user(page, "Nina Newshop", "nina@newshop.example", "nina", "rose", "Rose Café 🌹")
    shot(page, "20-add-ecommerce-user")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Nina Newshop was added as Pending")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Nina Newshop"))
    expect(row).to_contain_text("Pending")
    shot(page, "21-setup-users")
    log_out(page)

    message, url = link_from(smtp_sink, "nina@newshop.example", 1, "activate")
    assert "Bloom Wholesale Flowers" in message["Subject"] and "nina" in text_of(message)
    page.goto(url)
    expect(page.get_by_role("heading", name="Activate your login")).to_be_visible()
    shot(page, "22-activate")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Activate and log in").click()
    expect(page.get_by_role("heading", name="Welcome to Bloom Wholesale Flowers")).to_be_visible()
    expect(page.get_by_text("Buying for Rose Café 🌹")).to_be_visible()
    log_out(page)

    log_in(page, "admin@harvest.example")
    add_user(page, "Nina at Harvest", "NINA@newshop.example", "nina-h", "deli", "Green Market Deli")
    page.get_by_role("button", name="Save").click()
    dialog = page.get_by_role("dialog", name="This person already uses Komet")
    expect(dialog).to_be_visible()
    expect(dialog).not_to_contain_text("Bloom")  # staff never learn the other companies
    shot(page, "23-already-uses-komet")
    dialog.get_by_role("button", name="Add and ask them to confirm").click()
    expect(page.get_by_role("row", name=re.compile("Nina at Harvest"))).to_contain_text("Pending")
    log_out(page)

    message, url = link_from(smtp_sink, "nina@newshop.example", 2, "confirm-link")
    page.goto(url)
    page.get_by_role("button", name="Confirm Harvest Produce Co.").click()
    expect(page.get_by_text("You now work with Harvest Produce Co.")).to_be_visible()
    log_in(page, "nina@newshop.example", NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Choose a company")).to_be_visible()
    shot(page, "24-choose-after-confirm")
    page.get_by_role("button", name=re.compile("Harvest Produce Co.*Green Market Deli")).click()
    expect(page.get_by_role("heading", name="Welcome to Harvest Produce Co.")).to_be_visible()
    page.get_by_role("link", name="Change Company").click()
    page.get_by_role("button", name=re.compile("Bloom Wholesale Flowers.*Rose Café")).click()
    expect(page.get_by_role("heading", name="Welcome to Bloom Wholesale Flowers")).to_be_visible()


def test_staff_import_a_csv_with_two_bad_rows(page, demo, smtp_sink):
    rows = [f"Importer {n};importer{n}@shop.example;importer{n};{'Green Market' if n % 2 else 'Rose Café 🌹'}"
            for n in range(8)]
    rows += ["No Customer;nocustomer@shop.example;nocust;Nobody Ltd", "Bad Email;not-an-email;bademail;Green Market"]
    csv = ("\ufeffname;email;username;customer\n" + "\n".join(rows) + "\n").encode()
    log_in(page, "setup@bloom.example")
    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Import from CSV").click()
    page.get_by_label("CSV file").set_input_files(files=[{"name": "buyers.csv", "mimeType": "text/csv", "buffer": csv}])
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("Dry run of 10 rows")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Nobody Ltd"))).to_contain_text("No customer of yours")
    expect(page.get_by_role("row", name=re.compile("not-an-email"))).to_contain_text("not a valid address")
    shot(page, "25-import-dry-run")
    page.get_by_role("button", name="Import 8 rows").click()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("8 created")).to_be_visible()
    expect(page.get_by_text("2 refused")).to_be_visible()
    shot(page, "26-import-summary")
    page.get_by_role("link", name="Back to Users").click()
    expect(page.get_by_role("cell", name="importer7@shop.example")).to_be_visible()
    assert len(smtp_sink.wait_for(8)) >= 8


def test_setup_users_reads_as_compact_rows_on_a_phone(page, demo, make, app):
    phone = {"width": 390, "height": 844}
    page.set_viewport_size(phone)
    with app.app_context():
        bloom = Made(db.session.scalar(select(Company.id).where(Company.slug == "bloom")))
        db.session.remove()
    for n in range(25):
        make.ecommerce_user(bloom, email=f"phone-buyer-{n}@a-rather-long-shop-name.example")
    log_in(page, "admin@bloom.example")
    page.goto("/setup/users")
    expect(page.get_by_role("heading", name="E-Commerce Users")).to_be_visible()
    expect(page.locator("#users-table tbody tr")).to_have_count(25)
    assert page.evaluate("document.documentElement.scrollWidth") <= phone["width"]  # nothing scrolls sideways
    # A full page of 25 users is a few screens, not 9,000 px of cards: about 100 px a user.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4_000, f"Setup > Users is {height} px tall on a phone"
    expect(page.locator("tbody tr").first.locator("td[data-label='Customers']")).to_be_hidden()  # behind Edit
    row = page.locator("tbody tr", has_text="multi@greenmarket.example")  # the longest email
    expect(row.locator("td[data-label='Email']")).to_be_visible()
    edit = row.get_by_role("link", name=re.compile("^Edit"))
    box = edit.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= phone["width"]
    edit.click()
    expect(page.get_by_label("Name", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= phone["width"]
    shot(page, "27-setup-users-phone")


def test_disable_asks_in_the_apps_own_dialog_by_keyboard_on_a_phone(page, demo):
    page.set_viewport_size({"width": 390, "height": 844})
    native = []
    page.on("dialog", lambda dialog: (native.append(dialog.message), dialog.dismiss()))
    log_in(page, "admin@bloom.example")
    page.goto("/setup/users")
    row = page.locator("tbody tr", has_text="buyer@rosecafe.example")
    disable = row.get_by_role("button", name=re.compile("^Disable"))
    disable.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=re.compile(r"^Disable .*\?$"))
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("their other companies are not affected")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe answer first
    shot(page, "28-confirm-disable")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(disable).to_be_focused()
    expect(row).to_contain_text("Active")
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(row).to_contain_text("Disabled")
    expect(row.get_by_role("button", name=re.compile("^Enable"))).to_be_focused()
    assert not native, f"the browser's own confirm() was used: {native}"


def test_export_to_csv_downloads_what_the_search_shows_by_keyboard_on_a_phone(page, demo):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "admin@bloom.example")
    page.goto("/setup/users")
    page.get_by_label("Search").fill("rosecafe")
    expect(page.locator("#users-table tbody tr")).to_have_count(1)  # the list swapped in by htmx
    export = page.get_by_role("link", name=re.compile("^Export to CSV"))
    expect(export).to_have_accessible_name("Export to CSV (1 e-commerce user matching this search)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "29a-users-search-export")
    export.focus()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0].startswith("name,email,username,customer,status,last sign-in")
    assert len(lines) == 2 and "buyer@rosecafe.example" in lines[1]


def test_a_buyer_logs_out_another_device_from_profile_by_keyboard_on_a_phone(page, demo, app):
    from datetime import timedelta

    from komet.clock import utcnow
    from komet.models import LoginSession, User
    from tests.integration.test_devices import IPHONE_SAFARI

    page.set_viewport_size({"width": 390, "height": 844})
    with app.app_context():
        rosa = db.session.scalar(select(User).where(User.email == "buyer@rosecafe.example"))
        earlier = utcnow() - timedelta(days=2)
        db.session.add(LoginSession(key="an-iphone-elsewhere", user_id=rosa.id, created_at=earlier,
                                    last_seen_at=earlier, user_agent=IPHONE_SAFARI))
        db.session.commit()
        db.session.remove()
    log_in(page, "buyer@rosecafe.example")
    page.get_by_role("link", name="Profile").click()
    devices = page.get_by_role("table", name="Your devices")
    expect(devices.get_by_role("row")).to_have_count(3)  # the header and two devices
    expect(devices.get_by_role("row", name=re.compile(r"\(this device\)"))).to_contain_text("Chrome")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "29-profile-devices")
    other = devices.get_by_role("button", name=re.compile("^Log out Mobile Safari 17 on iOS 17"))
    other.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Log out Mobile Safari 17 on iOS 17?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("That device is logged out.")).to_be_visible()
    expect(devices.get_by_role("row")).to_have_count(2)
    with app.app_context():
        assert db.session.get(LoginSession, "an-iphone-elsewhere") is None
        db.session.remove()


def test_a_buyer_disabled_at_their_only_seller_learns_who_ended_it_on_a_phone(page, demo, app):
    from sqlalchemy import update

    from komet.models import EcommerceUser, LinkStatus, User

    page.set_viewport_size({"width": 390, "height": 844})
    with app.app_context():
        rosa = select(User.id).where(User.email == "buyer@rosecafe.example").scalar_subquery()
        db.session.execute(update(EcommerceUser).where(EcommerceUser.user_id == rosa)
                           .values(status=LinkStatus.DISABLED))
        db.session.commit()
        db.session.remove()
    log_in(page, "buyer@rosecafe.example")
    expect(page.get_by_role("heading", name="Bloom Wholesale Flowers has ended your access")).to_be_visible()
    expect(page.get_by_role("link", name="admin@bloom.example")).to_have_attribute("href", "mailto:admin@bloom.example")
    shot(page, "29c-access-ended")
    expect(page.get_by_text("not linked to any company yet")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
