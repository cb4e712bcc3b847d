"""Property: whatever a client sends to any route of the URL map, in any form field or query
parameter, the answer is never a 5xx. Meant for PostgreSQL (CI), which refuses what SQLite
lets through (NUL bytes, integers out of range)."""
import os

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.routing import IntegerConverter
from wtforms.fields.core import UnboundField


# Values people and attackers type: edges of numbers, dates and URLs, control characters.
EDGES = ["", " ", "0", "-1", "1", str(2**31 - 1), str(2**31), str(2**63), "9" * 60, "1e308", "NaN",
         "9999-12-31T23:59", "9999-12-30T23:00", "0001-01-01T00:00", "2026-03-08T02:30", "2026-11-01T01:30",
         "2031-01-01T09:00", "\x00", "a\x00b", "\r\n", "\x0b", "\t", "//evil.example", "/\t/evil.example",
         "/\\evil.example", "javascript:alert(1)", "<script>alert(1)</script>", "' OR 1=1 --", "%00", "y",
         "on", "all", "chosen", "popup", "window", "staff-1", "buyer-1-1", "é" * 300, "🌷", "x" * 5000]
values = st.one_of(st.sampled_from(EDGES),
                   st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
                   st.integers(min_value=-(2**70), max_value=2**70).map(str))
ids = st.one_of(st.sampled_from([0, 1, 2, 3, 2**31 - 1, 2**31, 2**63, 10**30]), st.integers(0, 2**70))


def _form_field_names():
    names, classes = {"csrf_token"}, list(FlaskForm.__subclasses__())
    while classes:
        cls = classes.pop()
        classes += cls.__subclasses__()
        for klass in cls.__mro__:
            names.update(n for n, v in vars(klass).items() if isinstance(v, UnboundField))
    return sorted(names)


@pytest.fixture
def _world(make):
    company = make.company()
    customer = make.customer(company)
    message = make.message(company)
    make.image(company)
    make.email(company)
    return {"admin": make.staff(company), "buyer": make.buyer(customer), "message": message.id}


@given(data=st.data())
@settings(max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "150")), deadline=None, derandomize=True,
          database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_input_to_any_route_gives_a_server_error(app, data, _world):
    """Each example is one set of generated values, sent to every route and method of the
    URL map: as query parameters, and as every field of every form (and the edit row's
    prefixed fields), as one user (Admin, buyer or nobody), plain or htmx."""
    names = _form_field_names() + [f"m{_world['message']}-{n}" for n in ("title", "content", "publish_on",
                                                                          "expires_on", "audience", "customers")]
    form = {name: data.draw(values, label=name) for name in names}
    query = data.draw(st.dictionaries(st.sampled_from(["page", "q", "next", *names]), values, max_size=4),
                      label="query")
    path_id = data.draw(ids, label="id in the path")
    path_text = data.draw(values, label="text in the path")
    who = data.draw(st.sampled_from(["admin", "buyer", None]), label="who")
    htmx = data.draw(st.booleans(), label="htmx")

    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path_values = {name: path_id if isinstance(conv, IntegerConverter) else path_text
                       for name, conv in rule._converters.items()}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = app.url_map.bind("localhost").build(rule.endpoint, path_values, method=method)
            client = _client(app, _world, who)
            headers = {"HX-Request": "true"} if htmx else {}
            body = None
            if method != "GET":
                headers["X-CSRFToken"] = token = client.csrf_token()
                body = {**form, "csrf_token": token}
            response = client.open(path, method=method, query_string=query, data=body, headers=headers)
            assert response.status_code < 500, f"{method} {path} query={query!r} form={body!r} as {who}"


def _client(app, world, who):
    client = app.test_client()
    if who:
        client.login_as(world[who])  # a session of its own: a logout in an earlier call ended only that one
    return client
