from flask import redirect, render_template, request, url_for

from blueprints.setup import bp
from komet import directory, htmx, outbox
from komet.extensions import db
from komet.forms import EmptyForm
from komet.models import Email, EmailStatus
from komet.permissions import Permission
from komet.security import requires
from komet.tenancy import get_or_404


@bp.get("/")
@requires(Permission.VIEW_SETUP)
def index():
    return redirect(url_for("setup.settings"))


@bp.get("/settings")
@requires(Permission.VIEW_SETUP)
def settings():
    return render_template("setup/settings.html")


@bp.get("/users")
@requires(Permission.MANAGE_ECOMMERCE_USERS)
def users():
    page = directory.ecommerce_users_page(request.args.get("page", 1, type=int))
    return htmx.render("setup/users.html", "setup/_users_table.html", page=page)


@bp.get("/emails")
@requires(Permission.VIEW_EMAILS)
def emails():
    page = directory.emails_page(request.args.get("page", 1, type=int))
    return htmx.render("setup/emails.html", "setup/_emails_table.html", page=page, form=EmptyForm())


@bp.get("/emails/<int:email_id>")
@requires(Permission.VIEW_EMAILS)
def email_detail(email_id):
    email = get_or_404(Email, email_id)
    return render_template("setup/email_detail.html", email=email, form=EmptyForm())


@bp.post("/emails/<int:email_id>/retry")
@requires(Permission.VIEW_EMAILS)
def retry_email(email_id):
    email = get_or_404(Email, email_id)
    if email.status == EmailStatus.FAILED and EmptyForm().validate_on_submit():
        outbox.retry(email)
        db.session.commit()
    if htmx.is_htmx():
        return render_template("setup/_email_row.html", email=email, form=EmptyForm())
    return redirect(url_for("setup.email_detail", email_id=email.id), code=303)
