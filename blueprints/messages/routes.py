from flask import Response, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.messages import bp
from blueprints.messages.forms import message_form
from komet import htmx, images, message_admin
from komet.messages import Shown, overlapping_window
from komet.models import Message, MessageImage
from komet.permissions import Permission
from komet.security import requires
from komet.tenancy import current_company, get_or_404

MANAGE = Permission.MANAGE_MESSAGES


def _form(message=None):
    # A prefix per message: several rows can be in edit mode without sharing element ids.
    prefix = f"m{message.id}" if message else ""
    return message_form(message if request.method == "GET" else None, message_admin.customer_choices(), prefix)


def _overlap_notice(message):
    other = overlapping_window(message)
    if other is None:
        return None
    return (f"“{other.title}” is also a Window during this period and starts first: it shows as the window, "
            f"and “{message.title}” shows as a pop-up while both run.")


def _row(message, notice=None):
    response = make_response(render_template("messages/_message_row.html", message=message))
    if notice:
        htmx.trigger(response, "komet:notice", notice)
    return response


@bp.get("/")
@requires(MANAGE)
def history():
    q = request.args.get("q", "")
    page = message_admin.history_page(q, request.args.get("page", 1, type=int))
    return htmx.render("messages/history.html", "messages/_history_table.html", page=page, q=q)


@bp.route("/new", methods=["GET", "POST"])
@requires(MANAGE)
def new():
    form = _form()
    if not form.validate_on_submit():
        return render_template("messages/new.html", form=form), 422 if form.is_submitted() else 200
    message = message_admin.save_message(Message(), form, current_user.id)
    flash(f"Message “{message.title}” saved.", "success")
    if notice := _overlap_notice(message):
        flash(notice, "warning")
    return redirect(url_for("messages.history"), code=303)


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
    message_admin.save_message(message, form, current_user.id)
    if htmx.is_htmx():
        return _row(message, _overlap_notice(message))
    flash(f"Message “{message.title}” saved.", "success")
    return redirect(url_for("messages.history"), code=303)


@bp.post("/<int:message_id>/delete")
@requires(MANAGE)
def delete(message_id):
    message = get_or_404(Message, message_id)
    message_admin.delete_message(message)
    if htmx.is_htmx():
        return ""  # hx-swap="outerHTML" on the row removes it
    flash(f"Message “{message.title}” deleted.", "success")
    return redirect(url_for("messages.history"), code=303)


@bp.post("/<int:message_id>/copy")
@requires(MANAGE)
def copy(message_id):
    copied = message_admin.copy_message(get_or_404(Message, message_id), current_user.id)
    flash("A copy was made as a draft. Change what you need and save.", "success")
    return htmx.redirect(url_for("messages.edit", message_id=copied.id))


@bp.post("/<int:message_id>/publish")
@requires(MANAGE)
def publish(message_id):
    message = get_or_404(Message, message_id)
    message_admin.publish(message)
    return _row(message, _overlap_notice(message)) if htmx.is_htmx() else redirect(url_for("messages.history"), 303)


@bp.get("/<int:message_id>/readers")
@requires(MANAGE)
def readers(message_id):
    message = get_or_404(Message, message_id)
    return render_template("messages/readers.html", message=message, readers=message_admin.readers(message))


@bp.get("/<int:message_id>/readers.csv")
@requires(MANAGE)
def readers_csv(message_id):
    message = get_or_404(Message, message_id)
    body = message_admin.readers_csv(message, current_company().timezone)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="message-{message.id}-readers.csv"'})


@bp.get("/<int:message_id>/preview")
@requires(MANAGE)
def preview(message_id):
    message = get_or_404(Message, message_id)
    shown = Shown(message, as_window=message.type.value == "window", read=False)
    return render_template("messages/preview.html", message=message, item=shown, preview=True)


@bp.post("/images")
@requires(MANAGE)
def upload_image():
    try:
        image = images.store_upload(request.files.get("image"), current_company().id)
    except images.ImageRefused as refused:
        return {"error": str(refused)}, 422
    return {"url": url_for("messages.image", image_id=image.id)}, 201


@bp.get("/images/<int:image_id>")
@login_required
def image(image_id):
    """Staff and buyers of the company that owns the image (a buyer sees it inside a message)."""
    return images.response_for(get_or_404(MessageImage, image_id))
