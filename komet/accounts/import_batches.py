"""One batch of a CSV import, applied with a fixed number of set-based statements.

The batch reads what its rows need at once (their customers, logins, this company's links
and usernames), decides each row as the dry run does, then writes logins, links to the
company, customers, activation emails and audit events with one multi-row INSERT each. The
inserts skip what someone else made meanwhile (ON CONFLICT DO NOTHING) and RETURNING says
what this batch made, so a row a colleague raced is reported for what it found. It all runs
in the caller's transaction: the batch and the record of its outcomes commit together.
"""
import secrets
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from komet import caching
from komet.accounts import activation
from komet.accounts.buyers import ALREADY_HERE, USERNAME_TAKEN
from komet.accounts.import_lookups import by_key
from komet.clock import utcnow
from komet.extensions import db
from komet.models import (AuditEvent, Customer, CustomerUser, EcommerceUser, Email, EmailStatus, LinkStatus, User, normalize_email,
                          normalize_username)
from komet.ops import logs

CUSTOMER_GONE = "The customer no longer exists."


@dataclass
class _Person:
    """What the batch does for one email: its login, its link to the company, its customers."""
    row: int  # the batch's first row with this email
    customer_id: int  # that row's customer
    name: str
    email: str
    username: str
    user_id: int | None  # None: a new login
    account_id: int | None  # None: a new link to this company
    needs_password: bool = True  # no password yet: an activation email, else a confirm-link one
    links: dict = field(default_factory=dict)  # customer id -> the row that adds it
    new_login: bool = False
    new_account: bool = False


def apply(company_id, actor_id, rows):
    """Apply checked rows in the current transaction (no commit).

    Returns each row's (outcome, reason) and the ids of the emails it queued, which the caller
    hands to the broker once committed.
    """
    results = [("refused", row["reason"]) if row["verdict"] == "refused" else None for row in rows]
    wanted = [i for i, result in enumerate(results) if result is None]
    if not wanted:
        return results, []
    customers = dict(db.session.execute(select(Customer.id, Customer.name).where(
        Customer.company_id == company_id, Customer.id.in_({rows[i]["customer_id"] for i in wanted}))).all())
    people = _decide(company_id, rows, wanted, customers, results)
    _insert_logins(people, results)
    _insert_accounts(company_id, people, results)
    made = _insert_links(company_id, people, results)
    email_ids = _queue_activation_emails(company_id, people)
    _audit(company_id, actor_id, people, made, customers)
    caching.bump_users(company_id)  # once per batch, whatever it added
    return results, email_ids


def _decide(company_id, rows, wanted, customers, results):
    emails = {normalize_email(rows[i]["email"]) for i in wanted}
    logins = {login.email: login for login in db.session.execute(by_key(
        (User.id, User.email, User.password_hash.is_(None).label("needs_password")), User.email, emails))}
    user_ids = [login.id for login in logins.values()]
    # This company's e-commerce users among the batch's logins and usernames (two lookups: an
    # OR of the two would be a BitmapOr, and the usernames' side would take the trigram index).
    here = (EcommerceUser.user_id, EcommerceUser.id, EcommerceUser.username)
    found = db.session.execute(by_key(here, EcommerceUser.username, {normalize_username(rows[i]["username"]) for i in wanted},
                                      EcommerceUser.company_id == company_id)).all()
    if user_ids:
        found += db.session.execute(select(*here).where(EcommerceUser.company_id == company_id,
                                                        EcommerceUser.user_id.in_(user_ids))).all()
    accounts, usernames = {}, {}
    for user_id, account_id, username in found:
        accounts[user_id], usernames[username] = account_id, user_id
    links = set(db.session.execute(select(CustomerUser.user_id, CustomerUser.customer_id).where(
        CustomerUser.company_id == company_id, CustomerUser.user_id.in_(user_ids))).all()) if user_ids else set()
    people = {}
    for i in wanted:
        row = rows[i]
        email, customer_id = normalize_email(row["email"]), row["customer_id"]
        if customer_id not in customers:
            results[i] = ("refused", CUSTOMER_GONE)
            continue
        person = people.get(email)
        if person is None:
            login = logins.get(email)
            user_id = login.id if login else None
            person = _Person(i, customer_id, row["name"].strip(), email, normalize_username(row["username"]), user_id,
                             accounts.get(user_id), login is None or login.needs_password)
            if person.account_id is None:
                # The username is free, or already this person's (a row earlier in the batch claims it).
                if usernames.get(person.username, email) not in (email, user_id):
                    results[i] = ("refused", USERNAME_TAKEN)
                    continue
                usernames[person.username] = email
                results[i] = ("created" if user_id is None else "linked", "")
            people[email] = person
        if customer_id in person.links or (person.user_id, customer_id) in links:
            results[i] = results[i] or ("unchanged", "")
        else:
            person.links[customer_id] = i
            results[i] = results[i] or ("customer", "")
    return people


def _insert(model, rows):
    """One INSERT of `rows` (dicts with the same keys) into `model`'s table.

    On PostgreSQL the rows go as one array per column (INSERT … SELECT unnest(…)): the
    statement stays the same size whatever the batch, where VALUES (…), (…) has the driver
    parse thousands of placeholders, which was a third of an import's time. SQLite takes VALUES.
    """
    table = model.__table__
    if db.session.get_bind().dialect.name != "postgresql":
        return sqlite_insert(table).values(rows)
    columns = list(rows[0])
    return pg_insert(table).from_select(columns, select(*(
        func.unnest(bindparam(f"{column}_rows", [row[column] for row in rows], type_=ARRAY(table.c[column].type)))
        for column in columns)))


def _insert_logins(people, results):
    new = {person.email: person for person in people.values() if person.user_id is None}
    if not new:
        return
    now, users = utcnow(), User.__table__
    made = dict(db.session.execute(
        _insert(User, [{"email": p.email, "name": p.name, "is_active": True, "created_at": now} for p in new.values()])
        .on_conflict_do_nothing(index_elements=["email"]).returning(users.c.email, users.c.id)).all())
    for email, user_id in made.items():
        new[email].user_id, new[email].new_login = user_id, True
    raced = [email for email in new if email not in made]
    if raced:  # another company made the login a moment ago: this row links to it
        for login in db.session.execute(by_key(
                (User.id, User.email, User.password_hash.is_(None).label("needs_password")), User.email, raced)):
            person = new[login.email]
            person.user_id, person.needs_password = login.id, login.needs_password
            results[person.row] = ("linked", "")


def _insert_accounts(company_id, people, results):
    new = {person.user_id: person for person in people.values() if person.account_id is None}
    if not new:
        return
    now, accounts = utcnow(), EcommerceUser.__table__
    made = dict(db.session.execute(
        _insert(EcommerceUser, [{"company_id": company_id, "user_id": p.user_id, "name": p.name, "username": p.username,
                                 "status": LinkStatus.PENDING, "activation_nonce": secrets.token_hex(16),
                                 "activation_sent_at": now, "created_at": now} for p in new.values()])
        .on_conflict_do_nothing().returning(accounts.c.user_id, accounts.c.id)).all())
    for user_id, account_id in made.items():
        new[user_id].account_id, new[user_id].new_account = account_id, True
    lost = [new[user_id] for user_id in new if user_id not in made]
    if not lost:
        return
    # A colleague added the person, or took the username, a moment ago: as `buyers.add` would, refuse.
    here = set(db.session.scalars(select(EcommerceUser.user_id).where(
        EcommerceUser.company_id == company_id, EcommerceUser.user_id.in_([p.user_id for p in lost]))))
    for person in lost:
        del people[person.email]
        for i in (person.row, *person.links.values()):
            results[i] = ("refused", ALREADY_HERE if person.user_id in here else USERNAME_TAKEN)
    # A login made only for a link that could not be made is not kept.
    orphans = [p.user_id for p in lost if p.new_login]
    if orphans:
        db.session.execute(delete(User).where(User.id.in_(orphans)))


def _insert_links(company_id, people, results):
    wanted = {(p.user_id, customer_id): i for p in people.values() for customer_id, i in p.links.items()}
    if not wanted:
        return set()
    now, links = utcnow(), CustomerUser.__table__
    made = set(db.session.execute(
        _insert(CustomerUser, [{"user_id": user_id, "customer_id": customer_id, "company_id": company_id,
                                "created_at": now} for user_id, customer_id in wanted])
        .on_conflict_do_nothing(index_elements=["user_id", "customer_id"])
        .returning(links.c.user_id, links.c.customer_id)).all())
    for key, i in wanted.items():
        if key not in made and results[i][0] == "customer":  # linked a moment ago by someone else
            results[i] = ("unchanged", "")
    return made


def _queue_activation_emails(company_id, people):
    """The activation (or confirm-link) email of each new link, as `activation.send` queues it."""
    now, trace_id = utcnow(), logs.trace_id()
    rows = [{"kind": activation.EMAIL_KINDS[activation.ACTIVATION if p.needs_password else activation.LINK_CONFIRM],
             "to_address": p.email, "company_id": company_id, "context": {"account_id": p.account_id},
             "status": EmailStatus.PENDING, "enqueued_at": now, "created_at": now, "trace_id": trace_id}
            for p in people.values() if p.new_account]
    if not rows:
        return []
    return [(email_id, trace_id) for email_id in db.session.scalars(_insert(Email, rows).returning(Email.__table__.c.id))]


def _audit(company_id, actor_id, people, made, customers):
    """The events `buyers.add` and an added customer record, in one INSERT.

    `audit.record` adds one ORM object per event, and flushing 500 of them was a third of
    a batch's time; the rows are the same (`audit.record` is the reference; a detail here is
    short, its parts were checked by the dry run).
    """
    events = []
    for p in people.values():
        if p.new_account:
            detail = f"{p.name} ({p.email}), username {p.username}; customers: {customers[p.customer_id]}"
            events.append(("user_imported", detail, p.account_id))
        events += [("customers_added", customers[customer_id], p.account_id) for customer_id in p.links
                   if (p.user_id, customer_id) in made and not (p.new_account and customer_id == p.customer_id)]
    if events:
        now = utcnow()
        db.session.execute(_insert(AuditEvent, [
            {"company_id": company_id, "actor_id": actor_id, "ecommerce_user_id": account_id, "action": action,
             "detail": detail, "created_at": now} for action, detail, account_id in events]))
