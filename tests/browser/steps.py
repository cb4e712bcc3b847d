"""Steps that several browser journeys take, written once."""
from playwright.sync_api import expect

from komet.demo import DEMO_PASSWORD

HISTORY = "/setup/settings/promotions-and-messages/"


def until(page, predicate):
    """Wait until the JavaScript function `predicate` returns true in the page: page.wait_for_function
    polls with eval, which the Content-Security-Policy forbids, so the check is built into the source."""
    page.evaluate(f"() => new Promise((done) => {{ const check = () => ({predicate})() ? done() : setTimeout(check, 20); check(); }})")


def log_in(page, email, password=DEMO_PASSWORD):
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    # Until the page after the login has loaded: a goto() meanwhile would race the redirect.
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def log_out(page):
    page.get_by_role("button", name="Log out").click()


def write_content(page, text):
    """Type into the Content editor once Trix has set it up (it loads only where an editor is
    shown, after the page: until then the element is not editable)."""
    until(page, "() => document.querySelector('trix-editor')?.editor")
    page.get_by_label("Content").fill(text)


def create_message(page, title, kind, customers=()):
    """An admin's New Message, published now, as a Pop-up or a Window, for all customers or for
    `customers` (names), each found by typing the first word of its name."""
    page.goto(HISTORY + "new")
    page.get_by_label("Title", exact=True).fill(title)
    write_content(page, f"{title}: fresh stock this week.")
    page.get_by_label("Publish now").check()
    page.get_by_label("Expires On").fill("2031-01-01T09:00")
    page.get_by_label(kind, exact=True).check()
    if customers:
        page.get_by_role("radio", name="Chosen customers").check()
    for name in customers:
        pick_customer(page, name.split()[0], name)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"Message “{title}” saved.")).to_be_visible()


def pick_customer(page, typed, name):
    """Find a customer in a picker by typing, tick it, and see it among the chosen ones."""
    page.get_by_label("Find customers by name or code").fill(typed)
    page.get_by_role("list", name="Matches").get_by_role("checkbox", name=name).check()
    expect(page.get_by_role("list", name="Chosen customers").get_by_role("checkbox", name=name)).to_be_checked()


def answer_confirmation(page, yes, says=None):
    """Answer the app's confirmation dialog (static/js/confirm.js): its last button confirms."""
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    if says:
        expect(dialog).to_contain_text(says)
    if yes:
        dialog.get_by_role("button").last.click()
    else:
        dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
