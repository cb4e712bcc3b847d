from flask import flash, redirect, render_template, request, url_for

from blueprints.setup import bp
from blueprints.setup.forms import RequireTwoStepForm
from komet import customers
from komet.mail import outbox
from komet.models import Email
from komet.permissions import Permission
from komet.accounts import two_step
from komet.tenancy import current_company, get_or_404
from komet.web import htmx
from komet.web.forms import EmptyForm, database_id
from komet.web.security import requires


@bp.get("/")
@requires(Permission.VIEW_SETUP)
def index():
    return redirect(url_for("setup.settings"))


@bp.get("/settings")
@requires(Permission.VIEW_SETUP)
def settings():
    required, using, staff = two_step.company_policy(current_company().id)
    return render_template("setup/settings.html", two_step_form=RequireTwoStepForm(required=required),
                           two_step_required=required, two_step_usage=(using, staff))


@bp.post("/settings/two-step")
@requires(Permission.REQUIRE_TWO_STEP)
def require_two_step():
    form = RequireTwoStepForm()
    if form.validate_on_submit():
        two_step.set_required(current_company().id, form.required.data)
        flash("Two-step verification is now " + ("required for all staff." if form.required.data
                                                  else "up to each staff member."), "success")
    return redirect(url_for("setup.settings"), code=303)


@bp.get("/customers/search")
@requires(Permission.VIEW_SETUP)
def customer_search():
    """The customer picker's results (templates/_picker.html): a few matches, never the whole list.

    The picker sends its chosen boxes along under the field's name: those are not offered again."""
    name = request.args.get("name", "customers")
    found = customers.search(request.args.get("q", ""), _ids(request.args.getlist(name)))
    return render_template("_picker_results.html", customers=found, name=name, q=request.args.get("q", ""))


def _ids(values):
    try:
        return [database_id(v) for v in values]
    except ValueError:
        return []  # a hand-made query string: offer every match rather than fail


@bp.get("/emails")
@requires(Permission.VIEW_EMAILS)
def emails():
    page = outbox.emails_page(request.args.get("page", 1, type=int))
    return htmx.render("setup/emails.html", "setup/_emails_table.html", page=page)


@bp.get("/emails/<int:email_id>")
@requires(Permission.VIEW_EMAILS)
def email_detail(email_id):
    return render_template("setup/email_detail.html", email=get_or_404(Email, email_id))


@bp.post("/emails/<int:email_id>/retry")
@requires(Permission.VIEW_EMAILS)
def retry_email(email_id):
    email = get_or_404(Email, email_id)
    if EmptyForm().validate_on_submit():
        outbox.retry(email)
    if htmx.is_htmx():
        return render_template("setup/_email_row.html", email=email)
    return redirect(url_for("setup.email_detail", email_id=email.id), code=303)
