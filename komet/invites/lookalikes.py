"""Catch the company that is already a customer: "Green Market" asking again with a new email.

A request's business name is compared with the names of the seller's customers. On PostgreSQL
by trigram similarity (pg_trgm), served by the GIN index on customers' names, so a queue page
costs one indexed query with 10 customers or 10,000. On SQLite (`make run`) by normalised names
and difflib, over a bounded set of candidates that share the start of a word with the request.
"""
import difflib
import unicodedata

from sqlalchemy import desc, func, literal, or_, select, union_all

from komet.extensions import db
from komet.models import Customer
from komet.search import like_pattern

# pg_trgm similarity from which two names "closely resemble" each other: "Green Market" and
# "Green Market Deli" (0.72), "Greenmarket" (0.67), "Bloom Shop" and "Blossom Shop" (0.6) do;
# "Corner Bistro" and "Corner Bakery" (0.4), "Green Grocer" and "Green Market" (0.33) do not.
SIMILARITY = 0.5
# The same judgement by difflib's ratio of normalised names (SQLite).
RATIO = 0.8
CANDIDATES = 500  # SQLite: names compared per request, at most
WORD_START = 4  # SQLite: a candidate shares this many first letters of a word with the request


def matches(company_id, requests):
    """{request id: (customer id, customer name)}: the company's customer whose name most
    resembles each request's business name, for the requests that have one."""
    asked = [(r.id, r.business_name) for r in requests if r.business_name.strip()]
    if not asked:
        return {}
    if db.session.get_bind().dialect.name == "postgresql":
        return _by_trigrams(company_id, asked)
    return {request_id: found for request_id, name in asked
            if (found := _by_ratio(company_id, name)) is not None}


def match(company_id, request):
    """(customer id, customer name) most resembling `request`'s business name, or None."""
    return matches(company_id, [request]).get(request.id)


def _by_trigrams(company_id, asked):
    rows = db.session.execute(trigram_query(company_id, asked)).all()
    return {request_id: (customer_id, name) for request_id, customer_id, name in rows}


def trigram_query(company_id, asked):
    """PostgreSQL: for each (request id, business name), the closest customer, if close enough.

    One statement, a UNION ALL of one branch per request: each branch compares with a value
    the planner can see, so it plans on the trigram index (a LATERAL join over the names
    would hide them and scan every customer of the company instead)."""
    branches = []
    for request_id, name in asked:
        score = func.similarity(Customer.name, name)
        # `%` is the indexed test (pg_trgm.similarity_threshold, 0.3 by default); the score
        # then keeps the close ones.
        best = (select(Customer.id, Customer.name).where(Customer.company_id == company_id,
                                                        Customer.name.op("%")(name), score >= SIMILARITY)
                .order_by(desc(score), Customer.name).limit(1).subquery())
        branches.append(select(literal(request_id).label("request_id"), best.c.id, best.c.name))
    return union_all(*branches) if len(branches) > 1 else branches[0]


def normalise(name):
    """Lower case, accents and punctuation gone, no spaces: "Rose Café 🌹" → "rosecafe"."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in folded if c.isalnum())


def _words(name):
    folded = unicodedata.normalize("NFKD", name.casefold())
    words = "".join(c if c.isalnum() else " " for c in folded).split()
    return sorted({w[:WORD_START] for w in words if len(w) >= 3}, key=len, reverse=True)[:4]


def _by_ratio(company_id, name):
    wanted, starts = normalise(name), _words(name)
    if not wanted or not starts:
        return None
    candidates = db.session.execute(
        select(Customer.id, Customer.name).where(
            Customer.company_id == company_id,
            or_(*(Customer.name.ilike(like_pattern(start), escape="\\") for start in starts)))
        .order_by(Customer.id).limit(CANDIDATES)).all()
    scored = [(difflib.SequenceMatcher(None, wanted, normalise(other)).ratio(), other, customer_id)
              for customer_id, other in candidates]
    close = [entry for entry in scored if entry[0] >= RATIO]
    if not close:
        return None
    _, other, customer_id = min(close, key=lambda entry: (-entry[0], entry[1]))
    return customer_id, other
