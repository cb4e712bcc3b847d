"""The company's permanent invite link: find it by token, regenerate, pause, draw its QR code."""
import hmac
import io
import secrets
from typing import NamedTuple

import qrcode
import qrcode.image.svg
from sqlalchemy import bindparam, select

from komet import audit
from komet.clock import utcnow
from komet.connections import FastSelect
from komet.extensions import db
from komet.models import Company, InviteLink

# The lookup part only finds the row; the secret part is what makes the link unguessable.
_LOOKUP_BYTES, _SECRET_BYTES = 9, 24
_DUMMY_SECRET = secrets.token_urlsafe(_SECRET_BYTES)
# A printed QR code must scan from across a counter: 1,200 px square with the quiet zone.
QR_PNG_PIXELS = 1200


def _new_parts():
    return secrets.token_urlsafe(_LOOKUP_BYTES), secrets.token_urlsafe(_SECRET_BYTES)


def link_for(company_id):
    """The company's invite link, made the first time staff open the invite screen."""
    link = db.session.scalar(select(InviteLink).where(InviteLink.company_id == company_id))
    if link is None:
        lookup, secret = _new_parts()
        link = InviteLink(company_id=company_id, lookup=lookup, secret=secret, paused=False)
        db.session.add(link)
        db.session.commit()
    return link


def token_of(company_id):
    """The company's current public token, or None if it has no invite link."""
    link = db.session.scalar(select(InviteLink).where(InviteLink.company_id == company_id))
    return link.token if link else None


class PublicLink(NamedTuple):
    """What the public pages need of an invite link."""
    id: int
    paused: bool


class Seller(NamedTuple):
    """What the public pages show of the seller (everything the invite page's HTML depends on)."""
    id: int
    name: str


# Plain columns through psycopg (komet.connections.FastSelect): an anonymous page pays for no
# ORM entities, identity map or SQLAlchemy result objects.
_BY_LOOKUP = FastSelect(
    select(InviteLink.id, InviteLink.paused, InviteLink.secret, Company.id, Company.name)
    .join(Company, Company.id == InviteLink.company_id).where(InviteLink.lookup == bindparam("lookup")))


def find(token):
    """(PublicLink, Seller) for a public token, or None. One indexed query; the secret is compared
    in constant time, and against a dummy when the lookup is unknown, so timing says nothing."""
    lookup, _, secret = (token or "").partition(".")
    row = _BY_LOOKUP.first(db.session, {"lookup": lookup}) if 0 < len(lookup) <= 24 else None
    expected = row[2] if row else _DUMMY_SECRET
    matches = hmac.compare_digest(expected.encode(), secret.encode())
    return (PublicLink(row[0], row[1]), Seller(row[3], row[4])) if row and matches else None


def regenerate(link):
    """A new token: the old link and every printed QR code stop working at once."""
    link.lookup, link.secret = _new_parts()
    link.regenerated_at = utcnow()
    audit.record("invite_regenerated", "The invite link and QR code were replaced.", company_id=link.company_id)
    db.session.commit()


def set_paused(link, paused):
    if link.paused == paused:
        return False
    link.paused = paused
    audit.record("invite_paused" if paused else "invite_resumed", "", company_id=link.company_id)
    db.session.commit()
    return True


def _qr(url):
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr


def qr_png(url):
    """The link as a PNG at least QR_PNG_PIXELS square (boxes sized to reach it)."""
    qr = _qr(url)
    modules = qr.modules_count + 2 * qr.border
    qr.box_size = -(-QR_PNG_PIXELS // modules)
    out = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(out, format="PNG")
    return out.getvalue()


def qr_svg(url):
    """The link as a scalable SVG (one path), for print shops."""
    out = io.BytesIO()
    _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()
