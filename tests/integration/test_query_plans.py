"""How PostgreSQL runs the hot queries: prepared once per connection, planned on an index."""
import re

import pytest
from flask import g
from sqlalchemy import event, select, text

from komet import caching, pagination
from komet.accounts import directory, imports
from komet.clock import utcnow
from komet.extensions import db
from komet.invites import links
from komet.messages import admin, buyers, readers, schedule
from komet.models import Email, Message, User
from komet.pagination import count_upto
from komet.tenancy import Workspace, scoped


@pytest.fixture
def postgresql(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a PostgreSQL planner question (CI runs the suite on PostgreSQL)")


def test_prepared_statements_survive_from_one_request_to_the_next(app, client, postgresql, two_companies, make,
                                                                  monkeypatch):
    make.message(two_companies["a"])
    client.login_as(two_companies["a_buyer"])
    monkeypatch.setattr(caching, "get", lambda key: None)  # the messages query runs on every page
    with app.app_context():
        db.engine.dispose()  # one connection from here on, as in a web process serving one request at a time
    for _ in range(8):  # psycopg prepares a statement once it has run five times on a connection
        assert client.get("/shop/").status_code == 200
    with app.app_context():
        prepared = db.session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    assert any("message_reads" in statement for statement in prepared), prepared


def _many_messages(company, now, publish_on, expires_on, count=5000):
    """`count` messages of `company`, Publish On and Expires On given as SQL offsets from now
    of message n, then fresh planner statistics (in an app context)."""
    db.session.execute(text(
        "INSERT INTO messages (company_id, title, content_html, publish_on, expires_on, type, for_all_customers,"
        f" status, customers_read, created_at, updated_at) SELECT :company, 'Old ' || n, '', :now {publish_on},"
        f" :now {expires_on}, 'popup', true, 'draft', 0, :now, :now FROM generate_series(1, :count) n"),
        {"company": company.id, "now": now, "count": count})
    db.session.commit()
    db.session.execute(text("ANALYZE messages"))


def _as_prepared_sql(statement):
    """`statement` as SQL with $1, $2… placeholders, and its parameter names in that order."""
    sql = str(statement.compile(dialect=db.engine.dialect))
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
    for number, name in enumerate(names, 1):
        sql = sql.replace(f"%({name})s", f"${number}")
    return sql, names


def test_generic_plan_of_a_buyers_current_messages_uses_the_index(app, postgresql, two_companies):
    company, customer = two_companies["a"], two_companies["a_customer"]
    now = utcnow().replace(tzinfo=None, microsecond=0)
    with app.app_context():
        # Many long-expired messages, as a seller has after a few years, and a few current ones.
        _many_messages(company, now, publish_on="- n * interval '1 day' - interval '2 days'",
                       expires_on="- n * interval '1 day'")
        sql, names = _as_prepared_sql(buyers._SHOWN)
        values = {"company_id": company.id, "customer_id": customer.id, "user_id": 1,
                  "now": f"'{now}'", "end_of_time": f"'{buyers.END_OF_TIME.replace(tzinfo=None)}'"}
        db.session.execute(text("SET plan_cache_mode = force_generic_plan"))
        db.session.execute(text(f"PREPARE shown AS {sql}".replace(":", r"\:")))
        plan = "\n".join(db.session.scalars(text(
            f"EXPLAIN EXECUTE shown({', '.join(str(values[name]) for name in names)})")))
        db.session.execute(text("DEALLOCATE shown"))
        db.session.rollback()
    # Open-ended, the same query gets a bitmap scan estimated at a tenth of the table (and a
    # sequential scan as the table grows); closed, an index scan of the few current rows.
    assert "Seq Scan on messages" not in plan and "Bitmap Heap Scan on messages" not in plan, plan
    assert "Index Scan using ix_messages_company_expires_publish" in plan, plan


def test_a_message_history_page_is_read_in_index_order_without_counting_the_rest(app, postgresql, two_companies):
    company = two_companies["a"]
    now = utcnow().replace(tzinfo=None, microsecond=0)
    with app.app_context():
        _many_messages(company, now, publish_on="- n * interval '1 hour'", expires_on="+ interval '1 day'")
        with app.test_request_context():
            g.workspace = Workspace("staff-0", company)  # Message History of company A
            page_query = admin.history_query().limit(admin.PAGE_SIZE + 1)
            sql = str(page_query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(db.session.scalars(text("EXPLAIN " + sql.replace(":", r"\:"))))
        db.session.rollback()
    assert "Index Scan Backward using ix_messages_company_publish_id" in plan, plan
    assert "Sort" not in plan and "WindowAgg" not in plan, plan  # nothing reads the other 4,980


def test_the_invite_page_finds_its_link_by_the_lookup_index(app, client, postgresql, make):
    company = make.company()
    with app.app_context():
        token = links.link_for(company.id).token
        # 5,000 other sellers with a link each, so a sequential scan would be the planner's loss.
        db.session.execute(text(
            "WITH c AS (INSERT INTO companies (name, slug, timezone, created_at) SELECT 'S ' || n, 's-' || n,"
            " 'UTC', now() FROM generate_series(1, 5000) n RETURNING id)"
            " INSERT INTO invite_links (company_id, lookup, secret, paused, created_at)"
            " SELECT id, left(md5(id::text), 16), md5(id::text), false, now() FROM c"))
        db.session.commit()
        db.session.execute(text("ANALYZE invite_links"))
        db.session.commit()
    captured = []

    def capture(conn, cursor, statement, parameters, *args):
        captured.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            assert client.get(f"/i/{token}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        (statement, parameters), = captured  # one query, explained with the parameters it ran with
        raw = db.engine.raw_connection()
        try:
            plan = "\n".join(row[0] for row in raw.cursor().execute("EXPLAIN " + statement, parameters))
        finally:
            raw.close()
    assert "uq_invite_links_lookup" in plan and "Seq Scan on invite_links" not in plan, plan


def test_the_scheduler_sweep_finds_due_messages_on_partial_indexes_without_reading_the_table(
        app, postgresql, two_companies):
    now = utcnow().replace(tzinfo=None, microsecond=0)
    with app.app_context():
        # Years of expired messages, recorded so, as a seller's table is after a while.
        _many_messages(two_companies["a"], now, publish_on="- n * interval '1 day' - interval '2 days'",
                       expires_on="- n * interval '1 day'")
        db.session.execute(text("UPDATE messages SET status = 'expired'"))
        db.session.commit()
        db.session.execute(text("ANALYZE messages"))
        updates = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if statement.startswith("UPDATE messages"):
                updates.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            schedule.sweep(utcnow())
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        plans = []
        db.session.execute(text("SET plan_cache_mode = force_generic_plan"))  # as the app plans them
        for statement, parameters in updates:
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
            for number, name in enumerate(names, 1):
                statement = statement.replace(f"%({name})s", f"${number}")
            db.session.execute(text(f"PREPARE sweep AS {statement}".replace(":", r"\:")))
            arguments = ", ".join(f"'{parameters[name]}'" for name in names)
            plans.append("\n".join(db.session.scalars(text(f"EXPLAIN EXECUTE sweep({arguments})".replace(":", r"\:")))))
            db.session.execute(text("DEALLOCATE sweep"))
        db.session.rollback()
    assert len(plans) == 2, updates
    # Either partial index will do (a draft is unexpired too): both hold only unexpired rows.
    for plan in plans:
        assert re.search(r"Index Scan using ix_messages_(draft_publish|unexpired_expires)", plan), plan
        assert "Seq Scan" not in plan, plan


def _many_buyers(company, count=5000, customers=2000):
    """`count` e-commerce users of `company` over `customers` customers ("Account n", code "A-n"),
    a read by each of `message` if given, then fresh planner statistics (in an app context)."""
    params = {"cid": company.id, "n": count, "c": customers}
    db.session.execute(text("INSERT INTO customers (company_id, name, code, created_at)"
                            " SELECT :cid, 'Account ' || g, 'A-' || g, now() FROM generate_series(1, :c) g"), params)
    db.session.execute(text("INSERT INTO users (email, name, is_active, is_operator, reads_version, created_at)"
                            " SELECT 'bulk' || g || '@plans.example', 'Buyer ' || g, true, false, 0, now()"
                            " FROM generate_series(1, :n) g"), params)
    db.session.execute(text("INSERT INTO ecommerce_users (company_id, user_id, name, username, status, created_at)"
                            " SELECT :cid, id, name, split_part(email, '@', 1), 'active', now() FROM users"
                            " WHERE email LIKE 'bulk%@plans.example'"), params)
    db.session.execute(text("INSERT INTO customer_users (user_id, customer_id, company_id, created_at)"
                            " SELECT e.user_id, c.id, :cid, now() FROM ecommerce_users e"
                            " JOIN customers c ON c.company_id = :cid AND c.name = 'Account ' || (e.user_id % :c + 1)"
                            " WHERE e.company_id = :cid"), params)
    db.session.commit()
    _vacuum()


def _vacuum():
    # VACUUM, not only ANALYZE: rows added since a GIN index was built wait in its pending list,
    # which the planner rightly prices as a scan (autovacuum empties it in production).
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _explain(statement, generic=False):
    if generic:  # as psycopg runs a statement it has prepared, once PostgreSQL settles on a plan
        compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
        sql, params = str(compiled), compiled.params
        names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        for number, name in enumerate(names, 1):
            sql = sql.replace(f"%({name})s", f"${number}")
        db.session.execute(text("SET plan_cache_mode = force_generic_plan"))
        db.session.execute(text(f"PREPARE explained AS {sql}".replace(":", r"\:")))
        arguments = ", ".join("'" + str(params[name]).replace("'", "''") + "'" for name in names)
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN EXECUTE explained({arguments})".replace(":", r"\:"))))
        db.session.execute(text("DEALLOCATE explained"))
        return plan
    sql = str(statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    sql = sql.replace("%%", "%")  # the driver's escape; run as it is, with no parameters
    return "\n".join(db.session.scalars(text("EXPLAIN " + sql.replace(":", r"\:"))))


def test_setup_users_search_reads_the_trigram_indexes_not_every_user(app, postgresql, two_companies):
    company = two_companies["a"]
    with app.app_context():
        # As many as the bench's company: at a few thousand, reading them all is rightly cheaper.
        _many_buyers(company, count=50_000, customers=10_000)
        ids = directory.matching_ids(company.id, "Account 42", "active")
        page = ids.add_columns(count_upto(ids, pagination.COUNT_AHEAD + 1)).limit(directory.PAGE_SIZE + 1)
        plan, generic = _explain(page), _explain(page, generic=True)
        db.session.rollback()
    # Each way to match from its own index: name and username, email, customer name and code.
    # (Customers' names: this index, or any other trigram index on them.)
    for index in ("ix_ecommerce_users_name_trgm", "ix_ecommerce_users_username_trgm", "ix_users_email_trgm",
                  r"ix_customers_\w*name_trgm", "ix_customers_code_trgm"):
        assert re.search(index, plan), plan
    assert not re.search(r"Seq Scan on (ecommerce_users|users|customers|customer_users)\b", plan), plan
    # Once psycopg prepares the statement, PostgreSQL keeps planning each search with its own
    # text (a custom plan, the one above) as long as the one-size generic plan costs more.
    assert _cost(generic) > _cost(plan), (plan, generic)


def _run(action, prefix):
    """The (statement, parameters) starting with `prefix` that `action` runs."""
    captured = []

    def capture(conn, cursor, statement, parameters, *args):
        if statement.startswith(prefix):
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return captured


def _explain_run(statement, parameters, generic=False):
    """EXPLAIN of a statement as the app ran it; `generic`: as a prepared statement's generic plan."""
    if not generic:
        statement = re.sub(r"%\((\w+)\)s", lambda m: f"'{parameters[m.group(1)]}'", statement)
        return "\n".join(db.session.scalars(text("EXPLAIN " + statement.replace(":", r"\:"))))
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    for number, name in enumerate(names, 1):
        statement = statement.replace(f"%({name})s", f"${number}")
    db.session.execute(text("SET plan_cache_mode = force_generic_plan"))
    db.session.execute(text(f"PREPARE ran AS {statement}".replace(":", r"\:")))
    arguments = ", ".join(f"'{parameters[name]}'" for name in names)
    plan = "\n".join(db.session.scalars(text(f"EXPLAIN EXECUTE ran({arguments})".replace(":", r"\:"))))
    db.session.execute(text("DEALLOCATE ran"))
    db.session.execute(text("SET plan_cache_mode = auto"))
    return plan


def _cost(plan):
    return float(re.match(r"\S+.*?cost=[\d.]+\.\.([\d.]+)", plan).group(1))


def test_setup_users_first_page_reads_a_page_of_the_name_index_and_counts_no_further_than_its_reach(
        app, postgresql, two_companies):
    company = two_companies["a"]
    with app.app_context():
        _many_buyers(company)
        query = (directory.users_query(company.id).add_columns(directory.User.email)
                 .join(directory.User, directory.User.id == directory.EcommerceUser.user_id))
        page = query.add_columns(count_upto(query, pagination.COUNT_AHEAD + 1)).limit(directory.PAGE_SIZE + 1)
        plan = _explain(page)
        db.session.rollback()
    # The page in name order from the index, stopped after a page; the count stopped at its reach.
    assert "Index Scan using ix_ecommerce_users_company_id_name" in plan, plan
    assert "Sort" not in plan and "WindowAgg" not in plan, plan
    count = plan.split("InitPlan", 1)[1]
    assert re.search(r"->  Limit .*rows=1001 ", count), plan


def test_who_read_page_walks_customers_by_name_for_a_message_read_by_thousands_and_starts_from_a_few_reads(
        app, postgresql, two_companies, make):
    company = two_companies["a"]
    many, few = make.message(company, "Read by all"), make.message(company, "Read by ten")
    with app.app_context():
        _many_buyers(company, count=20_000, customers=20_000)
        for message, limit in ((many, 20_000), (few, 10)):
            db.session.execute(text(
                "INSERT INTO message_reads (message_id, user_id, customer_id, company_id, read_at) SELECT :m,"
                " user_id, customer_id, :cid, now() FROM customer_users WHERE company_id = :cid ORDER BY id LIMIT :n"),
                {"m": message.id, "cid": company.id, "n": limit})
        db.session.commit()
        _vacuum()
        plans = {}
        for message, name in ((many, "many"), (few, "few")):
            (statement, parameters), = _run(lambda: readers.readers_page(db.session.get(Message, message.id)),
                                            "SELECT customers.name")
            # Generic: as PostgreSQL may run it once psycopg has prepared it.
            plans[name] = [_explain_run(statement, parameters), _explain_run(statement, parameters, generic=True)]
        db.session.rollback()
    for plan in plans["many"] + plans["few"]:
        # Planned for a page, even generic: a LIMIT left unknown is taken for a tenth of the
        # rows, and the plan for 5,000 rows (parallel workers, a sort) costs 20 ms more per page.
        assert int(re.match(r"Limit .*? rows=(\d+)", plan).group(1)) <= readers.PAGE_SIZE + 1, plan
        assert "Gather" not in plan, plan
    for plan in plans["many"]:
        counting, paging = plan.split("  ->  ", 1)[1].split("\n  ->  ", 1)  # the InitPlan, then the page
        assert "->  Limit" in counting, plan  # counted no further than its reach
        assert "ix_customers_company_id_name" in paging, plan  # in name order, stopped after a page
        assert "Seq Scan" not in paging and "WindowAgg" not in plan, plan
    for plan in plans["few"]:
        assert "ix_customers_company_id_name" not in plan, plan  # not 5,000 customers to find ten
        assert "Seq Scan" not in plan, plan


def test_setup_emails_page_reads_the_companys_newest_from_its_index(app, postgresql, two_companies):
    company, other = two_companies["a"], two_companies["b"]
    with app.app_context():
        # Another seller's many emails interleaved with this one's, as in a shared outbox.
        db.session.execute(text(
            "INSERT INTO emails (company_id, kind, to_address, context, status, attempts, created_at)"
            " SELECT CASE WHEN n % 10 = 0 THEN :a ELSE :b END, 'activation', 'x' || n || '@example.com', '{}',"
            " 'sent', 1, now() FROM generate_series(1, 50000) n"), {"a": company.id, "b": other.id})
        db.session.commit()
        _vacuum()
        with app.test_request_context():
            g.workspace = Workspace("staff-0", company)
            query = scoped(Email).order_by(Email.id.desc())  # as komet.mail.outbox.emails_page
            plan = _explain(query.add_columns(count_upto(query, pagination.COUNT_AHEAD + 1)).limit(26))
        db.session.rollback()
    assert "ix_emails_company_id_id" in plan and "Sort" not in plan and "WindowAgg" not in plan, plan


def test_a_csv_imports_lookups_of_emails_and_usernames_probe_the_unique_indexes_not_the_trigram_ones(
        app, postgresql, two_companies):
    company, admin = two_companies["a"], two_companies["a_admin"]
    rows = [f"Bulk {n},bulk{n}@plans.example,bulk{n},A-{n % 7 + 1}\n" for n in range(1, 251)]
    rows += [f"New {n},new{n}@plans.example,new{n},A-1\n" for n in range(250)]
    with app.app_context():
        _many_buyers(company, count=50_000, customers=100)  # as many as the bench imports into
        ran = _run(lambda: imports.run(imports.check(company.id, admin.id, "users.csv",
                                                     ("name,email,username,customer\n" + "".join(rows)).encode()).id),
                   "SELECT")
        # Planned now, with the import's new rows waiting in the trigram indexes' pending lists.
        plans = [("\n".join(db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters).scalars()),
                  statement) for statement, parameters in ran]
        emails = [f"bulk{n}@plans.example" for n in range(1, 501)]
        as_in_list = _explain(select(User.id).where(User.email.in_(emails)))
        db.session.rollback()
    lookups = [plan for plan, statement in plans if re.search(r"FROM (users|ecommerce_users)\b", statement)]
    assert len(lookups) >= 4, plans  # the dry run's and the batch's, of emails and of usernames
    for plan, statement in plans:
        assert "trgm" not in plan and not re.search(r"Seq Scan on (users|ecommerce_users)\b", plan), (statement, plan)
    assert any("uq_users_email" in plan for plan in lookups), plans
    assert any("uq_ecommerce_users_company_id_username" in plan for plan in lookups), plans
    # Why it matters: the same emails as `email IN (…)` are not probed on the btree: PostgreSQL
    # reads every user, or (as in the bench's database) searches the trigram index once per
    # value, each search reading the index's whole pending list.
    assert "uq_users_email" not in as_in_list, as_in_list
