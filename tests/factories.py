"""Test data builders. Each commits and returns plain values, usable outside an app context."""
from dataclasses import dataclass
from decimal import Decimal
from itertools import count

from komet.extensions import db
from datetime import timedelta

from komet.clock import utcnow
from komet.models import (Company, Customer, CustomerUser, Email, EmailStatus, Membership, Message, MessageImage,
                          Product, Role, User)

PASSWORD = "correct horse battery"
_seq = count(1)


@dataclass
class Made:
    """What a factory made: ids and values a test needs, detached from any session."""
    id: int
    email: str = ""
    name: str = ""
    company_id: int | None = None
    workspace: str = ""  # the session key of the workspace it logs in to
    session_token: str = ""


class Factory:
    def __init__(self, app):
        self.app = app

    def _commit(self, *rows):
        db.session.add_all(rows)
        db.session.commit()

    def company(self, name=None, timezone="America/New_York"):
        with self.app.app_context():
            n = next(_seq)
            company = Company(name=name or f"Seller {n}", slug=f"seller-{n}", timezone=timezone)
            self._commit(company)
            return Made(company.id, name=company.name, company_id=company.id)

    def user(self, email=None, name=None, password=PASSWORD):
        n = next(_seq)
        user = User(email=(email or f"user{n}@example.com").lower(), name=name or f"User {n}")
        user.set_password(password)
        self._commit(user)
        return user

    def staff(self, company, role=Role.ADMIN, email=None):
        with self.app.app_context():
            user = self.user(email)
            membership = Membership(user_id=user.id, company_id=company.id, role=Role(role))
            self._commit(membership)
            return Made(user.id, user.email, user.name, company.id, f"staff-{membership.id}", user.session_token)

    def customer(self, company, name=None):
        with self.app.app_context():
            customer = Customer(company_id=company.id, name=name or f"Customer {next(_seq)}")
            self._commit(customer)
            return Made(customer.id, name=customer.name, company_id=company.id)

    def buyer(self, *customers, email=None, active=True):
        """A buyer login linked to each of `customers`; its workspace is the first link."""
        with self.app.app_context():
            user = self.user(email)
            links = [CustomerUser(user_id=user.id, customer_id=c.id, company_id=c.company_id, is_active=active)
                     for c in customers]
            self._commit(*links)
            return Made(user.id, user.email, user.name, customers[0].company_id,
                        f"buyer-{links[0].id}" if links else "", user.session_token)

    def link(self, buyer, customer, active=True):
        with self.app.app_context():
            row = CustomerUser(user_id=buyer.id, customer_id=customer.id, company_id=customer.company_id,
                               is_active=active)
            self._commit(row)
            return Made(row.id, company_id=customer.company_id, workspace=f"buyer-{row.id}")

    def product(self, company, name="Red roses", price="10.00"):
        with self.app.app_context():
            product = Product(company_id=company.id, sku=f"SKU-{next(_seq)}", name=name, unit="box",
                              price=Decimal(price))
            self._commit(product)
            return Made(product.id, name=name, company_id=company.id)

    def email(self, company, status=EmailStatus.PENDING, to="someone@example.com", kind="password_changed",
              **context):
        with self.app.app_context():
            row = Email(company_id=company.id if company else None, kind=kind, to_address=to, context=context,
                        status=status)
            self._commit(row)
            return Made(row.id, email=to, company_id=row.company_id)

    def message(self, company, title="Spring sale", type="popup", starts_in=timedelta(hours=-1),
                lasts=timedelta(days=1), content="<p>20% off tulips</p>"):
        with self.app.app_context():
            publish_on = utcnow() + starts_in
            row = Message(company_id=company.id, title=title, content_html=content, type=type,
                          publish_on=publish_on, expires_on=publish_on + lasts)
            self._commit(row)
            return Made(row.id, name=title, company_id=company.id)

    def image(self, company):
        with self.app.app_context():
            row = MessageImage(company_id=company.id, content_type="image/png", data=b"\x89PNG\r\n\x1a\n")
            self._commit(row)
            return Made(row.id, company_id=company.id)
