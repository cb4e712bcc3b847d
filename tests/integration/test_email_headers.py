"""What people type into forms reaches a subject as one clean line, and an email that can never
be sent ends `failed` with its reason: real gunicorn, real dramatiq worker, real SMTP sink."""
import pytest
from sqlalchemy import select

from komet.clock import utcnow
from komet.extensions import db
from komet.invites import links
from komet.models import AccessRequest, Email, EmailStatus
from tests.factories import PASSWORD
from tests.faults import outbox_rows, wait_until
from tests.integration.test_real_processes import Browser
from tests.stack import Stack

BROKEN = "Green\r\nMarket\tBcc: evil@example.com\x0b\u2028Ltd"  # what a raw POST can carry
REGISTER = {"business_name": "Rose Café", "contact_name": "Rosa Diaz", "email": "rosa@example.com",
            "phone": "555-0100", "city": "Miami", "country": "USA", "message": "Hello", "website": ""}


@pytest.fixture(scope="module")
def header_stack(app, smtp_sink, tmp_path_factory):
    """web, one worker and a scheduler that re-drives at once; no rate limit in the way of the
    many Register Here posts of this module."""
    running = Stack(app.config["SQLALCHEMY_DATABASE_URI"], smtp_sink.port, smtp_sink.path,
                    tmp_path_factory.mktemp("headers"), INVITE_REQUEST_RATE_LIMIT="1000 per minute",
                    INVITE_LINK_RATE_LIMIT="1000 per minute", SCHEDULER_INTERVAL_SECONDS="1",
                    OUTBOX_REDRIVE_AFTER_SECONDS="1")
    with running:
        yield running


def _settled(app):
    """Every email is sent, failed or skipped (none pending or in hand)."""
    return wait_until(lambda: all(r.status not in (EmailStatus.PENDING, EmailStatus.SENDING)
                                  for r in outbox_rows(app)), timeout=30)


def _register(app, stack, company, **fields):
    with app.app_context():
        token = links.link_for(company.id).token
    return Browser(stack.url).submit(f"/i/{token}/register", {**REGISTER, **fields})


def test_line_breaks_in_register_here_give_one_line_subjects_and_no_added_header(app, make, header_stack, smtp_sink):
    company = make.company("Alpha Flowers")
    admin = make.staff(company)
    status, page = _register(app, header_stack, company, business_name=BROKEN, contact_name=BROKEN, city=BROKEN,
                             country=BROKEN, phone="555\r\n0100", message=BROKEN)
    assert status == 200 and "Thank you" in page
    [to_staff] = smtp_sink.wait_for(1, address=admin.email)
    [to_visitor] = smtp_sink.wait_for(1, address="rosa@example.com")
    assert to_staff["Subject"] == "New access request from Green Market Bcc: evil@example.com Ltd"
    assert to_visitor["Subject"] == "Alpha Flowers received your request"
    assert to_staff["Bcc"] is None and all("evil" not in m["X-Envelope-To"] for m in (to_staff, to_visitor))
    assert _settled(app) and {r.status for r in outbox_rows(app)} == {EmailStatus.SENT}


@pytest.mark.parametrize("field", sorted(set(REGISTER) - {"website"}))
@pytest.mark.parametrize("value", ["Green\x00Market", "G" * 10_000], ids=["nul", "10000-chars"])
def test_a_nul_or_10000_characters_in_any_register_here_field_leaves_no_email_waiting(
        app, make, header_stack, smtp_sink, field, value):
    company = make.company()
    make.staff(company)
    try:
        status, _ = _register(app, header_stack, company, **{field: value})
    except OSError as refused:  # urllib raises for a 4xx
        status = refused.code
    assert status in (400, 422)  # refused with a field error (or the NUL check), nothing stored
    with app.app_context():
        assert db.session.scalar(select(AccessRequest)) is None
    assert outbox_rows(app) == []


def test_a_seller_name_with_line_breaks_and_a_long_name_gives_a_one_line_activation_subject(
        app, make, header_stack, smtp_sink):
    company = make.company("Rose\r\nWholesale\t\u202eLtd " + "x" * 95)
    admin, customer = make.staff(company), make.customer(company)
    browser = Browser(header_stack.url)
    browser.submit("/login", {"email": admin.email, "password": PASSWORD})
    status, _ = browser.submit("/setup/users/new", {"name": "Ada\r\nLovelace " + "y" * 100, "email": "ada@example.com",
                                                     "username": "ada", "customers": str(customer.id)})
    assert status == 200
    [activation] = smtp_sink.wait_for(1, address="ada@example.com")
    subject = activation["Subject"]
    assert subject.startswith("Rose Wholesale Ltd xxx") and "\n" not in subject and len(subject) <= 150
    assert subject.endswith("…")
    assert _settled(app) and [r.status for r in outbox_rows(app)] == [EmailStatus.SENT]


def test_an_address_the_server_cannot_take_ends_failed_with_its_reason_for_the_admin(
        app, client, make, header_stack, smtp_sink):
    company = make.company("Alpha Flowers")
    admin = make.staff(company)
    # Register Here takes an internationalised address; this SMTP server offers no SMTPUTF8.
    status, _ = _register(app, header_stack, company, email="josé@example.com")
    assert status == 200
    # Rows no form lets through, written as another program might: a line break in the
    # recipient, and an address the server refuses with a 5xx.
    with app.app_context():
        for address in ("x@example.com\r\nBcc: evil@example.com", "a@b..com", "a@b@example.com"):
            db.session.add(Email(kind="password_changed", to_address=address, company_id=company.id,
                                 context={"user_id": admin.id}, status=EmailStatus.PENDING, created_at=utcnow()))
        db.session.commit()
    assert _settled(app), header_stack.log("worker")[-3000:]
    rows = {r.to_address: r for r in outbox_rows(app)}
    assert rows[admin.email].status == EmailStatus.SENT  # the staff email still went
    reasons = {address: rows[address].last_error for address in rows if address != admin.email}
    assert all(rows[address].status == EmailStatus.FAILED for address in reasons), reasons
    assert "SMTPUTF8" in reasons["josé@example.com"]
    assert "line break" in reasons["x@example.com\r\nBcc: evil@example.com"]
    assert "553" in reasons["a@b..com"]
    assert "not an email address" in reasons["a@b@example.com"]
    assert len(smtp_sink.messages()) == 1 and smtp_sink.messages()[0]["To"] == admin.email
    client.login_as(admin)
    page = client.get(f"/setup/emails/{rows['a@b..com'].id}").get_data(as_text=True)
    assert "Failed" in page and "553" in page
