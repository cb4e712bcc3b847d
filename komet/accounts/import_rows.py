"""Reading a CSV of e-commerce users and judging its rows: the dry run.

The verdicts take a handful of queries for the whole file, and nothing is written.
"""
import csv
import io

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from komet.accounts.import_lookups import by_key
from komet.extensions import db
from komet.models import Customer, CustomerUser, EcommerceUser, User, normalize_email, normalize_username
from komet.web.spreadsheets import as_typed

HEADERS = {"name": "name", "email": "email", "username": "username", "customer": "customer",
           "customer name": "customer", "customer code": "customer", "customer name or code": "customer"}


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
        # Cells are kept exactly as text: a cell like =HYPERLINK(…) is a name, never a formula;
        # '=HYPERLINK(…), as Export to CSV wrote it, is the same name.
        rows.append({"line": line, **{name: (as_typed(cells[i].strip()).strip() if i < len(cells) else "")
                                      for name, i in where.items()}})
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
        logins.update(db.session.execute(by_key((User.email, User.id), User.email, chunk)).all())
    # This company's e-commerce users among the file's logins and usernames, not all of them:
    # a seller with 50,000 buyers would otherwise load every one for each upload.
    here = (EcommerceUser.user_id, EcommerceUser.username)
    accounts, taken = {}, {}
    for chunk in _chunks(sorted(set(logins.values())), 500):
        accounts.update(db.session.execute(select(*here).where(EcommerceUser.company_id == company_id,
                                                               EcommerceUser.user_id.in_(chunk))).all())
    for chunk in _chunks(sorted({normalize_username(r["username"]) for r in rows}), 500):
        taken.update((username, user_id) for user_id, username in db.session.execute(
            by_key(here, EcommerceUser.username, chunk, EcommerceUser.company_id == company_id)))
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
        if (user_id, matches[0]) in links:  # the user's second customer, already theirs (an export's rows)
            return {"verdict": "unchanged", "customer_id": matches[0], "reason": ""}
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
