"""The operator page: only platform operators see it; it says which part is stuck."""
from datetime import timedelta

import pytest

from komet.clock import utcnow
from komet.extensions import db
from komet.models import Email, EmailStatus, User
from komet.ops import heartbeats, operators


@pytest.fixture
def operator(app):
    with app.app_context():
        user, password = operators.create_operator("Ops@Example.com", password="correct horse battery")
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def test_the_cli_creates_an_operator_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["operator", "create", "ops@example.com"])
    assert result.exit_code == 0 and "Password (shown once):" in result.output
    again = runner.invoke(args=["operator", "create", "OPS@example.com"])
    assert again.exit_code == 0 and "Password" not in again.output
    with app.app_context():
        users = db.session.query(User).filter_by(email="ops@example.com").all()
        assert len(users) == 1 and users[0].is_operator


def test_sellers_staff_buyers_and_strangers_get_404_on_every_operator_url(app, client, two_companies, make):
    failed = make.email(two_companies["a"], status=EmailStatus.FAILED)
    urls = [("get", "/operator/"), ("post", f"/operator/emails/{failed.id}/retry")]
    for who in (None, two_companies["a_admin"], two_companies["a_buyer"]):
        visitor = app.test_client()
        if who is not None:
            visitor.login_as(who)
        for method, url in urls:
            response = visitor.get(url) if method == "get" else visitor.form_post(url)
            assert response.status_code == 404, (who, url)
    with app.app_context():
        assert db.session.get(Email, failed.id).status == EmailStatus.FAILED


def test_an_operator_logs_in_to_the_operator_page(client, operator):
    response = client.form_post("/login", {"email": "ops@example.com", "password": "correct horse battery"})
    assert response.status_code == 303 and response.location.endswith("/operator/")
    assert client.get("/operator/").status_code == 200


def test_the_page_says_which_part_is_stuck_and_retries_a_failed_email_of_no_company(app, client, operator):
    with app.app_context():
        now = utcnow()
        heartbeats.beat("worker", now=now - timedelta(seconds=600))
        heartbeats.beat("scheduler", now=now)
        reset = Email(kind="password_reset", to_address="lost@example.com", status=EmailStatus.FAILED,
                      attempts=7, last_error="SMTPServerDisconnected: timed out")
        waiting = Email(kind="password_reset", to_address="wait@example.com", status=EmailStatus.PENDING,
                        created_at=now - timedelta(minutes=6))
        db.session.add_all([reset, waiting])
        db.session.commit()
        reset_id = reset.id
    client.form_post("/login", {"email": "ops@example.com", "password": "correct horse battery"})
    page = client.get("/operator/").get_data(as_text=True)
    assert 'data-part="worker" data-stuck="yes"' in page and "The worker is stuck" in page
    assert 'data-part="scheduler" data-stuck="no"' in page
    assert 'data-part="email" data-stuck="yes"' in page
    assert "lost@example.com" in page and "SMTPServerDisconnected" in page

    response = client.form_post(f"/operator/emails/{reset_id}/retry")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Email, reset_id).status == EmailStatus.PENDING
    assert "lost@example.com" not in client.get("/operator/").get_data(as_text=True)
