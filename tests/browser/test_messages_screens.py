"""Promotions and Messages on real screens: desktop and phone widths, keyboard, axe."""
import base64
import io
import re

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from komet.extensions import db
from komet.models import Company, Customer, Message, MessageCustomer
from tests.browser.conftest import _isolate, shot
from tests.browser.steps import HISTORY, create_message, log_in, until, write_content
from tests.factories import Made

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def bloom(make):
    with make.app.app_context():
        return Made(db.session.scalar(select(Company.id).where(Company.slug == "bloom")))


def png_base64(size=(40, 30)):
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(data, "PNG")
    return base64.b64encode(data.getvalue()).decode()


def inside(box, viewport):
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5 \
        and box["y"] + box["height"] <= viewport["height"] + 0.5


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_many_unread_popups_keep_every_close_button_reachable_and_the_header_clear(page, demo, make, viewport):
    page.set_viewport_size(viewport)
    company = bloom(make)
    for n in range(8):
        make.message(company, f"Offer {n}", content="<p>" + "Fresh stems, straight from the grower. " * 4 + "</p>")
    log_in(page, "buyer@rosecafe.example")
    page.wait_for_url("**/shop/")  # loaded: the pop-ups come open in the markup, measure once it is styled
    open_popups = page.locator("dialog.message-popup[open]")
    expect(open_popups).to_have_count(3)  # the newest three; the rest wait in the menu
    for n in (5, 6, 7):
        expect(page.get_by_role("dialog", name=f"Offer {n}")).to_be_visible()
    header = page.locator("header.topbar").bounding_box()
    stack = page.locator(".popup-stack").bounding_box()
    assert stack["y"] >= header["y"] + header["height"]  # the header's links stay clickable
    for n in (5, 6, 7):
        close = page.get_by_role("button", name=f"Close Offer {n}")
        close.scroll_into_view_if_needed()
        assert inside(close.bounding_box(), viewport)
    if viewport is PHONE:
        shot(page, "13-shop-phone-messages")
    page.get_by_role("button", name="5 more messages").click()
    panel = page.locator(".messages-menu-panel")
    expect(panel).to_be_visible()
    assert inside(panel.bounding_box(), viewport)
    expect(page.locator(".messages-menu summary")).to_be_focused()
    page.get_by_role("button", name="Offer 0", exact=True).click()
    expect(panel).to_be_hidden()  # choosing a message closes the menu
    expect(page.get_by_role("button", name="Close Offer 0")).to_be_focused()  # one the buyer opens takes focus
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Offer 0")).to_be_hidden()


# The page's Cumulative Layout Shift so far (entries from before a person's input), read once
# the frames after the current one are drawn.
LAYOUT_SHIFT = """() => new Promise((done) => {
  let total = 0;
  const add = (entries) => entries.forEach((entry) => { if (!entry.hadRecentInput) total += entry.value; });
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({type: 'layout-shift', buffered: true});
  requestAnimationFrame(() => requestAnimationFrame(() => { add(observer.takeRecords()); observer.disconnect(); done(total); }));
})"""


def test_waiting_popups_move_nothing_on_a_phone(page, demo, make):
    company = bloom(make)
    for n in range(5):
        make.message(company, f"Offer {n}", content="<p>" + "Fresh stems, straight from the grower. " * 4 + "</p>")
    page.set_viewport_size(PHONE)
    log_in(page, "buyer@rosecafe.example")
    page.wait_for_url("**/shop/")  # and loaded
    expect(page.locator("dialog.message-popup[open]")).to_have_count(3)
    for n in (2, 3, 4):
        expect(page.get_by_role("dialog", name=f"Offer {n}")).to_be_visible()
    expect(page.get_by_role("button", name="2 more messages")).to_be_visible()
    assert page.evaluate(LAYOUT_SHIFT) <= 0.01  # Lighthouse measured 0.21 when the stack opened after load


def test_the_messages_menu_fits_a_phone_screen(page, demo, make):
    page.set_viewport_size(PHONE)
    make.message(bloom(make), "A rather long title for a message about this week's tulip and peony prices")
    log_in(page, "buyer@rosecafe.example")
    page.get_by_role("button", name=re.compile("^Close A rather long")).click()
    page.locator(".messages-menu summary").click()
    panel = page.locator(".messages-menu-panel")
    expect(panel).to_be_visible()
    assert inside(panel.bounding_box(), PHONE)


def test_the_window_reads_as_an_announcement_with_a_close_action_at_the_bottom(page, demo, make):
    make.message(bloom(make), "Holiday hours", type="window",
                 content="<p>" + "We close early on Christmas Eve and reopen on the 27th. " * 12 + "</p>")
    log_in(page, "buyer@rosecafe.example")
    window = page.get_by_role("dialog", name="Holiday hours")
    expect(window).to_be_visible()
    text = window.locator(".message-content").bounding_box()
    assert text["width"] < 900  # a readable measure, not the whole 1280-px width
    bottom = window.get_by_role("button", name="Close", exact=True)
    box = bottom.bounding_box()
    assert box["y"] > window.bounding_box()["y"] + window.bounding_box()["height"] / 2
    shot(page, "09-buyer-window")
    with page.expect_response(lambda response: response.url.endswith("/read") and response.status == 204):
        bottom.click()
    expect(window).to_be_hidden()
    page.reload()  # closed by mouse: read, so it does not open again
    expect(page.get_by_role("dialog", name="Holiday hours")).to_be_hidden()


def test_an_image_reaches_the_buyer_described_and_without_its_file_name_a_link_or_a_staff_url(page, demo):
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY + "new")
    page.get_by_label("Title", exact=True).fill("Roses in pictures")
    page.evaluate("""(b64) => {
        const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
        const file = new File([bytes], "roses.png", {type: "image/png"});
        document.querySelector("trix-editor").editor.insertFile(file);
    }""", png_base64())
    expect(page.locator("trix-editor img[src*='/shop/messages/images/']")).to_have_count(1)
    page.get_by_label("Description of image 1").fill("A bunch of red roses")
    page.get_by_label("Publish now").check()
    page.get_by_label("Expires On").fill("2031-01-01T09:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Message “Roses in pictures” saved.")).to_be_visible()
    # Opened again and saved unchanged, it stays the same: no link appears around the image.
    row = page.locator("tr", has_text="Roses in pictures")
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Description of image 1")).to_have_value("A bunch of red roses")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("tr", has_text="Roses in pictures").get_by_text("Published")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    log_in(page, "buyer@rosecafe.example")
    dialog = page.get_by_role("dialog", name="Roses in pictures")
    expect(dialog.get_by_role("img", name="A bunch of red roses")).to_be_visible()
    expect(dialog.get_by_role("link")).to_have_count(0)
    expect(dialog).not_to_contain_text("roses.png")
    expect(dialog).not_to_contain_text("Bytes")
    assert "/setup/" not in dialog.inner_html()


def test_a_refused_link_reaches_the_buyer_as_plain_text(page, demo):
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY + "new")
    page.get_by_label("Title", exact=True).fill("Order now")
    write_content(page, "Spring prices")
    page.get_by_label("Publish now").check()
    page.get_by_label("Expires On").fill("2031-01-01T09:00")
    page.evaluate("""() => { document.querySelector("input[name=content]").value =
        '<p>Spring prices: <a href="javascript:alert(1)">order here</a></p>'; }""")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Log out").click()
    log_in(page, "buyer@rosecafe.example")
    dialog = page.get_by_role("dialog", name="Order now")
    expect(dialog).to_contain_text("Spring prices: order here")
    expect(dialog.get_by_role("link")).to_have_count(0)


def test_message_history_reads_as_cards_on_a_phone(page, demo, make):
    company = bloom(make)
    for n in range(3):
        make.message(company, f"Weekly offer {n}")
    page.set_viewport_size(PHONE)
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing scrolls sideways
    row = page.locator("tr", has_text="Weekly offer 1")
    for action in ("Edit", "Preview"):
        assert inside(row.get_by_role("link", name=action).bounding_box(), {**PHONE, "height": 10_000})
    expect(row.locator("td[data-label='Status']")).to_be_visible()
    shot(page, "14-message-history-phone")
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Title", exact=True)).to_be_visible()
    until(page, "() => document.querySelector('trix-editor').editor")  # the editor and its toolbar are set up
    expect(page.locator("trix-toolbar .trix-button-group--history-tools")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_history_card_keeps_customers_read_clear_of_the_actions_on_a_phone(page, demo, make):
    make.message(bloom(make), "Weekly offer")
    page.set_viewport_size(PHONE)
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY)
    row = page.locator("tr", has_text="Weekly offer")
    # The cell's label is drawn by CSS (td::before): its box, from the cell's and its style.
    label = row.locator("td[data-label='Customers read']").evaluate("""(td) => {
        const box = td.getBoundingClientRect(), style = getComputedStyle(td, '::before');
        const top = box.top + parseFloat(getComputedStyle(td).paddingTop);
        return {y: top, height: parseFloat(style.height), cell_bottom: box.bottom};
    }""")
    actions = row.locator("td.actions").bounding_box()
    assert label["y"] + label["height"] <= actions["y"], f"“Customers read” {label} overlaps the actions {actions}"
    assert label["y"] + label["height"] <= label["cell_bottom"]


def test_new_message_says_which_zone_applies_next_to_each_time(page, demo):
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY + "new")
    publish_on, expires_on = page.get_by_label("Publish On"), page.get_by_label("Expires On")
    publish_on.fill("2027-07-01T09:00")
    expires_on.fill("2027-12-01T09:00")
    expect(page.locator("#publish_on-help")).to_have_text("America/New_York time (EDT)")
    expect(page.locator("#expires_on-help")).to_have_text("America/New_York time (EST)")
    expect(page.get_by_text("EST, America/New_York")).to_have_count(0)  # no zone for all times at once


def test_publish_now_disables_publish_on_and_says_why(page, demo):
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY + "new")
    page.get_by_label("Publish now").check()
    expect(page.get_by_label("Publish On")).to_be_disabled()
    expect(page.locator("#publish_on-help")).to_have_text("Publish now is ticked: the message is published when you save.")
    page.get_by_label("Publish now").uncheck()
    expect(page.get_by_label("Publish On")).to_be_enabled()
    expect(page.locator("#publish_on-help")).to_contain_text("America/New_York time")


def test_the_form_names_chosen_customers_once_and_lines_up_its_controls(page, demo):
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY + "new")
    expect(page.get_by_text("Chosen customers", exact=True)).to_have_count(1)
    box = page.get_by_label("Publish now").bounding_box()
    label = page.locator("label.check", has_text="Publish now").bounding_box()
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) <= 2
    page.goto(HISTORY)
    fonts = page.evaluate("""() => [getComputedStyle(document.querySelector('#q')).fontFamily,
                                    getComputedStyle(document.querySelector('#q')).fontSize,
                                    getComputedStyle(document.body).fontFamily,
                                    getComputedStyle(document.body).fontSize]""")
    assert fonts[0] == fonts[2] and fonts[1] == fonts[3]


def test_chosen_customers_are_found_by_typing_and_picked_and_removed_from_the_keyboard(page, demo):
    log_in(page, "admin@bloom.example")
    create_message(page, "Green week", "Pop-up", customers=["Rose Café 🌹"])
    row = page.locator("tr", has_text="Green week")
    row.get_by_role("link", name="Edit").click()
    picker = page.get_by_role("group", name="Customers")
    chosen = picker.get_by_role("list", name="Chosen customers")
    expect(chosen.get_by_role("checkbox")).to_have_count(1)  # only the chosen one, before any search
    expect(chosen.get_by_role("checkbox", name="Rose Café 🌹")).to_be_checked()
    search = picker.get_by_label("Find customers by name or code")
    search.fill("green")
    expect(picker.get_by_role("list", name="Matches").get_by_role("checkbox")).to_have_count(1)
    search.press("ArrowDown")
    expect(page.get_by_role("checkbox", name="Green Market")).to_be_focused()
    page.keyboard.press("Space")
    expect(chosen.get_by_role("checkbox", name="Green Market")).to_be_checked()
    expect(search).to_be_focused()
    shot(page, "15-audience-picker")
    chosen.get_by_role("checkbox", name="Rose Café 🌹").focus()
    page.keyboard.press("Space")  # unticked: the chip goes, and the focus stays in the list
    expect(chosen.get_by_role("checkbox")).to_have_count(1)
    expect(chosen.get_by_role("checkbox", name="Green Market")).to_be_focused()
    page.get_by_role("radio", name="All customers").check()
    expect(picker).to_be_hidden()
    page.get_by_role("radio", name="Chosen customers").check()
    row.get_by_role("button", name="Save").click()
    expect(row.locator("td.num")).to_have_text(re.compile(r"^0 of 1 customer read"))
    row.get_by_role("link", name="Edit").click()
    expect(chosen.get_by_role("checkbox", name="Green Market")).to_be_checked()
    expect(chosen.get_by_role("checkbox")).to_have_count(1)


def test_without_javascript_the_edit_page_keeps_the_chosen_customers(browser, demo, make, stack):
    message = make.message(bloom(make), "For Rose", starts_in=timedelta(days=1))
    with make.app.app_context():
        rose = db.session.scalar(select(Customer.id).where(Customer.name == "Rose Café 🌹"))
        db.session.get(Message, message.id).for_all_customers = False
        db.session.add(MessageCustomer(message_id=message.id, customer_id=rose))
        db.session.commit()
    context = browser.new_context(base_url=stack.url, java_script_enabled=False)
    page = context.new_page()
    _isolate(page)
    try:
        log_in(page, "admin@bloom.example")
        page.goto(f"{HISTORY}{message.id}/edit")
        expect(page.get_by_role("list", name="Chosen customers").get_by_role("checkbox", name="Rose Café 🌹")).to_be_checked()
        page.get_by_label("Title", exact=True).fill("Still for Rose")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Message “Still for Rose” saved.")).to_be_visible()
    finally:
        context.close()
    with make.app.app_context():
        assert db.session.scalars(select(MessageCustomer.customer_id)
                                  .where(MessageCustomer.message_id == message.id)).all() == [rose]


def test_pages_log_no_console_errors_and_the_markup_holds_together(page, demo):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto("/login")
    assert page.locator('meta[name="description"]').get_attribute("content")
    assert page.request.get("/favicon.ico").ok
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY + "new")
    editor = page.request.get(HISTORY + "new").text()
    assert re.search(r"<trix-editor[^>]*\brole=\"textbox\"", editor)  # in the markup, before any script runs
    page.goto(HISTORY)
    assert errors == []


def test_preview_closes_without_a_form_that_posts_anywhere(page, demo, make):
    message = make.message(bloom(make), "Preview me")
    log_in(page, "admin@bloom.example")
    page.goto(f"{HISTORY}{message.id}/preview")
    dialog = page.get_by_role("dialog", name="Preview me")
    expect(dialog).to_be_visible()
    assert dialog.locator("form").evaluate_all("forms => forms.map(f => f.getAttribute('method'))") == ["dialog"]
    dialog.get_by_role("button", name="Close Preview me").click()
    expect(dialog).to_be_hidden()


def test_the_company_selection_screen_repeats_no_element_id(page, demo):
    log_in(page, "multi@greenmarket.example")
    expect(page.get_by_role("heading", name="Choose a company")).to_be_visible()
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids))
