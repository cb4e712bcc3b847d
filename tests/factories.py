"""Test data builders. Each commits and returns plain values, usable outside an app context."""
from dataclasses import dataclass
from decimal import Decimal
from itertools import count

from komet.extensions import db
from datetime import timedelta

from komet import caching
from komet.clock import utcnow
from komet.models import (AccessRequest, Company, Customer, CustomerUser, EcommerceUser, Email, EmailStatus, LinkStatus, Membership,
                          Message, MessageImage, Product, Role, User, UserImport, normalize_email)

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
        user = User(email=normalize_email(email or f"user{n}@example.com"), name=name or f"User {n}")
        user.set_password(password)
        self._commit(user)
        return user

    def staff(self, company, role=Role.ADMIN, email=None):
        with self.app.app_context():
            user = self.user(email)
            membership = Membership(user_id=user.id, company_id=company.id, role=Role(role))
            self._commit(membership)
            return Made(user.id, user.email, user.name, company.id, f"staff-{membership.id}")

    def customer(self, company, name=None):
        with self.app.app_context():
            customer = Customer(company_id=company.id, name=name or f"Customer {next(_seq)}")
            self._commit(customer)
            return Made(customer.id, name=customer.name, company_id=company.id)

    def buyer(self, *customers, email=None, active=True):
        """A buyer login linked to each of `customers`; its workspace is the first link."""
        with self.app.app_context():
            user = self.user(email)
            links = [CustomerUser(user_id=user.id, customer_id=c.id, company_id=c.company_id) for c in customers]
            self._commit(*links)
            for company_id in dict.fromkeys(c.company_id for c in customers):
                self._account(user, company_id, active)
            return Made(user.id, user.email, user.name, customers[0].company_id,
                        f"buyer-{links[0].id}" if links else "")

    def link(self, buyer, customer, active=True):
        with self.app.app_context():
            row = CustomerUser(user_id=buyer.id, customer_id=customer.id, company_id=customer.company_id)
            self._commit(row)
            self._account(db.session.get(User, buyer.id), customer.company_id, active)
            return Made(row.id, company_id=customer.company_id, workspace=f"buyer-{row.id}")

    def _account(self, user, company_id, active):
        """The login's link to the company (Setup > Users' row), if it has none yet."""
        account = db.session.query(EcommerceUser).filter_by(user_id=user.id, company_id=company_id).first()
        if account is None:
            status = LinkStatus.ACTIVE if active is True else LinkStatus(active or LinkStatus.PENDING)
            account = EcommerceUser(user_id=user.id, company_id=company_id, name=user.name,
                                    username=user.email.split("@")[0] + f"-{user.id}", status=status,
                                    activated_at=utcnow() if status == LinkStatus.ACTIVE else None)
            self._commit(account)
        caching.bump_users(company_id)  # as the app's writers do: Setup > Users shows the new link
        db.session.commit()
        return account

    def ecommerce_user(self, company, *customers, status=LinkStatus.ACTIVE, email=None):
        """A buyer of `company` (for a new customer unless given); `id` is the EcommerceUser row's."""
        customers = customers or (self.customer(company),)
        buyer = self.buyer(*customers, email=email, active=status)
        with self.app.app_context():
            account = db.session.query(EcommerceUser).filter_by(user_id=buyer.id, company_id=company.id).one()
            return Made(account.id, buyer.email, account.name, company.id, buyer.workspace)

    def access_request(self, company, email=None):
        with self.app.app_context():
            row = AccessRequest(company_id=company.id, business_name=f"Business {next(_seq)}", contact_name="Pat",
                                email=normalize_email(email or f"request{next(_seq)}@example.com"))
            self._commit(row)
            return Made(row.id, row.email, company_id=company.id)

    def user_import(self, company, rows=()):
        with self.app.app_context():
            row = UserImport(company_id=company.id, filename="users.csv", rows=list(rows), total=len(rows))
            self._commit(row)
            return Made(row.id, company_id=company.id)

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
            db.session.add(row)
            caching.bump_messages(company.id)  # as every komet function that writes a message does
            db.session.commit()
            return Made(row.id, name=title, company_id=company.id)

    def image(self, company):
        with self.app.app_context():
            row = MessageImage(company_id=company.id, content_type="image/png", data=b"\x89PNG\r\n\x1a\n")
            self._commit(row)
            return Made(row.id, company_id=company.id)


# How to make a row of a company for each kind of id a route takes (the URL-map sweeps in the
# tenancy and password tests use it). A new route with an id argument must be listed here, or
# those tests fail and say so.
ID_ARGUMENTS = {
    "email_id": lambda make, company: make.email(company, status=EmailStatus.FAILED).id,
    "message_id": lambda make, company: make.message(company).id,
    "image_id": lambda make, company: make.image(company).id,
    "customer_id": lambda make, company: make.customer(company).id,
    "account_id": lambda make, company: make.ecommerce_user(company).id,
    "import_id": lambda make, company: make.user_import(company).id,
    "request_id": lambda make, company: make.access_request(company).id,
}
