from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from blueprints.shop import bp
from komet import caching
from komet.clock import utcnow
from komet.messages import buyers, content
from komet.models import Message, MessageImage
from komet.shop.catalog import catalogue_page
from komet.tenancy import current_workspace, get_or_404
from komet.web import htmx, shell
from komet.web.security import buyer_required


def _messages_region(workspace):
    """The shop's messages region: {"html", "known", "until"}, cached under the versions of
    everything it shows (komet.caching) until the next Publish On or Expires On."""
    company, user, customer_id = workspace.company, current_user, workspace.customer.id
    key = (f"shop-messages:{caching.company_key(company)}:{company.messages_version}:{customer_id}:"
           f"{user.id}:{user.reads_version}")
    region = caching.get(key)
    if region is None:
        now = utcnow()
        shown = buyers.current_for_customer(company.id, customer_id, user.id, now)
        opening, more = buyers.opening(shown)
        known = buyers.known_key(item.message.id for item in shown)
        html = render_template("shop/_messages.html", shown=shown, opening=opening, more=more, known=known)
        region = caching.put(key, buyers.shown_until(shown, company.id, now), html=html, known=known)
    return region


@bp.get("/")
@buyer_required
def home():
    workspace = current_workspace()
    products = catalogue_page(workspace.company.id, request.args.get("page", 1, type=int))
    return shell.render_page("shop/home.html", key=tuple(products), products=products,
                             slots={"messages_region": Markup(_messages_region(workspace)["html"])})


@bp.get("/messages")
@buyer_required
def poll_messages():
    """Polled by the shop every 30 s: 204 unless the current set changed (usually from the cache)."""
    if not htmx.is_htmx():
        return redirect(url_for("shop.home"))
    region = _messages_region(current_workspace())
    if region["known"] == request.args.get("known"):
        return "", 204
    return region["html"]


@bp.post("/messages/<int:message_id>/read")
@buyer_required
def read_message(message_id):
    buyers.record_read(get_or_404(Message, message_id), current_user.id, current_workspace().customer.id)
    return "", 204


@bp.get("/messages/images/<int:image_id>")
@login_required
def message_image(image_id):
    """An image inside a message, for the buyers and staff of the company that owns it.

    Under /shop, not /setup: message content goes to buyers, and no staff URL should.
    """
    return content.response_for(get_or_404(MessageImage, image_id))
