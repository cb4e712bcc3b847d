"""Two-step verification on a phone, by keyboard only: an Admin turns it on, logs in with a code,
and requires it for every staff member."""
from datetime import datetime, timedelta, timezone

import pyotp
from playwright.sync_api import expect

from komet.demo import DEMO_PASSWORD
from tests.browser.conftest import shot
from tests.browser.test_phone_width import PHONE


def _type_into(page, label, text):
    page.get_by_label(label, exact=True).focus()
    page.keyboard.type(text)


def _log_in_by_keyboard(page, email):
    page.goto("/login")
    _type_into(page, "Email", email)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")


def _code_of_next_step(key):
    """A code the login has not used: the next 30-second step's (one step of drift is accepted)."""
    return pyotp.TOTP(key).at(datetime.now(timezone.utc) + timedelta(seconds=30))


def test_admin_turns_on_two_step_logs_in_with_a_code_and_requires_it_for_staff(page, demo):
    page.set_viewport_size(PHONE)
    _log_in_by_keyboard(page, "admin@bloom.example")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()

    page.goto("/account/two-step")
    expect(page.get_by_text("Two-step verification is off")).to_be_visible()
    page.get_by_role("link", name="Turn on two-step verification").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("img", name="QR code that adds Komet (admin@bloom.example) to an authenticator app")) \
        .to_be_visible()
    key = page.locator("#two-step-key").inner_text().replace(" ", "")
    shot(page, "45-two-step-setup")
    _type_into(page, "Code from your app", "123")
    page.keyboard.press("Enter")
    expect(page.get_by_text("That code isn't right.")).to_be_visible()
    _type_into(page, "Code from your app", pyotp.TOTP(key).now())
    page.keyboard.press("Enter")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    shot(page, "46-two-step-recovery-codes")
    page.get_by_role("link", name="I have saved them — continue").focus()
    page.keyboard.press("Enter")

    page.get_by_role("button", name="Log out").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    _log_in_by_keyboard(page, "admin@bloom.example")
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    shot(page, "47-two-step-login")
    _type_into(page, "Code", "000000")
    page.keyboard.press("Enter")
    expect(page.get_by_text("That code isn't right or was already used.")).to_be_visible()
    _type_into(page, "Code", _code_of_next_step(key))
    page.get_by_label("Don't ask again on this device for 30 days").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()

    require = page.get_by_label("Require two-step verification for all staff")
    require.focus()
    page.keyboard.press("Space")
    page.get_by_role("region", name="Security").get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Two-step verification is now required for all staff.")).to_be_visible()
    expect(page.get_by_label("Require two-step verification for all staff")).to_be_checked()
    expect(page.get_by_text("1 of ")).to_be_visible()  # the Admin uses it; the others will be asked
