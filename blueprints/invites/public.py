"""The seller's public invite page: log in straight into this shop, or Register Here."""
from flask import abort, current_app, g, render_template, request

from blueprints.auth import entry
from blueprints.invites import public_bp as bp
from blueprints.invites.forms import InviteLoginForm, RegisterForm
from komet import tenancy
from komet.accounts import passwords
from komet.extensions import limiter
from komet.invites import links, requests
from komet.web import shell
from komet.web.security import failed_logins_per_email

NO_LINK_HERE = ("You have a Komet login, but not for this seller's shop yet. "
                "Use Register Here to ask them for access.")


def _link_or_404(token):
    found = links.find(token)
    if found is None:
        abort(404)
    g.invite_link, g.invite_company = found
    return found


@bp.errorhandler(404)
def _unknown_link(error):
    return render_template("invites/not_found.html"), 404


@bp.errorhandler(429)
def _too_many(error):
    company = g.get("invite_company")
    return render_template("invites/too_many.html", seller=company), 429


def _address_limit():
    return current_app.config["INVITE_REQUEST_RATE_LIMIT"]


def _link_limit():
    return current_app.config["INVITE_LINK_RATE_LIMIT"]


def _link_key():
    # Per link, whoever sends: a burst spread over many addresses still stops.
    return "invite:" + (request.view_args or {}).get("token", "")


@bp.get("/<token>")
def show(token):
    link, seller = _link_or_404(token)
    # Every value the page shows is in the key: a renamed seller or a paused link is a new page at once.
    return shell.render_anonymous_page("invites/show.html", (token, seller.name, link.paused),
                                       lambda: {"link": link, "seller": seller, "token": token, "form": InviteLoginForm()})


@bp.post("/<token>/login")
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
@failed_logins_per_email
def login(token):
    link, company = _link_or_404(token)
    form = InviteLoginForm()
    if not form.validate_on_submit():
        return render_template("invites/show.html", link=link, seller=company, token=token, form=form), 422
    user = passwords.authenticate(form.email.data, form.password.data)
    if user is None:
        form.password.errors.append("Email or password is incorrect.")
        return render_template("invites/show.html", link=link, seller=company, token=token, form=form), 422
    here = [w for w in tenancy.workspaces_for(user) if not w.is_staff and w.company.id == company.id]
    if not here:  # never another seller's shop, and not logged in at all
        return render_template("invites/show.html", link=link, seller=company, token=token, form=form,
                               no_link=NO_LINK_HERE), 403
    return entry.after_password(user, focus=company.id)  # the code step first, if the login has one


@bp.route("/<token>/register", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
@limiter.limit(_link_limit, methods=["POST"], key_func=_link_key)
def register(token):
    link, company = _link_or_404(token)
    form = RegisterForm()
    context = {"link": link, "seller": company, "token": token, "form": form}
    if link.paused:
        return render_template("invites/register.html", **context), 200 if request.method == "GET" else 409
    if not form.validate_on_submit():
        return render_template("invites/register.html", **context), 422 if form.is_submitted() else 200
    if form.website.data:  # the honeypot: a bot gets the thank-you page and nothing is stored
        return render_template("invites/thanks.html", seller=company, duplicate=False, email=form.email.data)
    _, created = requests.submit(company.id, **{name: getattr(form, name).data for name in requests.FIELDS})
    return render_template("invites/thanks.html", seller=company, duplicate=not created, email=form.email.data)
