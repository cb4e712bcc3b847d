from flask import abort, current_app, flash, redirect, render_template, url_for

from blueprints.operator import bp
from komet.mail import outbox
from komet.ops import heartbeats, status
from komet.web import htmx


@bp.get("/")
def index():
    figures = status.snapshot()
    stale = current_app.config["OPS_HEARTBEAT_STALE_SECONDS"]
    verdicts = status.verdicts(figures, stale, current_app.config["OPS_EMAIL_STALE_SECONDS"])
    return render_template("operator/index.html", figures=figures, verdicts=verdicts, stale=stale,
                           is_stuck=status.is_stuck, failed=outbox.failed_emails(limit=100))


@bp.post("/emails/<int:email_id>/retry")
def retry_email(email_id):
    if outbox.retry_by_id(email_id):
        flash(f"Email {email_id} is queued again.", "info")
    else:
        flash(f"Email {email_id} was not failed; it is left as it is.", "info")
    return redirect(url_for("operator.index"))


@bp.post("/processes/<int:heartbeat_id>/forget")
def forget_process(heartbeat_id):
    process = heartbeats.forget_by_id(heartbeat_id)
    if process is None:
        abort(404)
    flash(f"{process.name} is forgotten. If it was still running, it shows again at its next heartbeat.", "info")
    return htmx.redirect(url_for("operator.index"))
