"""Setup > Users > Access requests: the queue's tabs, deciding many at once, notes, an email's retry."""
from flask import Response, abort, flash, make_response, render_template, request, stream_with_context, url_for
from flask_login import current_user

from blueprints.invites import bp
from blueprints.invites.forms import BulkDecisionForm, NotesForm
from komet.invites import bulk, queue, requests
from komet.invites import export as export_csv
from komet.mail import outbox
from komet.models import AccessRequest, RequestStatus
from komet.permissions import Permission
from komet.tenancy import current_company, get_or_404
from komet.web import htmx
from komet.web.forms import EmptyForm
from komet.web.security import requires

MANAGE = Permission.MANAGE_INVITES


def _tab():
    status = request.args.get("status", RequestStatus.PENDING.value)
    if status not in set(RequestStatus):
        abort(404)
    return RequestStatus(status)


def _queue(tab, page_number, bulk_form=None, status=200):
    page = queue.queue_page(tab, page_number)
    return htmx.render("invites/requests.html", "invites/_requests_list.html", status, page=page, tab=tab,
                       statuses=list(RequestStatus), notes_form=NotesForm, form=EmptyForm(),
                       bulk_form=bulk_form or BulkDecisionForm(formdata=None),
                       **queue.annotations(page.items, current_company().id))


@bp.get("/requests", endpoint="requests")
@requires(MANAGE)
def requests_index():
    return _queue(_tab(), request.args.get("page", 1, type=int))


@bp.get("/requests.csv")
@requires(MANAGE)
def export():
    tab, company = _tab(), current_company()
    chunks = export_csv.requests_csv(company.id, tab, company.timezone)
    return Response(stream_with_context(chunks), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{company.slug}-access-requests-{tab.value}.csv"'})


@bp.post("/requests/decide")
@requires(MANAGE)
def decide_selected():
    if request.form.get("action") == "select":  # Enter in a checkbox: decide nothing
        return _queue(RequestStatus.PENDING, request.form.get("page", 1, type=int), BulkDecisionForm())
    form = BulkDecisionForm()
    if not form.validate_on_submit():
        return _queue(RequestStatus.PENDING, request.form.get("page", 1, type=int), form, 422)
    chosen = bulk.selected(current_company().id, form.chosen_ids())
    if chosen is None:  # another company's request, or none at all
        abort(404)
    if form.action.data == "approve":
        results = bulk.approve_many(chosen, actor_id=current_user.id)
    else:
        results = bulk.reject_many(chosen, reason=form.reason.data, include_reason=form.include_reason.data,
                                   actor_id=current_user.id)
    return render_template("invites/decided.html", results=results, action=form.action.data)


@bp.post("/requests/<int:request_id>/notes")
@requires(MANAGE)
def notes(request_id):
    access = get_or_404(AccessRequest, request_id)
    form = NotesForm(prefix=f"r{access.id}")
    if not form.validate_on_submit():
        return render_template("invites/_notes.html", access=access, notes_form=form), 422
    requests.save_notes(access, form.internal_notes.data)
    if htmx.is_htmx():
        return htmx.trigger(make_response(render_template("invites/_notes.html", access=access, notes_form=form,
                                                          saved=True)), "komet:notice", "Notes saved.")
    flash("Notes saved.", "success")
    return htmx.redirect(url_for("invites.requests", status=access.status.value))


@bp.post("/requests/<int:request_id>/emails/<int:email_id>/retry")
@requires(MANAGE)
def retry_email(request_id, email_id):
    access = get_or_404(AccessRequest, request_id)
    email = queue.email_of(access, email_id)
    if email is None:
        abort(404)
    if EmptyForm().validate_on_submit() and outbox.retry(email):
        flash(f"The email to {email.to_address} is queued again.", "success")
    return htmx.redirect(url_for("invites.requests", status=access.status.value))
