import hashlib

from flask import (Response, flash, make_response, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_login import current_user

from blueprints.messages import HistoryRows, bp
from blueprints.messages.forms import message_form
from komet import caching
from komet.clock import utcnow
from komet.messages import admin, content, readers as reads
from komet.models import Message
from komet.permissions import Permission
from komet.tenancy import current_company, get_or_404
from komet.web import htmx, shell
from komet.web.security import requires

MANAGE = Permission.MANAGE_MESSAGES


def _form(message=None):
    # A prefix per message: several rows can be in edit mode without sharing element ids.
    prefix = f"m{message.id}" if message else ""
    return message_form(message if request.method == "GET" else None, prefix)


def _row(message, notice=None):
    response = make_response(render_template("messages/_message_row.html", message=message,
                                             audience_size=reads.audience_of(message)))
    if notice:
        htmx.trigger(response, "komet:notice", notice)
    return response


def _to_history(text=None, category="success"):
    if text:
        flash(text, category)
    return redirect(url_for("messages.history"), code=303)


def _history_table(q, page_number):
    """Message History's table, cached under the company's history version (komet.caching)
    until a row's status next changes; only this session's form token is added each time."""
    company = current_company()
    search = hashlib.sha256(q.encode()).hexdigest()[:16]
    key = f"history:{caching.company_key(company)}:{company.history_version}:{company.timezone}:{page_number}:{search}"
    table = caching.get(key)
    if table is None:
        now = utcnow()
        page = admin.history_page(q, page_number)
        kit = HistoryRows(now, csrf_token=HistoryRows.CSRF_PLACEHOLDER)
        html = render_template("messages/_history_table.html", page=page, q=q, kit=kit)
        table = caching.put(key, admin.history_until(page.items, now), html=html)
    return HistoryRows.with_csrf(table["html"])


@bp.get("/")
@requires(MANAGE)
def history():
    q = request.args.get("q", "")
    table = _history_table(q, request.args.get("page", 1, type=int))
    if htmx.is_htmx():
        return table
    return shell.render_page("messages/history.html", key=(q,), q=q, slots={"history_table": table})


@bp.route("/new", methods=["GET", "POST"])
@requires(MANAGE)
def new():
    form = _form()
    if not form.validate_on_submit():
        return render_template("messages/new.html", form=form), 422 if form.is_submitted() else 200
    message = admin.save_message(Message(), form, current_user.id)
    if notice := admin.overlap_notice(message):
        flash(notice, "warning")
    return _to_history(f"Message “{message.title}” saved.")


@bp.get("/<int:message_id>")
@requires(MANAGE)
def row(message_id):
    return _row(get_or_404(Message, message_id))


@bp.get("/<int:message_id>/edit")
@requires(MANAGE)
def edit(message_id):
    message = get_or_404(Message, message_id)
    return htmx.render("messages/edit.html", "messages/_edit_row.html", message=message, form=_form(message))


@bp.post("/<int:message_id>")
@requires(MANAGE)
def update(message_id):
    message = get_or_404(Message, message_id)
    form = _form(message)
    if not form.validate_on_submit():
        return htmx.render("messages/edit.html", "messages/_edit_row.html", status=422, message=message, form=form)
    admin.save_message(message, form, current_user.id)
    if htmx.is_htmx():
        return _row(message, admin.overlap_notice(message))
    return _to_history(f"Message “{message.title}” saved.")


@bp.post("/<int:message_id>/delete")
@requires(MANAGE)
def delete(message_id):
    message = get_or_404(Message, message_id)
    admin.delete_message(message)
    if htmx.is_htmx():
        return ""  # the row's hx-swap="outerHTML" removes it
    return _to_history(f"Message “{message.title}” deleted.")


@bp.post("/<int:message_id>/copy")
@requires(MANAGE)
def copy(message_id):
    copied = admin.copy_message(get_or_404(Message, message_id), current_user.id)
    flash("A copy was made as a draft. Change what you need and save.", "success")
    return htmx.redirect(url_for("messages.edit", message_id=copied.id))


@bp.post("/<int:message_id>/publish")
@requires(MANAGE)
def publish(message_id):
    message = get_or_404(Message, message_id)
    admin.publish(message)
    return _row(message, admin.overlap_notice(message)) if htmx.is_htmx() else _to_history()


@bp.get("/<int:message_id>/readers")
@requires(MANAGE)
def readers(message_id):
    message = get_or_404(Message, message_id)
    page = reads.readers_page(message, request.args.get("page", 1, type=int))
    if htmx.is_htmx():  # the pager swaps the table alone: no chart to draw
        return render_template("messages/_reads_table.html", message=message, page=page)
    audience = reads.audience_of(message)
    chart = reads.reads_chart(message, audience, utcnow(), current_company().timezone)
    return render_template("messages/readers.html", message=message, page=page, audience=audience, chart=chart)


@bp.get("/<int:message_id>/readers.csv")
@requires(MANAGE)
def readers_csv(message_id):
    message = get_or_404(Message, message_id)
    rows = reads.readers_csv(message, current_company().timezone)
    return Response(stream_with_context(rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="message-{message.id}-readers.csv"'})


@bp.get("/<int:message_id>/preview")
@requires(MANAGE)
def preview(message_id):
    message = get_or_404(Message, message_id)
    item, window = admin.preview(message)
    return render_template("messages/preview.html", message=message, item=item, window=window, preview=True)


@bp.post("/images")
@requires(MANAGE)
def upload_image():
    try:
        image = content.store_upload(request.files.get("image"), current_company().id)
    except content.ImageRefused as refused:
        return {"error": str(refused)}, 422
    return {"url": url_for("shop.message_image", image_id=image.id)}, 201
