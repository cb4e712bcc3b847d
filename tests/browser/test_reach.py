"""Reach at a glance: Message History's "1 of N customers" and the who-read page's chart."""
import re

from playwright.sync_api import expect

from tests.browser.steps import HISTORY, create_message, log_in
from tests.browser.conftest import shot



def test_staff_see_the_reach_of_a_read_message_and_its_chart(page, demo):
    log_in(page, "admin@bloom.example")
    create_message(page, "Peony preview", "Pop-up")
    page.get_by_role("button", name="Log out").click()

    log_in(page, "buyer@rosecafe.example")
    page.get_by_role("dialog", name="Peony preview").get_by_role("button", name="Close Peony preview").click()
    page.wait_for_timeout(500)  # the read is posted in the background
    page.get_by_role("button", name="Log out").click()

    log_in(page, "admin@bloom.example")
    page.goto(HISTORY)
    reach = page.locator("tr", has_text="Peony preview").locator("td.num")
    expect(reach).to_have_text(re.compile(r"^1 of \d+ customers? read Peony preview$"))
    audience = int(re.match(r"1 of (\d+)", reach.inner_text()).group(1))
    reach.get_by_role("link", name=re.compile("read Peony preview")).click()

    expect(page.get_by_role("heading", name="Who read “Peony preview”")).to_be_visible()
    expect(page.get_by_text(f"1 of {audience} customer")).to_be_visible()
    chart = page.get_by_role("figure")
    expect(chart.get_by_role("img", name=re.compile("Bar chart of customers reading per day"))).to_be_visible()
    expect(chart.locator("figcaption")).to_contain_text("Customers reading per day since")
    expect(chart.locator("rect.bar")).to_have_count(1)
    chart.get_by_text("The numbers", exact=True).click()
    today = chart.get_by_role("row").nth(1)
    expect(today.get_by_role("cell").nth(1)).to_have_text("1")
    expect(today.get_by_role("cell").nth(2)).to_have_text(f"1 ({round(100 / audience)}%)")
    expect(page.get_by_role("cell", name="buyer@rosecafe.example")).to_be_visible()
    shot(page, "12-who-read-chart")
