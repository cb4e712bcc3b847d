import hashlib
from datetime import timedelta

from flask import Response, flash, make_response, render_template, request, stream_with_context, url_for

from blueprints.users import UserRows, bp
from blueprints.users.forms import EcommerceUserForm, EditEcommerceUserForm
from komet import audit, caching
from komet.clock import utcnow
from komet.accounts import buyers, directory, export
from komet.models import EcommerceUser, LinkStatus
from komet.permissions import Permission
from komet.tenancy import current_company, current_workspace, get_or_404
from komet.web import htmx, shell
from komet.web.forms import EmptyForm
from komet.web.security import requires

MANAGE = Permission.MANAGE_ECOMMERCE_USERS


def _row(account):
    return render_template("users/_user_row.html", row=directory.user_row(account))


def _edit_form(account, customers):
    form = EditEcommerceUserForm(prefix=f"u{account.id}", obj=account if request.method == "GET" else None)
    return form, (customers if request.method == "GET" else _chosen(form))


def _chosen(form):
    # Another company's customer id in the form is a 404, like any other id of theirs.
    return buyers.customers_by_ids(form.customers.data or [])


def _users_table(q, status, page_number):
    """Setup > Users' table, cached under the company's users version (komet.caching); only this
    session's form token is added each time. What the table shows depends on no one's role
    beyond the Manage E-Commerce Users the route requires; the role is in the key all the same."""
    company, workspace = current_company(), current_workspace()
    search = hashlib.sha256(f"{q}\n{status}".encode()).hexdigest()[:16]
    key = (f"users:{caching.company_key(company)}:{company.users_version}:{company.timezone}:"
           f"{workspace.role.value}:{page_number}:{search}")
    table = caching.get(key)
    if table is None:
        page = directory.ecommerce_users_page(q, status, page_number)
        html = render_template("users/_users_table.html", page=page, q=q, status_filter=status,
                               kit=UserRows(csrf_token=UserRows.CSRF_PLACEHOLDER))
        table = caching.put(key, utcnow() + timedelta(seconds=caching.MAX_SECONDS), html=html)
    return UserRows.with_csrf(table["html"])


@bp.get("")
@requires(MANAGE)
def index():
    q, status = request.args.get("q", ""), request.args.get("status", "")
    table = _users_table(q, status, request.args.get("page", 1, type=int))
    if htmx.is_htmx():
        return table
    return shell.render_page("users/index.html", key=(q, status), q=q, status_filter=status,
                             statuses=list(LinkStatus), slots={"users_table": table})


@bp.get("/export.csv")
@requires(MANAGE)
def export_csv():
    chunks = export.csv_chunks(request.args.get("q", ""), request.args.get("status", ""))
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={export.filename()}"})


@bp.route("/new", methods=["GET", "POST"])
@requires(MANAGE)
def new():
    form = EcommerceUserForm()
    chosen = _chosen(form) if form.is_submitted() else []
    if not form.validate_on_submit():
        return htmx.render("users/new.html", "users/_new_form.html", 422 if form.is_submitted() else 200,
                           form=form, chosen=chosen)
    try:
        buyers.add_ecommerce_user(current_company().id, name=form.name.data, email=form.email.data,
                                  username=form.username.data, customers=chosen,
                                  confirmed=form.confirm_existing.data == "1")
    except buyers.NeedsConfirmation:
        return htmx.render("users/new.html", "users/_new_form.html", form=form, chosen=chosen, confirm=True)
    except buyers.Refused as refused:
        getattr(form, refused.field).errors.append(refused.message)
        return htmx.render("users/new.html", "users/_new_form.html", 422, form=form, chosen=chosen)
    flash(f"{form.name.data.strip()} was added as Pending; we emailed {form.email.data.strip()} "
          "a link to activate it.", "success")
    return htmx.redirect(url_for("users.index"))


@bp.get("/<int:account_id>")
@requires(MANAGE)
def row(account_id):
    return _row(get_or_404(EcommerceUser, account_id))


@bp.get("/<int:account_id>/edit")
@requires(MANAGE)
def edit(account_id):
    account = get_or_404(EcommerceUser, account_id)
    customers = buyers.account_customers(account)
    form, chosen = _edit_form(account, customers)
    return htmx.render("users/edit.html", "users/_edit_row.html", row=directory.user_row(account, customers),
                       form=form, chosen=chosen)


@bp.post("/<int:account_id>")
@requires(MANAGE)
def update(account_id):
    account = get_or_404(EcommerceUser, account_id)
    form, chosen = _edit_form(account, None)
    if form.validate_on_submit():
        try:
            buyers.update(account, name=form.name.data, username=form.username.data, customers=chosen)
            return _row(account) if htmx.is_htmx() else htmx.redirect(url_for("users.index"))
        except buyers.Refused as refused:
            getattr(form, refused.field).errors.append(refused.message)
    return htmx.render("users/edit.html", "users/_edit_row.html", 422, row=directory.user_row(account), form=form,
                       chosen=chosen)


def _act(account_id, action, done):
    account = get_or_404(EcommerceUser, account_id)
    if EmptyForm().validate_on_submit() and action(account):
        if not htmx.is_htmx():
            flash(done.format(name=account.name), "success")
        elif done:
            return htmx.trigger(make_response(_row(account)), "komet:notice", done.format(name=account.name))
    return _row(account) if htmx.is_htmx() else htmx.redirect(url_for("users.index"))


@bp.post("/<int:account_id>/disable")
@requires(MANAGE)
def disable(account_id):
    return _act(account_id, buyers.disable, "{name} can no longer buy from your shop.")


@bp.post("/<int:account_id>/enable")
@requires(MANAGE)
def enable(account_id):
    return _act(account_id, buyers.enable, "{name} can buy from your shop again.")


@bp.post("/<int:account_id>/resend")
@requires(MANAGE)
def resend(account_id):
    return _act(account_id, buyers.resend_activation, "A new activation email is on its way to {name}.")


@bp.get("/<int:account_id>/audit")
@requires(MANAGE)
def user_audit(account_id):
    account = get_or_404(EcommerceUser, account_id)
    page = audit.company_page(request.args.get("page", 1, type=int), ecommerce_user_id=account.id)
    return htmx.render("users/audit.html", "users/_audit_table.html", page=page, account=account, audit_label=audit.label)


@bp.get("/audit")
@requires(MANAGE)
def company_audit():
    page = audit.company_page(request.args.get("page", 1, type=int))
    return htmx.render("users/audit.html", "users/_audit_table.html", page=page, account=None, audit_label=audit.label)
