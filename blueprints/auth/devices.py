"""Profile > Your devices: log out another device, or every other one (the list is on Profile)."""
from flask import flash, url_for
from flask_login import current_user, login_required

from blueprints.auth import bp
from komet.accounts import devices
from komet.web import htmx
from komet.web.forms import EmptyForm
from komet.web.templating import plural


@bp.post("/account/devices/<device_id>/logout")
@login_required
def log_out_device(device_id):
    if EmptyForm().validate_on_submit():
        devices.log_out_device(current_user, device_id)
        flash("That device is logged out.", "success")
    return htmx.redirect(url_for("auth.profile_page"))


@bp.post("/account/devices/logout-others")
@login_required
def log_out_other_devices():
    if EmptyForm().validate_on_submit():
        ended = devices.log_out_others(current_user)
        flash(f"Logged out everywhere else ({plural(ended, 'device')}).", "success")
    return htmx.redirect(url_for("auth.profile_page"))
