"""The screens hold to the Content-Security-Policy (no inline style or script, a nonce for the
one <style> Trix adds): what it would block is something that silently does not apply. Every
browser test fails on a violation (conftest's `csp_violations`); these walk the screens where
one was seen, and check that the check itself catches one."""
import pytest
from playwright.sync_api import expect

from tests.browser.steps import HISTORY, log_in, write_content
from tests.browser.test_messages_screens import PHONE, bloom

# Something other than the page's own code can leave an inline style on a form field (a password
# manager's icon, the browser's handle on a resized box, an extension): allowed, as it came
# through the style object. A re-rendered form must not copy it onto its new fields (htmx's
# settle did, with setAttribute, which the policy refuses: one violation per field).
MARK_FIELDS = """(ids) => ids.forEach((id) => { document.getElementById(id).style.outlineColor = 'rgb(200, 0, 0)'; })"""


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, PHONE], ids=["desktop", "phone"])
def test_new_message_and_its_invalid_save_break_no_policy(page, demo, csp_violations, viewport):
    page.set_viewport_size(viewport)
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY + "new")
    write_content(page, "Fresh peonies")
    page.get_by_role("button", name="Save").click()  # no title: 422, the page again with the editor
    expect(page.locator(".error").first).to_be_visible()
    write_content(page, "Fresh peonies")
    assert csp_violations == []


def test_add_ecommerce_user_re_rendered_by_htmx_breaks_no_policy(page, demo, csp_violations):
    log_in(page, "admin@bloom.example")
    page.goto("/setup/users/new")
    page.get_by_label("Name", exact=True).fill("Bob")
    page.get_by_label("Email", exact=True).fill("bob")
    page.evaluate(MARK_FIELDS, ["name", "email", "username", "customers-search", "user-form-save"])
    for _ in range(2):
        with page.expect_response(lambda response: response.status == 422):
            page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Enter a valid email address")).to_be_visible()
        page.evaluate(MARK_FIELDS, ["name", "email", "username", "customers-search", "user-form-save"])
    assert csp_violations == []


def test_a_message_history_edit_row_re_rendered_by_htmx_breaks_no_policy(page, demo, make, csp_violations):
    message = make.message(bloom(make), "Tulip week")
    log_in(page, "admin@bloom.example")
    page.goto(HISTORY)
    page.locator("tr", has_text="Tulip week").get_by_role("link", name="Edit").click()
    title = page.get_by_label("Title", exact=True)
    title.fill("")
    page.evaluate(MARK_FIELDS, [f"m{message.id}-title"])
    with page.expect_response(lambda response: response.status == 422):
        page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("This field is required.").or_(page.locator(".error")).first).to_be_visible()
    assert csp_violations == []


def test_the_check_catches_a_style_the_policy_blocks(page, demo, csp_violations):
    log_in(page, "admin@bloom.example")
    page.wait_for_url("**/setup/**")  # and loaded
    page.evaluate("document.body.setAttribute('style', 'outline: none')")
    expect(page.locator("body")).to_have_attribute("style", "outline: none")
    page.reload()  # the violation's report reaches the test before the page goes
    assert any("style-src" in violation for violation in csp_violations)
    csp_violations.clear()  # caught: this test passes
