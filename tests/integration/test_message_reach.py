"""Reach: "2 of 3 customers" in Message History, and the who-read page's chart, pages and CSV."""
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, update

from komet.clock import utcnow
from komet.extensions import db
from komet.messages.buyers import mark_read
from komet.models import Customer, Message, MessageCustomer, MessageCustomerRead, MessageRead, User

URL = "/setup/settings/promotions-and-messages/"


def read(app, message, buyer, customer, at=None):
    """`buyer` read `message` for `customer` (at `at`, or now), as the shop records it."""
    with app.app_context():
        mark_read(db.session.get(Message, message.id), buyer.id, customer.id, at)
        db.session.commit()


def choose(app, message, *customers):
    with app.app_context():
        db.session.get(Message, message.id).for_all_customers = False
        db.session.add_all(MessageCustomer(message_id=message.id, customer_id=c.id) for c in customers)
        db.session.commit()


def many_readers(app, company, message, count, start):
    """`count` customers, each with a buyer who read `message`, one an hour from `start`: in bulk."""
    with app.app_context():
        ids = range(1, count + 1)
        db.session.execute(insert(Customer), [{"company_id": company.id, "name": f"Reader {n:05d}"} for n in ids])
        db.session.execute(insert(User), [{"email": f"reader{n}@example.com", "name": f"Reader {n}"} for n in ids])
        customers = db.session.scalars(db.select(Customer.id).where(Customer.name.like("Reader %"))
                                       .order_by(Customer.name)).all()
        users = db.session.scalars(db.select(User.id).where(User.email.like("reader%"))
                                   .order_by(User.id)).all()
        times = [start + timedelta(hours=n) for n in range(count)]
        db.session.execute(insert(MessageRead), [
            {"message_id": message.id, "user_id": u, "customer_id": c, "company_id": company.id, "read_at": t}
            for u, c, t in zip(users, customers, times)])
        db.session.execute(insert(MessageCustomerRead), [
            {"message_id": message.id, "customer_id": c, "first_read_at": t} for c, t in zip(customers, times)])
        db.session.execute(update(Message).where(Message.id == message.id).values(customers_read=count))
        db.session.commit()


def read_cell(page, title):
    row = re.search(rf"<tr id=\"message-\d+\">\s*<td[^>]*>{re.escape(title)}.*?</tr>", page, re.S).group(0)
    return re.sub(r"<[^>]+>", "", re.search(r'<td class="num"[^>]*>(.*?)</td>', row, re.S).group(1)).strip()


def test_history_says_how_many_of_the_chosen_customers_read(app, client, make):
    company = make.company()
    customers = [make.customer(company) for _ in range(4)]
    message = make.message(company, "Chosen few")
    choose(app, message, *customers[:3])
    for customer in customers[:2]:
        read(app, message, make.buyer(customer), customer)
    page = client.login_as(make.staff(company)).get(URL).data.decode()
    assert read_cell(page, "Chosen few") == "2 of 3 customers read Chosen few"


def test_history_says_how_many_of_all_customers_read_and_links_to_who_read(app, client, make, two_companies):
    company, customer = two_companies["a"], two_companies["a_customer"]
    for _ in range(4):
        make.customer(company)  # 5 customers; the other company's customer does not count
    message = make.message(company, "For everyone")
    unread = make.message(company, "Nobody yet", starts_in=timedelta(hours=-2))
    read(app, message, two_companies["a_buyer"], customer)
    page = client.login_as(two_companies["a_admin"]).get(URL).data.decode()
    assert read_cell(page, "For everyone") == "1 of 5 customers read For everyone"
    assert f'href="{URL}{message.id}/readers">1 of 5 customers' in page
    assert read_cell(page, "Nobody yet") == "0 of 5 customers read Nobody yet"
    assert f"{URL}{unread.id}/readers" not in page


def test_who_read_page_opens_with_the_reach_and_a_chart_with_its_numbers(app, client, make):
    company = make.company()
    customers = [make.customer(company) for _ in range(4)]
    message = make.message(company, "Three days", starts_in=timedelta(days=-2, hours=-1), lasts=timedelta(days=5))
    now = utcnow()
    read(app, message, make.buyer(customers[0]), customers[0], now - timedelta(days=2))
    read(app, message, make.buyer(customers[1]), customers[1], now - timedelta(minutes=5))
    read(app, message, make.buyer(customers[2]), customers[2], now - timedelta(minutes=1))
    page = client.login_as(make.staff(company)).get(f"{URL}{message.id}/readers").data.decode()
    assert "3 of 4 customers read this message (75%)." in page
    assert '<svg viewBox="0 0 640 190" role="img"' in page and page.count('<rect class="bar"') >= 3
    assert "Customers reading per day since" in page and "75% of the audience so far" in page
    numbers = re.findall(r'<td class="num">(\d+)</td>\s*<td class="num">(\d+) \((\d+)%\)</td>', page)
    assert numbers[0] == ("1", "1", "25") and numbers[-1] == ("2", "3", "75")
    assert sum(int(day) for day, _, _ in numbers) == 3


def test_reads_either_side_of_midnight_in_new_york_fall_on_their_own_days_in_the_chart(app, client, make):
    company = make.company()  # America/New_York; clocks fall back on Nov 1, 2026
    customers = [make.customer(company) for _ in range(2)]
    message = make.message(company, "Fall back", starts_in=datetime(2026, 10, 31, 16, tzinfo=timezone.utc) - utcnow(),
                           lasts=timedelta(days=5))
    read(app, message, make.buyer(customers[0]), customers[0], datetime(2026, 11, 2, 4, 30, tzinfo=timezone.utc))
    read(app, message, make.buyer(customers[1]), customers[1], datetime(2026, 11, 2, 5, 30, tzinfo=timezone.utc))
    page = client.login_as(make.staff(company)).get(f"{URL}{message.id}/readers").data.decode()
    days = dict(re.findall(r"<tr><td>(\w{3} \d+)</td><td class=\"num\">(\d+)</td>", page))
    assert days == {"Oct 31": "0", "Nov 1": "1", "Nov 2": "1", "Nov 3": "0", "Nov 4": "0", "Nov 5": "0"}


def test_a_draft_has_no_chart_and_nobody_has_read_it(client, make):
    company = make.company()
    make.customer(company)
    draft = make.message(company, "Later", starts_in=timedelta(days=1))
    page = client.login_as(make.staff(company)).get(f"{URL}{draft.id}/readers").data.decode()
    assert "0 of 1 customer read this message (0%)." in page and "<svg" not in page
    assert "Nobody has read this message yet." in page and "Download CSV" not in page


def test_thirty_readers_make_two_pages_of_25_and_the_pager_swaps_the_table_alone(app, client, make):
    company = make.company()
    message = make.message(company, "Popular", starts_in=timedelta(days=-3))
    many_readers(app, company, message, 30, utcnow() - timedelta(days=2))
    client.login_as(make.staff(company))
    first = client.get(f"{URL}{message.id}/readers").data.decode()
    assert "Page 1 of 2" in first and "Reader 00025" in first and "Reader 00026" not in first
    assert f'href="{URL}{message.id}/readers?page=2"' in first
    second = client.hx_get(f"{URL}{message.id}/readers?page=2")
    html = second.data.decode()
    assert second.status_code == 200 and "<html" not in html and html.lstrip().startswith('<div id="readers-table">')
    assert "Page 2 of 2" in html and "Reader 00030" in html and "Reader 00025" not in html
    assert "HX-Request" in second.headers["Vary"]
    assert client.get(f"{URL}{message.id}/readers?page=2").data.decode().count("<html") == 1  # Back, reload


def test_csv_has_every_reader_not_just_a_page(app, client, make):
    company = make.company()
    message = make.message(company, "Popular", starts_in=timedelta(days=-3))
    many_readers(app, company, message, 30, utcnow() - timedelta(days=2))
    csv = client.login_as(make.staff(company)).get(f"{URL}{message.id}/readers.csv").data.decode("utf-8")
    lines = csv.strip().splitlines()
    assert len(lines) == 31 and lines[1].startswith("Popular,Reader 00001,") and "Reader 00030" in lines[-1]


def test_who_read_page_runs_the_same_few_queries_for_one_reader_or_ten_thousand(app, client, make, queries):
    company = make.company()
    few, many = make.message(company, "Few"), make.message(company, "Many", starts_in=timedelta(days=-20))
    customer = make.customer(company)
    read(app, few, make.buyer(customer), customer)
    many_readers(app, company, many, 10_000, utcnow() - timedelta(days=19))
    client.login_as(make.staff(company))
    with queries:
        small = client.get(f"{URL}{few.id}/readers")
    one_reader = queries.count
    with queries:
        big = client.get(f"{URL}{many.id}/readers")
    assert small.status_code == big.status_code == 200
    # User, message, audience, chart's bars, a page of readers; with a next page, its capped count.
    assert one_reader <= 5 and queries.count <= one_reader + 1
    assert not any("OVER" in statement for statement in queries.statements)
    page = big.data.decode()
    assert "Page 1 of 40+" in page and page.count("<tr><td>Reader ") == 25
    assert "10000 of 10001 customers read this message" in page
    with queries:
        again = client.get(f"{URL}{many.id}/readers").data.decode()
    assert queries.count <= one_reader  # the chart's bars come from the cache until someone else reads
    assert "<svg" in again and "Page 1 of 40+" in again
    with queries:
        client.hx_get(f"{URL}{many.id}/readers?page=200")
    assert queries.count <= 4  # user, message, a page of readers and its count: no chart for a page turn


def test_a_row_drawn_again_after_publish_still_says_reach(client, make, two_companies):
    company = two_companies["a"]  # Alpha Customer, and the buyers' other customers of A
    draft = make.message(company, "Soon", starts_in=timedelta(days=1))
    client.login_as(two_companies["a_admin"])
    customers = len(re.findall(r"\d+ of (\d+) customers?", client.get(URL).data.decode()))
    row = client.hx_post(f"{URL}{draft.id}/publish").data.decode()
    assert re.search(r"0 of \d+ customers?", row) and customers == 1
