"""Setup > Users > Invite Customers to Your E-Commerce: the link, its QR codes, the queue."""
from flask import flash, make_response, render_template, url_for
from flask_login import current_user

from blueprints.invites import bp
from blueprints.invites.forms import ApproveForm, RejectForm
from komet.accounts import buyers
from komet.invites import links, queue, requests
from komet.mail.kinds import external_url
from komet.models import AccessRequest, RequestStatus
from komet.permissions import Permission
from komet.tenancy import current_company, get_or_404
from komet.web import htmx
from komet.web.forms import EmptyForm
from komet.web.security import requires

MANAGE = Permission.MANAGE_INVITES


def invite_url(link):
    # Under BASE_URL, not the request's host: printed QR codes must point at the real site.
    return external_url("invite_page.show", token=link.token)


@bp.get("")
@requires(MANAGE)
def index():
    link = links.link_for(current_company().id)
    return render_template("invites/index.html", link=link, url=invite_url(link),
                           counts=queue.counts(link.company_id), form=EmptyForm())


def _download(body, mimetype, extension):
    response = make_response(body)
    response.mimetype = mimetype
    slug = current_company().slug
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-invite-qr.{extension}"'
    return response


@bp.get("/qr.png")
@requires(MANAGE)
def qr_png():
    return _download(links.qr_png(invite_url(links.link_for(current_company().id))), "image/png", "png")


@bp.get("/qr.svg")
@requires(MANAGE)
def qr_svg():
    return _download(links.qr_svg(invite_url(links.link_for(current_company().id))), "image/svg+xml", "svg")


@bp.post("/regenerate")
@requires(MANAGE)
def regenerate():
    if EmptyForm().validate_on_submit():
        links.regenerate(links.link_for(current_company().id))
        flash("The invite link and QR code are new. The old link and every printed QR code no longer work.",
              "success")
    return htmx.redirect(url_for("invites.index"))


@bp.post("/pause")
@requires(MANAGE)
def pause():
    if EmptyForm().validate_on_submit() and links.set_paused(links.link_for(current_company().id), True):
        flash("Requests are paused: the invite page says you are not accepting new requests.", "success")
    return htmx.redirect(url_for("invites.index"))


@bp.post("/resume")
@requires(MANAGE)
def resume():
    if EmptyForm().validate_on_submit() and links.set_paused(links.link_for(current_company().id), False):
        flash("Requests are open again.", "success")
    return htmx.redirect(url_for("invites.index"))


def _already_decided(access):
    flash("This request was already decided.", "info")
    return htmx.redirect(url_for("invites.requests", status=access.status.value))


def _approve_page(access, form, status=200):
    chosen = buyers.customers_by_ids(form.customers.data or []) if form.is_submitted() else []
    return htmx.render("invites/approve.html", "invites/_approve_form.html", status, access=access, form=form,
                       chosen=chosen)


@bp.route("/requests/<int:request_id>/approve", methods=["GET", "POST"])
@requires(MANAGE)
def approve(request_id):
    access = get_or_404(AccessRequest, request_id)
    form = ApproveForm(customer_name=access.business_name)
    if access.status != RequestStatus.PENDING:
        return _already_decided(access)
    if not form.validate_on_submit():
        return _approve_page(access, form, 422 if form.is_submitted() else 200)
    existing = buyers.customers_by_ids(form.customers.data)[0] if form.choice.data == "existing" else None
    try:
        requests.approve(access, customer=existing, new_customer_name=form.customer_name.data,
                         actor_id=current_user.id)
    except buyers.Refused as refused:
        form.choice.errors = [*form.choice.errors, refused.message]
        return _approve_page(access, form, 422)
    except requests.AlreadyDecided:  # a colleague decided a moment ago
        return _already_decided(access)
    flash(f"{access.business_name} was approved. We emailed {access.email} a link to activate their login.",
          "success")
    return htmx.redirect(url_for("invites.requests", status="pending"))


@bp.route("/requests/<int:request_id>/reject", methods=["GET", "POST"])
@requires(MANAGE)
def reject(request_id):
    access = get_or_404(AccessRequest, request_id)
    form = RejectForm()
    if access.status != RequestStatus.PENDING:
        return _already_decided(access)
    if not form.validate_on_submit():
        return htmx.render("invites/reject.html", "invites/_reject_form.html", 422 if form.is_submitted() else 200,
                           access=access, form=form)
    try:
        requests.reject(access, reason=form.reason.data, include_reason=form.include_reason.data,
                        actor_id=current_user.id)
    except requests.AlreadyDecided:
        return _already_decided(access)
    flash(f"{access.business_name}'s request was rejected; we emailed {access.email} politely.", "success")
    return htmx.redirect(url_for("invites.requests", status="pending"))
