"""Two companies add the same new email at the same moment: one login, two links."""
import threading

import pytest
from sqlalchemy import func, select

from komet.accounts import buyers
from komet.extensions import db
from komet.models import Customer, EcommerceUser, User


def test_two_companies_adding_the_same_new_email_at_once_share_one_login(app, make, monkeypatch):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("needs two real connections writing at once (PostgreSQL)")
    companies = [make.company("Alpha"), make.company("Beta")]
    customers = [make.customer(c) for c in companies]
    # Both requests have checked that the email is new before either creates the login.
    barrier = threading.Barrier(2, timeout=20)
    real_login_for = buyers.login_for

    def login_for_after_both_checked(email, name):
        barrier.wait()
        return real_login_for(email, name)

    monkeypatch.setattr(buyers, "login_for", login_for_after_both_checked)
    results, errors = [], []

    def add(company, customer):
        with app.app_context():
            try:
                row = db.session.get(Customer, customer.id)
                results.append(buyers.add_ecommerce_user(company.id, name="Ada", email="Ada@Example.com",
                                                         username="ada", customers=[row], actor_id=None)[1])
            except Exception as exc:  # the test fails on any error, not only on the assertions
                errors.append(exc)

    threads = [threading.Thread(target=add, args=pair) for pair in zip(companies, customers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(results) == [False, True]  # one of them created the login, the other found it
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "ada@example.com")) == 1
        assert db.session.scalar(select(func.count()).select_from(EcommerceUser)) == 2
