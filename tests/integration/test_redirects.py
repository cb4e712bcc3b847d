"""After login, `next=` only ever leads to a page of this site."""
import pytest

from tests.factories import PASSWORD

OFF_SITE = [
    "//evil.example/", "/\\evil.example/", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
    "\t//evil.example", "/\x0b/evil.example", "/\x00/evil.example", "https://evil.example/",
    "/\\/evil.example", " //evil.example", "/\x7f/evil.example", "javascript:alert(1)",
    "http:/evil.example", "/%0d%0aSet-Cookie:x=1",
]


def _login(client, email, nxt, htmx=False):
    data = {"email": email, "password": PASSWORD, "next": nxt}
    return client.hx_post("/login", data) if htmx else client.form_post("/login", data)


@pytest.mark.parametrize("nxt", OFF_SITE)
def test_next_never_leaves_the_site(client, make, nxt):
    admin = make.staff(make.company())
    response = _login(client, admin.email, nxt)
    if "\x00" in nxt:  # refused before any view runs
        assert response.status_code == 400
        return
    assert response.status_code == 303
    assert response.headers["Location"] in ("/setup/", nxt)  # the landing page, or a harmless path
    assert not response.headers["Location"].startswith("//") and "evil.example" not in response.headers["Location"]


@pytest.mark.parametrize("nxt", OFF_SITE)
def test_next_never_leaves_the_site_with_htmx(client, make, nxt):
    admin = make.staff(make.company())
    response = _login(client, admin.email, nxt, htmx=True)
    if "\x00" in nxt:
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] in ("/setup/", nxt)
    assert "evil.example" not in response.headers["HX-Redirect"]


def test_the_issue_payload_from_the_query_string(client, make):
    admin = make.staff(make.company())
    page = client.get("/login?next=%2F%09%2Fevil.example")
    assert page.status_code == 200
    response = _login(client, admin.email, "/\t/evil.example")
    assert response.headers["Location"] == "/setup/"


def test_a_path_with_a_query_is_kept(client, make):
    admin = make.staff(make.company())
    response = _login(client, admin.email, "/setup/users?page=2")
    assert response.headers["Location"] == "/setup/users?page=2"
