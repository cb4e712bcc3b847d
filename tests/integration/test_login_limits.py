"""Login limits stop guessing without letting anyone lock a person out."""


def _login(client, email, password, address):
    return client.form_post("/login", {"email": email, "password": password},
                            environ_base={"REMOTE_ADDR": address})


def test_failed_logins_for_someones_email_from_many_addresses_do_not_lock_them_out(client, make):
    admin = make.staff(make.company())
    for n in range(15):  # more than the per-address limit, each from its own address
        assert _login(client, admin.email, "wrong password", f"198.51.100.{n + 1}").status_code == 422
    response = _login(client, admin.email, "correct horse battery", "203.0.113.7")
    assert response.status_code == 303


def test_one_address_guessing_is_stopped(client, make):
    admin = make.staff(make.company())
    for _ in range(10):
        _login(client, admin.email, "wrong password", "198.51.100.9")
    assert _login(client, admin.email, "correct horse battery", "198.51.100.9").status_code == 429


def test_one_address_that_exhausts_its_own_limit_does_not_lock_the_owner_out(app, client, make, monkeypatch):
    # An attacker at one address, patient enough that the per-minute limit never stops them
    # (as if they spread their tries over an hour): they are the one turned away.
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000 per minute")
    admin = make.staff(make.company())
    answers = [_login(client, admin.email, "wrong password", "198.51.100.66").status_code for _ in range(60)]
    assert 429 in answers
    assert _login(client, admin.email, "correct horse battery", "198.51.100.66").status_code == 429
    assert _login(client, admin.email, "correct horse battery", "203.0.113.66").status_code == 303


def test_a_slow_guess_at_one_email_from_many_addresses_is_stopped(app, client, make, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_EMAIL_RATE_LIMIT", "30 per hour")  # the default is 500: fewer tries
    admin = make.staff(make.company())
    for n in range(30):
        assert _login(client, admin.email, "wrong password", f"10.0.{n // 200}.{n % 200 + 1}").status_code == 422
    assert _login(client, admin.email, "wrong password", "203.0.113.8").status_code == 429


def test_the_per_email_limit_is_far_above_what_one_address_may_try(app):
    from limits import parse

    def per_hour(setting):
        limit = parse(app.config[setting])
        return limit.amount * 3600 / limit.get_expiry()

    assert per_hour("LOGIN_EMAIL_RATE_LIMIT") >= 10 * per_hour("LOGIN_EMAIL_ADDRESS_RATE_LIMIT")


def test_a_limited_form_tells_how_many_tries_are_left(client, make):
    admin = make.staff(make.company())
    response = _login(client, admin.email, "wrong password", "198.51.100.20")
    assert response.status_code == 422
    assert response.headers["X-RateLimit-Limit"] == "10" and response.headers["X-RateLimit-Remaining"] == "9"


def test_a_page_without_a_limit_never_reaches_the_limiter(app, client, make, monkeypatch):
    from komet.extensions import limiter

    consulted = []
    monkeypatch.setattr(limiter, "identify_request", lambda: consulted.append(1) or "")
    company = make.company()
    buyer = make.buyer(make.customer(company))
    client.login_as(buyer)
    for response in (client.get("/shop/"), client.hx_get("/shop/messages?known=x")):
        assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers
    assert consulted == []
    _login(client, buyer.email, "wrong password", "198.51.100.21")  # the limited form still does
    assert consulted
