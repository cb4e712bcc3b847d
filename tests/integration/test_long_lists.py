"""Long lists: a company with thousands of e-commerce users pages and searches them without
reading them all (the pager counts a thousand rows past its page, then says "40+")."""
from sqlalchemy import text

from komet.extensions import db
from komet.models import EcommerceUser, User

USERS = "/setup/users"


def many_users(app, company, count, name="Buyer"):
    """`count` active e-commerce users of `company` named "<name> 00001"…, in bulk."""
    with app.app_context():
        db.session.execute(text(
            "INSERT INTO users (email, name, password_hash, is_active, is_operator, reads_version, created_at)"
            " SELECT lower(:name) || n || '-' || :cid || '@bulk.example', :name || ' ' || lpad(n::text, 5, '0'),"
            " NULL, true, false, 0, now() FROM generate_series(1, :count) n"
            if db.engine.dialect.name == "postgresql" else
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count)"
            " INSERT INTO users (email, name, password_hash, is_active, is_operator, reads_version, created_at)"
            " SELECT lower(:name) || n || '-' || :cid || '@bulk.example',"
            " :name || ' ' || substr('0000' || n, -5, 5), NULL, 1, 0, 0, CURRENT_TIMESTAMP FROM g"),
            {"name": name, "count": count, "cid": company.id})
        db.session.execute(text(
            "INSERT INTO ecommerce_users (company_id, user_id, name, username, status, created_at)"
            " SELECT :cid, id, name, substr(email, 1, instr(email, '@') - 1), 'active', created_at FROM users"
            " WHERE email LIKE :like" if db.engine.dialect.name == "sqlite" else
            "INSERT INTO ecommerce_users (company_id, user_id, name, username, status, created_at)"
            " SELECT :cid, id, name, split_part(email, '@', 1), 'active', created_at FROM users"
            " WHERE email LIKE :like"),
            {"cid": company.id, "like": f"{name.lower()}%-{company.id}@bulk.example"})
        db.session.commit()


def test_a_long_list_is_counted_to_a_thousand_past_its_page_and_says_so(app, client, make, queries):
    company = make.company()
    many_users(app, company, 1030)
    client.login_as(make.staff(company))
    with queries:
        first = client.get(USERS).text
    assert "1,000+ e-commerce users." in first and "Page 1 of 40+" in first
    assert "Buyer 00001" in first and "Buyer 00025" in first and "Buyer 00026" not in first
    assert queries.count <= 5 and not any("OVER" in statement for statement in queries.statements)
    # From page 41 on, the count reaches the end: exact again.
    near_end = client.hx_get(f"{USERS}?page=41").text
    assert "Page 41 of 42<" in near_end and "1,030 e-commerce users." in near_end and "Next" in near_end
    last = client.hx_get(f"{USERS}?page=42").text
    assert "Page 42 of 42<" in last and "Buyer 01030" in last and "Next" not in last


def test_a_list_shorter_than_the_reach_is_counted_exactly_and_past_its_end_shows_the_last_page(
        app, client, make):
    company = make.company()
    many_users(app, company, 60)
    client.login_as(make.staff(company))
    first = client.get(USERS).text
    assert "60 e-commerce users." in first and "Page 1 of 3<" in first
    past = client.get(f"{USERS}?page=9").text
    assert "Page 3 of 3<" in past and "Buyer 00060" in past and "Buyer 00050" not in past


def test_search_pages_its_matches_with_the_same_pager(app, client, make):
    company = make.company()
    many_users(app, company, 40, name="Rosa")
    many_users(app, company, 40, name="Gus")
    client.login_as(make.staff(company))
    found = client.hx_get(f"{USERS}?q=rosa&page=2").text
    assert "Page 2 of 2<" in found and "40 e-commerce users." in found and "Rosa 00040" in found
    assert "Gus" not in found and "q=rosa" in found


def test_users_query_is_the_pages_filter_for_a_whole_export(app, make):
    from komet.accounts.directory import users_query

    bloom, other = make.company("Bloom"), make.company("Other")
    rose, green = make.customer(bloom, "Rose Café"), make.customer(bloom, "Green Market")
    make.buyer(rose, email="zed@example.com")
    make.buyer(green, email="amy.rose@example.com", active=False)
    make.buyer(green, email="bob@example.com")
    make.buyer(make.customer(other, "Rose Other"), email="rosa@example.com")  # another seller's
    with app.app_context():
        def found(search, status=""):
            rows = db.session.execute(users_query(bloom.id, search, status).add_columns(User.email)
                                      .join(User, User.id == EcommerceUser.user_id)).all()
            assert [account.name for account, _ in rows] == sorted(account.name for account, _ in rows)
            return {email for _, email in rows}

        # By email or by customer name, this company's users only, in name order.
        assert found("rose") == {"amy.rose@example.com", "zed@example.com"}
        assert found("rose", "pending") == {"amy.rose@example.com"}
        assert found("", "active") == {"zed@example.com", "bob@example.com"}
        assert len(found("")) == 3 and found("zzz") == set()
