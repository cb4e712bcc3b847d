"""What buyers see of Promotions and Messages, and how reading is recorded."""
from datetime import timedelta

from sqlalchemy import func, select

from komet.extensions import db
from komet.models import MessageCustomer, MessageRead


def read_rows(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(MessageRead))


def test_shop_shows_current_unread_messages_as_dialogs(client, make, two_companies):
    a = two_companies["a"]
    make.message(a, "Tulip week", type="popup")
    make.message(a, "Big news", type="window", starts_in=timedelta(minutes=-5))
    make.message(a, "Not yet", starts_in=timedelta(days=1))
    make.message(two_companies["b"], "Other seller's news")
    page = client.login_as(two_companies["a_buyer"]).get("/shop/").data.decode()
    assert 'class="message message-popup"' in page and "Tulip week" in page
    assert 'class="message message-window"' in page and "Big news" in page
    assert page.count("data-auto") == 2
    assert "Not yet" not in page and "Other seller" not in page


def test_closing_a_message_records_one_read_even_twice(app, client, make, two_companies):
    message = make.message(two_companies["a"])
    client.login_as(two_companies["a_buyer"])
    for _ in range(2):
        assert client.hx_post(f"/shop/messages/{message.id}/read").status_code == 204
    assert read_rows(app) == 1
    page = client.get("/shop/").data.decode()
    assert "data-auto" not in page  # read: it does not pop up again
    assert "Spring sale" in page  # but stays in the Messages menu


def test_shop_dialog_posts_its_read_when_it_closes(client, make, two_companies):
    message = make.message(two_companies["a"])
    page = client.login_as(two_companies["a_buyer"]).get("/shop/").data.decode()
    assert f'hx-post="/shop/messages/{message.id}/read" hx-trigger="close"' in page
    assert '<form method="dialog">' in page  # its close button closes it, with or without htmx


def test_message_for_other_customers_cannot_be_read(app, client, make, two_companies):
    a = two_companies["a"]
    message = make.message(a, "Only for someone else")
    other = make.customer(a)
    with app.app_context():
        from komet.models import Message

        db.session.get(Message, message.id).for_all_customers = False
        db.session.add(MessageCustomer(message_id=message.id, customer_id=other.id))
        db.session.commit()
    client.login_as(two_companies["a_buyer"])
    assert "Only for someone else" not in client.get("/shop/").data.decode()
    assert client.hx_post(f"/shop/messages/{message.id}/read").status_code == 404
    assert read_rows(app) == 0


def test_poll_answers_204_while_nothing_changed_and_the_region_when_it_did(client, make, two_companies):
    a = two_companies["a"]
    first = make.message(a, "First")
    client.login_as(two_companies["a_buyer"])
    assert client.hx_get(f"/shop/messages?known={first.id}").status_code == 204
    second = make.message(a, "Second")
    response = client.hx_get(f"/shop/messages?known={first.id}")
    assert response.status_code == 200
    body = response.data.decode()
    assert body.startswith('<div id="shop-messages"') and "Second" in body
    assert f"known={first.id}%2C{second.id}" in body or f"known={first.id},{second.id}" in body


def test_poll_is_the_session_check_alone_once_the_messages_are_cached(client, make, queries, two_companies):
    first = make.message(two_companies["a"])
    client.login_as(two_companies["a_buyer"])
    with queries:
        assert client.hx_get(f"/shop/messages?known={first.id}").status_code == 204
    assert queries.count == 3  # the user with the workspace, the messages, the next Publish On
    with queries:
        assert client.hx_get(f"/shop/messages?known={first.id}").status_code == 204
    assert queries.count == 1  # the user with the workspace and the cache versions


def test_shop_page_query_count_does_not_grow_with_messages_or_reads(app, client, make, queries, two_companies):
    a, buyer, customer = two_companies["a"], two_companies["a_buyer"], two_companies["a_customer"]
    client.login_as(buyer)
    make.message(a)
    with queries:
        assert client.get("/shop/").status_code == 200
    few = queries.count
    for n in range(10):
        message = make.message(a, f"Message {n}", type="window" if n % 2 else "popup")
        client.hx_post(f"/shop/messages/{message.id}/read")
    with queries:
        page = client.get("/shop/")
    assert page.status_code == 200 and "Message 9" in page.data.decode()  # the page rendered, with them
    assert queries.count == few
