"""Demo data for `make run`. Loading it twice changes nothing: rows are found by natural key."""
from decimal import Decimal

from sqlalchemy import select

from komet import caching
from komet.extensions import db
from komet.models import Company, Customer, CustomerUser, EcommerceUser, LinkStatus, Membership, Product, Role, User

DEMO_PASSWORD = "komet-demo-2026"

COMPANIES = [
    {
        "slug": "bloom", "name": "Bloom Wholesale Flowers", "timezone": "America/New_York",
        "customers": ["Rose Café 🌹", "Green Market", "Petal & Stem Florist"],
        "products": [("RS-RED-50", "Red roses, 50 cm", "bunch", "18.50"),
                     ("TU-MIX-40", "Tulips, mixed colours", "bunch", "12.00"),
                     ("HY-WHT-01", "White hydrangea", "stem", "3.20"),
                     ("EU-SIL-10", "Silver dollar eucalyptus", "bunch", "7.75")],
    },
    {
        "slug": "harvest", "name": "Harvest Produce Co.", "timezone": "America/Chicago",
        "customers": ["Green Market Deli", "Corner Bistro"],
        "products": [("AP-HON-40", "Honeycrisp apples", "case", "42.00"),
                     ("LT-ROM-24", "Romaine lettuce", "case", "28.50"),
                     ("TM-HEI-10", "Heirloom tomatoes", "flat", "31.00")],
    },
]
STAFF = [(role, f"{prefix}@{slug}.example", f"{label} {slug.title()}")
         for slug in ("bloom", "harvest")
         for role, prefix, label in ((Role.ADMIN, "admin", "Ada"), (Role.SETUP, "setup", "Sam"),
                                     (Role.SALES_MANAGER, "sales", "Sol"))]
# (email, name, [(company slug, customer name)])
BUYERS = [
    ("buyer@rosecafe.example", "Rosa Buyer", [("bloom", "Rose Café 🌹")]),
    ("multi@greenmarket.example", "Milo Multi", [("bloom", "Green Market"), ("harvest", "Green Market Deli")]),
]
DEMO_LOGINS = (
    [(email, f"{role.label} — {slug.title()}") for role, email, _ in STAFF
     for slug in [email.split("@")[1].split(".")[0]]]
    + [("buyer@rosecafe.example", "Buyer — Rose Café 🌹 (Bloom)"),
       ("multi@greenmarket.example", "Buyer — Green Market (Bloom) and Green Market Deli (Harvest)")]
)


def _get_or_add(model, defaults=None, **keys):
    return _add_missing(model, defaults, **keys)[0]


def _add_missing(model, defaults=None, **keys):
    """(the row with `keys`, whether it was missing and is added now with `defaults`)."""
    row = db.session.scalar(select(model).filter_by(**keys))
    if row is not None:
        return row, False
    row = model(**keys, **(defaults or {}))
    db.session.add(row)
    db.session.flush()
    return row, True


def _user(email, name):
    user = db.session.scalar(select(User).filter_by(email=email))
    if user is None:
        user = User(email=email, name=name)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
    return user


def load_demo_data():
    """Create the demo companies, staff, customers, products and buyers if missing."""
    companies, customers = {}, {}
    for spec in COMPANIES:
        company = _get_or_add(Company, {"name": spec["name"], "timezone": spec["timezone"]}, slug=spec["slug"])
        companies[spec["slug"]] = company
        for name in spec["customers"]:
            customers[spec["slug"], name] = _get_or_add(Customer, company_id=company.id, name=name)
        for sku, name, unit, price in spec["products"]:
            _get_or_add(Product, {"name": name, "unit": unit, "price": Decimal(price)},
                        company_id=company.id, sku=sku)
    for role, email, name in STAFF:
        user = _user(email, name)
        slug = email.split("@")[1].split(".")[0]
        _get_or_add(Membership, {"role": role}, user_id=user.id, company_id=companies[slug].id)
    for email, name, links in BUYERS:
        user = _user(email, name)
        for slug, customer_name in links:
            customer = customers[slug, customer_name]
            added = [_add_missing(EcommerceUser, {"name": name, "username": email.split("@")[0],
                                                  "status": LinkStatus.ACTIVE},
                                  user_id=user.id, company_id=customer.company_id)[1],
                     _add_missing(CustomerUser, {"company_id": customer.company_id},
                                  user_id=user.id, customer_id=customer.id)[1]]
            if any(added):  # Setup > Users may have cached the company's list without them
                caching.bump_users(customer.company_id)
    db.session.commit()
    return companies
