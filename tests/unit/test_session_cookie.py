"""The session cookie Komet writes is the one Flask's own interface writes, whatever it reuses."""
from unittest import mock

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from komet.web.session_cookie import SessionCookies

SIGNED_IN = {"_user_id": "7:key", "_fresh": False, "workspace": "buyer-3", "csrf_token": "ab" * 20}


@pytest.fixture
def keyed_app():
    app = Flask(__name__)
    app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = "k" * 40, ["old" * 10]
    return app


def write(interface, app, data, at=1_800_000_000):
    with mock.patch("time.time", return_value=at):
        return interface.get_signing_serializer(app).dumps(data)


def test_the_cookie_is_byte_for_byte_the_one_flask_writes_each_time(keyed_app):
    ours, flasks = SessionCookies(), SecureCookieSessionInterface()
    for at in (1_800_000_000, 1_800_000_000, 1_800_000_001):  # reused, then a new timestamp
        assert write(ours, keyed_app, SIGNED_IN, at) == write(flasks, keyed_app, SIGNED_IN, at)


def test_changed_session_data_is_written_as_changed(keyed_app):
    interface = SessionCookies()
    serializer = interface.get_signing_serializer(keyed_app)
    for data in (SIGNED_IN, {**SIGNED_IN, "workspace": "staff-4"}, {"x": True}, {"x": 1}, {"x": 1.0}, {"x": [1]}):
        read = serializer.loads(write(interface, keyed_app, data))
        assert read == data and [type(v) for v in read.values()] == [type(v) for v in data.values()]  # True == 1


def test_a_new_secret_key_signs_with_the_new_key(keyed_app):
    interface = SessionCookies()
    before = write(interface, keyed_app, SIGNED_IN)
    keyed_app.secret_key = "n" * 40
    after = write(interface, keyed_app, SIGNED_IN)
    assert after != before and after == write(SecureCookieSessionInterface(), keyed_app, SIGNED_IN)
