"""web → Redis → worker → SMTP, as separate processes, including a worker that dies."""
import http.cookiejar
import re
import time
import urllib.parse
import urllib.request

from sqlalchemy import select

from komet.extensions import db
from komet.models import Email, EmailStatus


class Browser:
    """Just enough of a browser: cookies, and forms posted with their CSRF token."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        with self.opener.open(self.base_url + path, timeout=10) as response:
            return response.status, response.read().decode()

    def submit(self, path, fields):
        _, page = self.get(path)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
        with self.opener.open(self.base_url + path, data=body, timeout=10) as response:
            return response.status, response.read().decode()


def _email_row(app, address):
    with app.app_context():
        row = db.session.scalar(select(Email).where(Email.to_address == address))
        db.session.expunge_all()
        return row


def test_email_queued_while_the_worker_is_dead_is_sent_once_after_restart(app, stack, make, smtp_sink):
    staff = make.staff(make.company())
    stack.kill("worker")  # SIGKILL: no chance to clean up
    status, page = Browser(stack.url).submit("/forgot-password", {"email": staff.email})
    assert status == 200 and "Check your email" in page
    time.sleep(1)
    assert _email_row(app, staff.email).status == EmailStatus.PENDING
    assert smtp_sink.to(staff.email) == []

    stack.start_worker()
    assert len(smtp_sink.wait_for(1, address=staff.email)) == 1
    time.sleep(2)  # room for a duplicate to show up, if there were one
    assert [m["Subject"] for m in smtp_sink.to(staff.email)] == ["Reset your Komet password"]
    row = _email_row(app, staff.email)
    assert row.status == EmailStatus.SENT and row.attempts == 1


def test_gunicorn_serves_the_app_with_vary_on_hx_request(stack):
    with urllib.request.urlopen(stack.url + "/login", timeout=10) as response:
        assert response.status == 200 and "HX-Request" in response.headers["Vary"]
