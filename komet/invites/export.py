"""The access-request queue as CSV: one tab (status), every page, streamed."""
from sqlalchemy import select
from sqlalchemy.orm import aliased

from komet.extensions import db
from komet.models import AccessRequest, Customer, User
from komet.timezones import format_local
from komet.web.spreadsheets import csv_chunks

HEADER = ["Business name", "Contact name", "Email", "Phone", "City", "Country", "Message", "Status", "Arrived",
          "Decided", "Decided by", "Customer", "Reason", "Internal notes"]
BATCH = 500


def _rows(company_id, status):
    decider = aliased(User)
    return (select(AccessRequest.business_name, AccessRequest.contact_name, AccessRequest.email, AccessRequest.phone,
                   AccessRequest.city, AccessRequest.country, AccessRequest.message, AccessRequest.status,
                   AccessRequest.created_at, AccessRequest.decided_at, decider.name, Customer.name,
                   AccessRequest.reason, AccessRequest.internal_notes)
            .outerjoin(Customer, Customer.id == AccessRequest.customer_id)
            .outerjoin(decider, decider.id == AccessRequest.decided_by_id)
            .where(AccessRequest.company_id == company_id, AccessRequest.status == status)
            .order_by(AccessRequest.id.desc()))


def requests_csv(company_id, status, tz_name):
    """The company's requests of one status, newest first, as CSV chunks (times in its zone)."""
    def batches():
        result = db.session.execute(_rows(company_id, status).execution_options(yield_per=BATCH))
        for part in result.partitions():
            yield [(*row[:7], row[7].label, format_local(row[8], tz_name), format_local(row[9], tz_name), *row[10:])
                   for row in part]
    return csv_chunks(HEADER, batches())
