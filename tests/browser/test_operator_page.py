"""The operator's page: which process is stuck, by name, a failed email of no company retried, and
a process whose machine is gone forgotten after a confirmation."""
from datetime import timedelta

from playwright.sync_api import expect

from komet.clock import utcnow
from komet.demo import DEMO_PASSWORD
from komet.extensions import db
from komet.models import Email, EmailStatus
from komet.ops import heartbeats, operators
from tests.browser.conftest import shot
from tests.browser.steps import answer_confirmation, log_in
from tests.faults import wait_until


def _live_workers(app):
    with app.app_context():
        return [p for p in heartbeats.processes() if p.role == heartbeats.WORKER and p.host != "worker-b"]


def test_operator_sees_the_stuck_worker_by_name_and_retries_a_failed_password_reset(page, app, demo, smtp_sink):
    with app.app_context():
        operators.create_operator("ops@komet.example", password=DEMO_PASSWORD)
        # A second worker, on another machine, that stopped working three minutes ago; the
        # browser stack's own worker keeps beating beside it.
        heartbeats.beat(heartbeats.WORKER, "1 in hand, 12 processed", now=utcnow() - timedelta(minutes=3),
                        host="worker-b", pid=4242)
        email = Email(kind="password_reset", to_address="buyer@rosecafe.example", company_id=None,
                      context={"email": "buyer@rosecafe.example"}, status=EmailStatus.FAILED, attempts=9,
                      last_error="SMTPServerDisconnected: Connection unexpectedly closed",
                      created_at=utcnow() - timedelta(days=1, minutes=5))
        db.session.add(email)
        db.session.commit()
        email_id = email.id
        db.session.remove()

    # The tables are emptied after every test: wait for the stack's worker to beat again.
    assert wait_until(lambda: _live_workers(app), timeout=60), "the browser stack's worker never beat"
    log_in(page, "ops@komet.example")
    expect(page.get_by_role("heading", name="Komet operations")).to_be_visible()
    verdicts = page.get_by_role("region", name="What is stuck")
    expect(verdicts).to_contain_text("Worker 4242 on worker-b is stuck: it last checked in")
    expect(verdicts).to_contain_text("The scheduler has never finished a sweep.")
    stale = page.locator("tr[data-process=worker][data-stuck=yes]")
    expect(stale).to_have_count(1)
    expect(stale).to_contain_text("worker-b")
    expect(page.locator("tr[data-process=worker][data-stuck=no]")).to_have_count(1)  # the live worker

    failed = page.get_by_role("row", name=f"{email_id} none password_reset buyer@rosecafe.example")
    expect(failed).to_contain_text("SMTPServerDisconnected")
    shot(page, "40-operator-page")
    smtp_sink.clear()
    failed.get_by_role("button", name="Retry").click()
    expect(page.get_by_text(f"Email {email_id} is queued again.")).to_be_visible()
    expect(page.get_by_text("No failed emails.")).to_be_visible()
    arrived = smtp_sink.wait_for(1, address="buyer@rosecafe.example")
    assert [m["Subject"] for m in arrived] == ["Reset your Komet password"]

    # worker-b's machine is gone for good: forget it, after saying yes to the confirmation.
    stale.get_by_role("button", name="Forget this process Worker 4242 on worker-b").click()
    answer_confirmation(page, yes=True, says="Forget Worker 4242 on worker-b?")
    expect(page.get_by_text("Worker 4242 on worker-b is forgotten.")).to_be_visible()
    expect(page.locator("tr[data-process=worker][data-stuck=yes]")).to_have_count(0)
    expect(verdicts).not_to_contain_text("worker-b")
