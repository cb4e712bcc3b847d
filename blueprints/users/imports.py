from flask import Response, render_template, url_for
from flask_login import current_user

from blueprints.users import bp
from blueprints.users.forms import ImportForm
from komet.accounts import imports
from komet.models import UserImport
from komet.permissions import Permission
from komet.tenancy import current_company, get_or_404
from komet.web import htmx
from komet.web.forms import EmptyForm
from komet.web.security import requires

MANAGE = Permission.MANAGE_ECOMMERCE_USERS


@bp.get("/import")
@requires(MANAGE)
def import_start():
    return render_template("users/import.html", form=ImportForm())


@bp.get("/import/template.csv")
@requires(MANAGE)
def import_template():
    return Response(imports.TEMPLATE, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=ecommerce-users-template.csv"})


@bp.post("/import")
@requires(MANAGE)
def import_upload():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not getattr(upload, "filename", ""):
            form.file.errors.append("Choose a CSV file to upload.")
        else:
            try:
                record = imports.check(current_company().id, current_user.id, upload.filename, upload.read())
                return htmx.redirect(url_for("users.import_detail", import_id=record.id))
            except imports.BadFile as bad:
                form.file.errors.append(str(bad))
    return render_template("users/import.html", form=form), 422


@bp.get("/import/<int:import_id>")
@requires(MANAGE)
def import_detail(import_id):
    record = get_or_404(UserImport, import_id)
    return render_template("users/import_detail.html", record=record, counts=imports.counts(record),
                           verdicts=imports.VERDICTS, form=EmptyForm())


@bp.post("/import/<int:import_id>/start")
@requires(MANAGE)
def import_run(import_id):
    record = get_or_404(UserImport, import_id)
    if EmptyForm().validate_on_submit():
        imports.start(record)
    if htmx.is_htmx():
        return render_template("users/_import_progress.html", record=record, counts=imports.counts(record),
                               verdicts=imports.VERDICTS)
    return htmx.redirect(url_for("users.import_detail", import_id=record.id))


@bp.get("/import/<int:import_id>/progress")
@requires(MANAGE)
def import_progress(import_id):
    record = get_or_404(UserImport, import_id)
    return render_template("users/_import_progress.html", record=record, counts=imports.counts(record),
                           verdicts=imports.VERDICTS)
