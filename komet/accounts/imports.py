"""CSV import of e-commerce users: parse, dry run, and the run the worker does.

The dry run decides each row's verdict with a handful of queries for the whole file; the
run applies the rows in the worker, a batch per transaction with a fixed number of set-based
statements (import_batches.py), so an invalid row never blocks the others. Rows are matched
by email: running the same file again changes nothing.
"""
import csv
import io
import logging
import queue
import threading

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select, update

from komet import audit, broker
from komet.accounts import import_batches
from komet.clock import utcnow
from komet.extensions import db
from komet.mail import outbox
from komet.models import (Customer, CustomerUser, EcommerceUser, ImportStatus, User, UserImport, normalize_email,
                          normalize_username)

log = logging.getLogger(__name__)
# Named, not imported: workers/imports.py declares it (komet never imports workers).
RUN_IMPORT_ACTOR, IMPORT_QUEUE = "run_user_import", "imports"
TEMPLATE = "name,email,username,customer\nAda Lovelace,ada@example.com,ada,Rose Café\n"
HEADERS = {"name": "name", "email": "email", "username": "username", "customer": "customer",
           "customer name": "customer", "customer code": "customer", "customer name or code": "customer"}
BATCH = 500
VERDICTS = {"created": "New login created", "linked": "Linked to an existing login", "customer": "Customer added",
            "unchanged": "Already an e-commerce user here: unchanged", "refused": "Refused"}


class BadFile(Exception):
    """The upload is not a CSV this import can read (the message says why)."""


def parse(data, max_rows):
    """The file's data rows as dicts (name, email, username, customer, line); raises BadFile."""
    if b"\x00" in data[:8192]:
        raise BadFile("This is not a CSV file. Save the spreadsheet as CSV (UTF-8) and upload that.")
    try:
        text = data.decode("utf-8-sig")  # with or without the BOM spreadsheets add
    except UnicodeDecodeError:
        raise BadFile("This file is not UTF-8 text. Save the spreadsheet as “CSV UTF-8” and upload that.") from None
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [HEADERS.get(cell.strip().lower()) for cell in next(reader, [])]
    missing = [name for name in ("name", "email", "username", "customer") if name not in header]
    if missing:
        raise BadFile(f"The first row must name the columns name, email, username and customer "
                      f"(missing: {', '.join(missing)}). Download the template to see how.")
    where = {name: header.index(name) for name in ("name", "email", "username", "customer")}
    rows = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) == max_rows:
            raise BadFile(f"The file has more than {max_rows:,} rows. Split it into files of up to {max_rows:,} rows.")
        # Cells are kept exactly as text: a cell like =HYPERLINK(…) is a name, never a formula.
        rows.append({"line": line, **{name: (cells[i].strip() if i < len(cells) else "") for name, i in where.items()}})
    if not rows:
        raise BadFile("The file has no rows under its header.")
    return rows


def dry_run(company_id, rows):
    """Give each row a verdict (created, linked, customer, unchanged or refused) and a reason."""
    customers = db.session.execute(select(Customer.id, Customer.name, Customer.code)
                                   .where(Customer.company_id == company_id)).all()
    by_code = {c.code.lower(): c.id for c in customers if c.code}
    by_name = {}
    for c in customers:
        by_name.setdefault(c.name.lower(), []).append(c.id)
    emails = {normalize_email(r["email"]) for r in rows}
    logins = {}
    for chunk in _chunks(sorted(emails), 500):
        logins.update(db.session.execute(select(User.email, User.id).where(User.email.in_(chunk))).all())
    accounts = {user_id: username for user_id, username in db.session.execute(
        select(EcommerceUser.user_id, EcommerceUser.username).where(EcommerceUser.company_id == company_id))}
    taken = {username: user_id for user_id, username in accounts.items()}
    # Which customers this company's existing users already have: a row that names another one
    # adds it (as the import will), it is not "unchanged".
    links = set()
    for chunk in _chunks(sorted(set(logins.values()) & accounts.keys()), 500):
        links.update(db.session.execute(select(CustomerUser.user_id, CustomerUser.customer_id).where(
            CustomerUser.company_id == company_id, CustomerUser.user_id.in_(chunk))).all())
    # What earlier rows of the file claimed: an email's username, a username's email, an (email, customer) link.
    first_line, seen = {}, {}
    for row in rows:
        row.update(_verdict(row, by_code, by_name, logins, accounts, taken, links, first_line, seen))
    return rows


def _verdict(row, by_code, by_name, logins, accounts, taken, links, first_line, seen):
    email, username = normalize_email(row["email"]), normalize_username(row["username"])
    for field in ("name", "email", "username", "customer"):
        if not row[field]:
            return _refuse(f"The {field} is missing.")
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return _refuse("The email is not a valid address.")
    if len(row["name"]) > 120 or len(username) > 60:
        return _refuse("The name (120) or username (60 characters) is too long.")
    if any(ch.isspace() for ch in username):
        return _refuse("The username has spaces.")
    code = row["customer"].lower()
    matches = [by_code[code]] if code in by_code else by_name.get(code, [])
    if len(matches) != 1:
        return _refuse("No customer of yours has this name or code." if not matches else
                       "Several of your customers have this name: use the customer's code.")
    user_id = logins.get(email)
    if email in first_line:
        if seen[email] != username:
            return _refuse(f"Same email as line {first_line[email]} with another username.")
        # A row that repeats an earlier one changes nothing more: the import will find the link made.
        repeated = seen.setdefault(("link", email, matches[0]), row["line"])
        if repeated != row["line"]:
            return {"verdict": "unchanged", "customer_id": matches[0], "reason": f"Repeats line {repeated}."}
        return {"verdict": "customer", "customer_id": matches[0], "reason": f"Adds a customer to line {first_line[email]}."}
    owner = taken.get(username) or seen.get(("username", username))
    if owner is not None and owner not in (user_id, email):
        return _refuse("Another e-commerce user of yours has this username.")
    first_line[email], seen[email], seen[("username", username)] = row["line"], username, email
    seen[("link", email, matches[0])] = row["line"]
    if user_id is not None and user_id in accounts:
        if (user_id, matches[0]) in links:
            return {"verdict": "unchanged", "customer_id": matches[0], "reason": ""}
        return {"verdict": "customer", "customer_id": matches[0], "reason": "Adds this customer to the existing user."}
    return {"verdict": "linked" if user_id else "created", "customer_id": matches[0], "reason": ""}


def _refuse(reason):
    return {"verdict": "refused", "reason": reason, "customer_id": None}


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def check(company_id, actor_id, filename, data):
    """Parse and dry-run an upload; the import waits for staff to confirm it. Raises BadFile."""
    rows = dry_run(company_id, parse(data, current_app.config["USER_IMPORT_MAX_ROWS"]))
    record = UserImport(company_id=company_id, created_by_id=actor_id, filename=(filename or "")[:255], rows=rows,
                        total=len(rows), status=ImportStatus.CHECKED)
    db.session.add(record)
    db.session.commit()
    return record


def counts(record):
    found = {verdict: 0 for verdict in VERDICTS}
    for row in record.rows:
        found[row.get("outcome") or row["verdict"]] += 1
    return found


def start(record):
    """Hand a checked import to the worker (once: a second click finds it already queued)."""
    started = db.session.execute(update(UserImport).where(UserImport.id == record.id,
                                                          UserImport.status == ImportStatus.CHECKED)
                                 .values(status=ImportStatus.QUEUED)).rowcount
    db.session.commit()
    if started:
        try:
            broker.send(RUN_IMPORT_ACTOR, IMPORT_QUEUE, record.id)
        except Exception:
            log.warning("could not enqueue import %s", record.id, exc_info=True)
    db.session.refresh(record)
    return bool(started)


def run(import_id):
    """Apply an import's rows from where it stopped, a batch per transaction.

    Safe to run twice, even at once: each batch is claimed before it is applied, and its rows'
    outcomes commit with its changes, so a retried or resumed import reports what the first
    attempt did and its totals are the dry run's (when nothing changed in between).
    """
    record = db.session.get(UserImport, import_id)
    if record is None or record.status == ImportStatus.DONE:
        return
    company_id, actor_id = record.company_id, record.created_by_id
    record.status = ImportStatus.RUNNING
    db.session.commit()
    handoff = _EmailHandoff()
    try:
        while (batch := _claim_batch(import_id)) is not None:
            start_at, rows = batch
            chunk = rows[start_at:start_at + BATCH]
            results, emails = import_batches.apply(company_id, actor_id, chunk)
            for row, (outcome, reason) in zip(chunk, results):
                # The dry run's reason still explains an outcome it foresaw.
                row["outcome"], row["reason"] = outcome, row["reason"] if outcome == row["verdict"] else reason
            db.session.execute(update(UserImport).where(UserImport.id == import_id).values(rows=rows))
            db.session.commit()
            handoff.put(emails)
        _finish(record)
    except BaseException:
        db.session.rollback()  # a batch is all or nothing
        raise
    finally:
        handoff.close()


class _EmailHandoff:
    """Hands each committed batch's activation emails to the broker in a thread of its own,
    while the next batch runs: a round trip to the broker per email would otherwise be half
    of an import's time. An email the broker does not take is re-driven from the outbox."""

    def __init__(self):
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._send, name="import-email-handoff", daemon=True)
        self._thread.start()

    def put(self, emails):
        self._queue.put(emails)

    def close(self):
        self._queue.put(None)
        self._thread.join()

    def _send(self):
        while (emails := self._queue.get()) is not None:
            for email_id, trace_id in emails:
                outbox.enqueue(email_id, trace_id)


def _claim_batch(import_id):
    """(first row, every row) of the next batch, claimed in the current transaction; None when done.

    Claiming first takes the import's row lock (the write lock, on SQLite): a second run of
    the same import waits here, then finds the batch done and moves on.
    """
    while True:
        processed, total = db.session.execute(select(UserImport.processed, UserImport.total)
                                              .where(UserImport.id == import_id)).one()
        if processed >= total:
            return None
        claimed = db.session.execute(update(UserImport).where(UserImport.id == import_id,
                                                              UserImport.processed == processed)
                                     .values(processed=min(processed + BATCH, total))).rowcount
        if claimed:
            return processed, [dict(row) for row in db.session.scalar(select(UserImport.rows)
                                                                      .where(UserImport.id == import_id))]
        db.session.rollback()


def _finish(record):
    db.session.refresh(record)
    found = counts(record)
    finished = db.session.execute(update(UserImport).where(UserImport.id == record.id,
                                                           UserImport.status != ImportStatus.DONE).values(
        status=ImportStatus.DONE, finished_at=utcnow(), created=found["created"], linked=found["linked"],
        refused=found["refused"])).rowcount
    if finished:  # once, whichever run ends it
        audit.record("import_run", f"{record.filename}: {found['created']} created, {found['linked']} linked, "
                     f"{found['customer']} customers added, {found['unchanged']} unchanged, {found['refused']} refused",
                     company_id=record.company_id, actor_id=record.created_by_id)
    db.session.commit()
