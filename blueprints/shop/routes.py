from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.shop import bp
from komet import htmx, messages
from komet.catalog import catalogue_page
from komet.extensions import db
from komet.models import Message
from komet.security import buyer_required
from komet.tenancy import current_workspace, get_or_404


def _shown(workspace):
    return messages.current_for_customer(workspace.company.id, workspace.customer.id, current_user.id)


@bp.get("/")
@buyer_required
def home():
    workspace = current_workspace()
    products = catalogue_page(workspace.company.id, request.args.get("page", 1, type=int))
    return render_template("shop/home.html", products=products, shown=_shown(workspace))


@bp.get("/messages")
@buyer_required
def poll_messages():
    """Polled by the shop every 30 s: 204 (one indexed query) unless the current set changed."""
    if not htmx.is_htmx():
        return redirect(url_for("shop.home"))
    workspace = current_workspace()
    ids = messages.current_ids(workspace.company.id, workspace.customer.id)
    if ",".join(map(str, ids)) == request.args.get("known", ""):
        return "", 204
    return render_template("shop/_messages.html", shown=_shown(workspace))


@bp.post("/messages/<int:message_id>/read")
@buyer_required
def read_message(message_id):
    message = get_or_404(Message, message_id)
    customer = current_workspace().customer
    if not messages.is_for_customer(message, customer.id):
        abort(404)
    messages.mark_read(message, current_user.id, customer.id)
    db.session.commit()
    return ("", 204) if htmx.is_htmx() else redirect(url_for("shop.home"), code=303)
