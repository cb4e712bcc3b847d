"""Roles, 403s, and the promise that one company never reaches another's rows."""
import re

import pytest
from werkzeug.routing import IntegerConverter

from komet.models import EmailStatus, Role
from tests.factories import ID_ARGUMENTS


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        id_args = [arg for arg, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        # The operator's pages belong to no company: everyone but an operator gets 403 there
        # (tests/integration/test_operator.py), whatever the id.
        if id_args and not rule.endpoint.startswith("operator."):
            yield rule, id_args


def test_url_map_has_id_routes_to_check(app):
    assert list(_id_routes(app)), "the cross-tenant test would check nothing"


def test_every_route_taking_an_id_answers_404_for_another_company(app, make, two_companies):
    # Company B's Admin (every staff permission) and B's buyer call each route with A's ids:
    # whichever of them may use the route gets 404, the other 403; nobody gets A's row.
    a = two_companies["a"]
    outsiders = {"staff": app.test_client().login_as(two_companies["b_admin"]),
                 "buyer": app.test_client().login_as(two_companies["b_buyer"])}
    checked = []
    for rule, id_args in _id_routes(app):
        missing = [arg for arg in id_args if arg not in ID_ARGUMENTS]
        assert not missing, f"{rule.rule}: add {missing} to ID_ARGUMENTS in tests/factories.py"
        values = {arg: ID_ARGUMENTS[arg](make, a) for arg in id_args}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            statuses = {}
            for who, client in outsiders.items():
                data = {} if method == "GET" else {"csrf_token": client.csrf_token()}
                statuses[who] = client.open(url, method=method, data=data).status_code
            assert set(statuses.values()) <= {403, 404} and 404 in statuses.values(), f"{method} {url}: {statuses}"
            checked.append(f"{method} {rule.rule}")
    assert checked


def test_same_ids_work_for_their_own_company(client, make, two_companies):
    email = make.email(two_companies["a"], status=EmailStatus.SENT, to="rosa@example.com")
    client.login_as(two_companies["a_admin"])
    response = client.get(f"/setup/emails/{email.id}")
    assert response.status_code == 200 and b"rosa@example.com" in response.data


@pytest.mark.parametrize("role, path, status", [
    (Role.ADMIN, "/setup/settings/promotions-and-messages/", 200),
    (Role.SETUP, "/setup/settings/promotions-and-messages/", 200),
    (Role.SALES_MANAGER, "/setup/settings/promotions-and-messages/", 403),
    (Role.SALES_MANAGER, "/setup/users", 200),
    (Role.SETUP, "/setup/users", 200),
    (Role.SETUP, "/setup/emails", 403),
    (Role.ADMIN, "/setup/emails", 200),
])
def test_permission_map_decides_who_sees_each_setup_page(client, make, role, path, status):
    staff = make.staff(make.company(), role=role)
    response = client.login_as(staff).get(path)
    assert response.status_code == status
    if status == 403:
        assert b"You don&#39;t have permission to do that" in response.data
        assert b"Ask an Admin" in response.data


def test_settings_hides_promotions_link_from_roles_without_it(client, make):
    sales = make.staff(make.company(), role=Role.SALES_MANAGER)
    page = client.login_as(sales).get("/setup/settings").data.decode()
    assert 'href="/setup/settings/promotions-and-messages/"' not in page
    assert "Promotions and Messages" in page  # named, but not a link


def test_buyers_never_see_setup_screens(client, two_companies):
    response = client.login_as(two_companies["a_buyer"]).get("/setup/settings")
    assert response.status_code == 403


def test_staff_are_not_buyers_in_the_shop(client, two_companies):
    assert client.login_as(two_companies["a_admin"]).get("/shop/").status_code == 403


def test_shop_shows_only_its_own_sellers_products(client, make, two_companies):
    make.product(two_companies["a"], "Alpha tulips")
    make.product(two_companies["b"], "Beta apples")
    page = client.login_as(two_companies["a_buyer"]).get("/shop/").data.decode()
    assert "Alpha tulips" in page and "Beta apples" not in page


def test_users_page_lists_only_this_companys_buyers(client, two_companies):
    page = client.login_as(two_companies["a_admin"]).get("/setup/users").data.decode()
    assert two_companies["a_buyer"].email in page
    assert two_companies["b_buyer"].email not in page


def test_htmx_request_gets_the_fragment_and_a_normal_one_the_page(client, two_companies):
    client.login_as(two_companies["a_admin"])
    full = client.get("/setup/users").data.decode()
    fragment = client.hx_get("/setup/users").data.decode()
    assert "<html" in full and 'id="users-table"' in full
    assert "<html" not in fragment and fragment.strip().startswith('<div id="users-table">')


def test_boosted_request_gets_the_full_page(client, two_companies):
    client.login_as(two_companies["a_admin"])
    page = client.get("/setup/users", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert b"<html" in page.data


def test_removed_link_takes_effect_on_the_next_request(app, client, two_companies):
    from komet.extensions import db
    from komet.models import CustomerUser

    buyer = two_companies["a_buyer"]
    client.login_as(buyer)
    assert client.get("/shop/").status_code == 200
    with app.app_context():
        db.session.query(CustomerUser).filter_by(user_id=buyer.id).delete()
        db.session.commit()
    response = client.get("/shop/")
    assert response.status_code == 303 and response.location.endswith("/choose")


def test_unknown_page_is_a_clear_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and b"Page not found" in response.data


def test_body_carries_the_csrf_token_for_htmx(client, two_companies):
    page = client.login_as(two_companies["a_admin"]).get("/setup/settings").data.decode()
    assert re.search(r'<body hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', page)


def test_htmx_is_pinned_with_subresource_integrity(client):
    page = client.get("/login").data.decode()
    assert 'src="https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"' in page
    assert 'integrity="sha384-' in page and 'crossorigin="anonymous"' in page


def test_shop_page_runs_a_constant_number_of_queries(client, make, two_companies, queries):
    client.login_as(two_companies["a_buyer"])
    make.product(two_companies["a"])
    with queries:
        assert client.get("/shop/").status_code == 200
    assert queries.count <= 4  # user with workspace, products, messages with their reads, next Publish On
    with queries:
        assert client.get("/shop/").status_code == 200
    few = queries.count
    for n in range(20):
        make.product(two_companies["a"], f"Product {n}")
    with queries:
        page = client.get("/shop/")
    assert page.status_code == 200 and "Product 19" in page.data.decode()  # the page rendered, with them
    assert queries.count == few <= 2  # user with workspace (and cache versions), products: messages cached
