"""Message rules on the real database, with a fixed clock."""
import threading
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from komet.messages import admin, buyers, schedule
from komet.extensions import db
from komet.models import Message, MessageCustomer, MessageRead, MessageStatus, MessageType

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def add_message(company, title="Sale", type=MessageType.POPUP, publish_on=NOW - HOUR, expires_on=NOW + HOUR,
                customers=None):
    message = Message(company_id=company.id, title=title, content_html="<p>Hi</p>", type=type,
                      publish_on=publish_on, expires_on=expires_on, for_all_customers=customers is None)
    db.session.add(message)
    db.session.flush()
    for customer in customers or []:
        db.session.add(MessageCustomer(message_id=message.id, customer_id=customer.id))
    db.session.commit()
    return message


def titles(shown):
    return [s.message.title for s in shown]


def test_buyer_sees_current_messages_in_publish_order(app, two_companies):
    a, customer, buyer = two_companies["a"], two_companies["a_customer"], two_companies["a_buyer"]
    with app.app_context():
        add_message(a, "Later", publish_on=NOW - HOUR)
        add_message(a, "Earlier", publish_on=NOW - 2 * HOUR)
        add_message(a, "Tomorrow", publish_on=NOW + 24 * HOUR, expires_on=NOW + 48 * HOUR)
        add_message(a, "Yesterday", publish_on=NOW - 48 * HOUR, expires_on=NOW - 24 * HOUR)
        add_message(two_companies["b"], "Other seller")
        shown = buyers.current_for_customer(a.id, customer.id, buyer.id, now=NOW)
    assert titles(shown) == ["Earlier", "Later"]


def test_expired_message_disappears_even_if_the_scheduler_never_ran(app, two_companies):
    a, customer, buyer = two_companies["a"], two_companies["a_customer"], two_companies["a_buyer"]
    with app.app_context():
        message = add_message(a, "Flash sale", expires_on=NOW)
        message.status = MessageStatus.PUBLISHED  # the stored column says published
        db.session.commit()
        assert buyers.current_for_customer(a.id, customer.id, buyer.id, now=NOW) == []


def test_message_for_chosen_customers_reaches_only_them(app, make, two_companies):
    a, chosen, buyer = two_companies["a"], two_companies["a_customer"], two_companies["a_buyer"]
    other = make.customer(a, "Not chosen")
    with app.app_context():
        add_message(a, "Just for you", customers=[chosen])
        assert titles(buyers.current_for_customer(a.id, chosen.id, buyer.id, now=NOW)) == ["Just for you"]
        assert buyers.current_for_customer(a.id, other.id, buyer.id, now=NOW) == []


def test_second_window_in_same_period_shows_as_popup(app, two_companies):
    a, customer, buyer = two_companies["a"], two_companies["a_customer"], two_companies["a_buyer"]
    with app.app_context():
        add_message(a, "Second", MessageType.WINDOW, publish_on=NOW - HOUR)
        add_message(a, "First", MessageType.WINDOW, publish_on=NOW - 2 * HOUR)
        shown = buyers.current_for_customer(a.id, customer.id, buyer.id, now=NOW)
    assert [(s.message.title, s.as_window) for s in shown] == [("First", True), ("Second", False)]


def test_reading_twice_stores_one_read(app, two_companies):
    a, customer, buyer = two_companies["a"], two_companies["a_customer"], two_companies["a_buyer"]
    with app.app_context():
        message = add_message(a)
        buyers.mark_read(message, buyer.id, customer.id, now=NOW)
        buyers.mark_read(message, buyer.id, customer.id, now=NOW)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(MessageRead)) == 1
        [shown] = buyers.current_for_customer(a.id, customer.id, buyer.id, now=NOW)
        assert shown.read


def test_read_count_is_distinct_customers(app, make, two_companies):
    a, customer = two_companies["a"], two_companies["a_customer"]
    colleague = make.buyer(customer)
    second_customer = make.customer(a)
    third = make.buyer(second_customer)
    with app.app_context():
        message = add_message(a)
        add_message(a, "Unread")
        reads = [(two_companies["a_buyer"], customer), (colleague, customer), (third, second_customer),
                 (colleague, customer)]
        for user, cust in reads:
            buyers.mark_read(message, user.id, cust.id, now=NOW)
        db.session.commit()
        counts = dict(db.session.execute(select(Message.title, Message.customers_read)).all())
    assert counts == {"Sale": 2, "Unread": 0}


def test_two_users_of_one_customer_reading_at_once_count_once(app, make, two_companies):
    """The second transaction waits on the first's customer-read key, then counts nothing."""
    a, customer = two_companies["a"], two_companies["a_customer"]
    colleague = make.buyer(customer)
    with app.app_context():
        message_id = add_message(a).id
        first, second = Session(db.engine), Session(db.engine)
        try:
            messages_in = [s.get(Message, message_id) for s in (first, second)]
            with patch.object(db, "session", first):
                buyers.mark_read(messages_in[0], two_companies["a_buyer"].id, customer.id, now=NOW)
            errors = []

            def read_as_colleague():
                try:
                    with app.app_context(), patch.object(db, "session", second):
                        buyers.mark_read(messages_in[1], colleague.id, customer.id, now=NOW)
                    second.commit()
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)

            waiting = threading.Thread(target=read_as_colleague)
            waiting.start()
            waiting.join(0.5)  # the colleague's transaction is now blocked behind ours
            first.commit()
            waiting.join(10)
            assert not waiting.is_alive() and errors == []
        finally:
            first.close()
            second.close()
        assert db.session.scalar(select(Message.customers_read).where(Message.id == message_id)) == 1
        assert db.session.scalar(select(func.count()).select_from(MessageRead)) == 2


def test_overlap_warning_names_the_earlier_window(app, two_companies):
    a = two_companies["a"]
    with app.app_context():
        first = add_message(a, "Spring window", MessageType.WINDOW, publish_on=NOW - HOUR, expires_on=NOW + HOUR)
        add_message(a, "Far away window", MessageType.WINDOW, publish_on=NOW + 10 * HOUR, expires_on=NOW + 11 * HOUR)
        new = Message(company_id=a.id, title="New", type=MessageType.WINDOW, publish_on=NOW, expires_on=NOW + 2 * HOUR)
        assert admin.overlapping_window(new).id == first.id
        new.type = MessageType.POPUP
        assert admin.overlapping_window(new) is None


def test_sweeps_record_each_transition_once(app, two_companies):
    a = two_companies["a"]
    with app.app_context():
        due = add_message(a, "Due", publish_on=NOW - HOUR)
        gone = add_message(a, "Gone", publish_on=NOW - 3 * HOUR, expires_on=NOW - HOUR)
        future = add_message(a, "Future", publish_on=NOW + HOUR, expires_on=NOW + 2 * HOUR)
        assert schedule.sweep(NOW) == 2
        assert schedule.sweep(NOW) == 0  # a second scheduler finds nothing to do
        statuses = {m.title: (m.status, m.published_at) for m in db.session.scalars(select(Message))}
    assert statuses["Due"] == (MessageStatus.PUBLISHED, NOW)
    assert statuses["Gone"][0] == MessageStatus.EXPIRED
    assert statuses["Future"] == (MessageStatus.DRAFT, None)


def test_publish_sets_publish_on_to_now_and_records_the_status(app, two_companies):
    with app.app_context():
        draft = add_message(two_companies["a"], publish_on=NOW + HOUR, expires_on=NOW + 2 * HOUR)
        assert schedule.publish(draft, now=NOW) is True
        assert draft.publish_on == NOW and schedule.status_at(draft, NOW) == MessageStatus.PUBLISHED
        assert (draft.status, draft.published_at) == (MessageStatus.PUBLISHED, NOW)
