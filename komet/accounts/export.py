"""Setup > Users' Export to CSV: what the list shows (its search and status filter, every page),
in the import template's columns plus status and last sign-in.

One row per (user, customer), as the import takes them, with the customer's code where it has
one (a name may be shared, a code is not): export, edit in a spreadsheet, import, and every row
left alone is "unchanged". The file is written as the database streams the rows (a server-side
cursor, a batch at a time), so 50,000 users never sit in memory at once.
"""
import csv
import io

from sqlalchemy import and_, select

from komet import timezones
from komet.accounts import directory
from komet.clock import utcnow
from komet.extensions import db
from komet.models import Customer, CustomerUser, EcommerceUser, User
from komet.tenancy import current_company
from komet.web.spreadsheets import safe_cell

BATCH = 1000


def header(tz_name):
    return ["name", "email", "username", "customer", "status", f"last sign-in ({timezones.zone(tz_name).key})"]


def filename():
    company = current_company()
    return f"ecommerce-users-{timezones.to_local(utcnow(), company.timezone):%Y-%m-%d}.csv"


def _rows(q, status):
    return (select(EcommerceUser.name, User.email, EcommerceUser.username, Customer.code, Customer.name,
                   EcommerceUser.status, EcommerceUser.last_sign_in_at)
            .join(User, User.id == EcommerceUser.user_id)
            .outerjoin(CustomerUser, and_(CustomerUser.user_id == EcommerceUser.user_id,
                                          CustomerUser.company_id == EcommerceUser.company_id))
            .outerjoin(Customer, Customer.id == CustomerUser.customer_id)
            .where(EcommerceUser.id.in_(directory.matching(q, status)))
            .order_by(EcommerceUser.name, EcommerceUser.id, Customer.name, Customer.id)
            .execution_options(yield_per=BATCH))


def csv_chunks(q="", status=""):
    """The export as chunks of CSV text (UTF-8 with the BOM spreadsheets look for), a batch of rows
    each; iterate it inside the request (stream_with_context)."""
    tz_name = current_company().timezone
    statement = _rows(q, status)

    def generate():
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")
        writer.writerow(header(tz_name))
        yield out.getvalue()
        for batch in db.session.execute(statement).partitions():
            out.seek(0)
            out.truncate()
            for name, email, username, code, customer, link_status, signed_in in batch:
                when = f"{timezones.to_local(signed_in, tz_name):%Y-%m-%d %H:%M}" if signed_in else ""
                writer.writerow([safe_cell(cell) for cell in (name, email, username, code or customer,
                                                              link_status.label, when)])
            yield out.getvalue()

    return generate()
