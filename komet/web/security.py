"""Login handling, the one decorator that checks the permission map, and the security
headers of every response."""
import secrets
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, request, session, url_for
from flask_login import current_user
from flask_limiter.util import get_remote_address

from komet import tenancy
from komet.extensions import limiter, login_manager
from komet.models import normalize_email
from komet.permissions import Permission, can
from komet.tenancy import current_workspace
from komet.web import htmx
from komet.web.assets import static_url
from komet.web.session_cookie import SessionCookies


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    app.jinja_env.globals.update(csp_nonce=csp_nonce, cdn_fallbacks=cdn_fallbacks, editor_files=editor_files)
    app.session_interface = SessionCookies()  # anonymous forms get a CSRF cookie, not a session
    app.before_request(_refuse_nul_bytes)
    app.after_request(_security_headers)
    app.extensions["komet.csp"] = _policy(app.config)
    app.extensions["komet.security_headers"] = _HeaderSet(app.extensions["komet.csp"], app.config)


def _refuse_nul_bytes():
    """A NUL byte in the path, a query or a form value is a 400 for every route at once: no
    person types one, and PostgreSQL can neither store nor compare text that holds one."""
    values = [request.path, *request.args.keys(), *request.args.values()]
    if request.method != "GET":
        values += [*request.form.keys(), *request.form.values()]
    if any("\x00" in value for value in values):
        abort(400, description="Something you sent contains a character that isn't allowed (a NUL byte). "
                               "Remove it and try again.")


def _policy(config):
    """The Content-Security-Policy: the app's own files and exactly the pinned CDN files."""
    cdn_scripts = " ".join(config[name] for name in ("HTMX_URL", "TRIX_JS_URL"))
    return {
        "default-src": "'self'",
        "script-src": f"'self' {cdn_scripts}",
        "style-src": f"'self' {config['TRIX_CSS_URL']}",
        "img-src": "'self' data: blob:",  # Trix previews an image it is uploading
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def csp_nonce():
    """This response's nonce for the one inline style it allows: the <style> Trix adds for its
    editor element, which reads the nonce from <meta name="csp-nonce">."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def cdn_fallbacks():
    """{CDN URL: [the app's copy of the file, the global it defines]} for static/js/fallback.js."""
    return {url: [static_url(path), name]
            for url, (path, name) in current_app.config["CDN_FALLBACKS"].items()}


def editor_files():
    """[[CDN URL, integrity, the app's copy]] of Trix's stylesheet and script, in the order
    static/js/app.js loads them when a page or a swapped fragment shows an editor."""
    config = current_app.config
    return [[config[url], config[sri], static_url(config["CDN_FALLBACKS"][config[url]][0])]
            for url, sri in (("TRIX_CSS_URL", "TRIX_CSS_SRI"), ("TRIX_JS_URL", "TRIX_JS_SRI"))]


class _HeaderSet:
    """Every response's security headers, built once: a response adds its nonce, if any, to a
    policy that is otherwise a constant string (the hook runs on every request)."""

    def __init__(self, policy, config):
        def joined(style_src):
            return "; ".join(f"{k} {style_src if k == 'style-src' else v}" for k, v in policy.items())

        self.plain = joined(policy["style-src"])
        # Development only: the email's own inline styles, shown in a sandboxed srcdoc iframe
        # (which inherits this policy; a nonce would make browsers ignore 'unsafe-inline').
        self.devmail = joined(policy["style-src"] + " 'unsafe-inline'")
        self.before_nonce, _, self.after_nonce = joined(policy["style-src"] + " 'nonce-\0'").partition("\0")
        self.fixed = [("X-Content-Type-Options", "nosniff"),
                      ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers without CSP 2
                      # Reset and activation links carry tokens in their path: never tell another site.
                      ("Referrer-Policy", "same-origin")]
        if config["HSTS_SECONDS"]:
            self.fixed.append(("Strict-Transport-Security", f"max-age={config['HSTS_SECONDS']}"))

    def policy(self, blueprint, nonce):
        if blueprint == "devmail":
            return self.devmail
        return self.plain if nonce is None else f"{self.before_nonce}{nonce}{self.after_nonce}"


def _security_headers(response):
    header_set = current_app.extensions["komet.security_headers"]
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}  # a view that set its own keeps it
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", header_set.policy(request.blueprint, g.get("csp_nonce")))
    for name, value in header_set.fixed:
        if name.lower() not in present:
            headers.add(name, value)
    if request.endpoint != "static" and session.get("_user_id"):
        # A logged-in page must not be kept by a shared cache or shown by Back after logout.
        headers["Cache-Control"] = "no-store"
    return response


def _load_user(session_id):
    # The id names the login session (komet/accounts/sessions.py): once it is logged out, its
    # cookies (and any copy of them) load nobody.
    user_id, _, session_key = session_id.partition(":")
    if not user_id.isdigit() or not session_key:
        return None
    user, workspace = tenancy.load_session(int(user_id), session_key, session.get(tenancy.SESSION_KEY))
    if user is None or not user.is_active:
        return None
    tenancy.keep_alive(user, timedelta(seconds=current_app.config["LOGIN_SESSION_TOUCH_SECONDS"]))
    g.workspace = workspace
    return user


def _unauthorized():
    flash(login_manager.login_message, "info")
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    # An htmx request must not get a login page swapped into a table cell.
    return htmx.redirect(target)


def _workspace_or_redirect():
    if not current_user.is_authenticated:
        return None, _unauthorized()
    workspace = current_workspace()
    if workspace is None:
        return None, htmx.redirect(url_for("auth.choose"))
    return workspace, None


def _guarded(view, check):
    """`view` behind a login, a chosen workspace, and `check(workspace)` (which aborts)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        workspace, response = _workspace_or_redirect()
        if response is not None:
            return response
        check(workspace)
        return view(*args, **kwargs)

    return wrapped


def requires(permission=Permission.VIEW_SETUP):
    """Staff only, and only with `permission` in their role; 403 otherwise."""

    def check(workspace):
        if not can(workspace.role, permission):
            abort(403, description=permission)

    def decorator(view):
        wrapped = _guarded(view, check)
        wrapped.permission = permission
        return wrapped

    return decorator


def buyer_required(view):
    """Buyers in a customer workspace only; 403 for staff."""

    def check(workspace):
        if workspace.is_staff:
            abort(403, description="the shop is for buyers")

    return _guarded(view, check)


def safe_next(target):
    r"""`target` if a browser would read it as a path on this site, else None.

    Browsers drop tabs and newlines anywhere in a URL, strip control characters at its ends
    and read a backslash as a slash, so "/\t/evil.example" and "/\\evil.example" lead off the
    site. Rather than imitate that normalisation, anything it would touch is refused.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _login_email_key():
    return "login:" + normalize_email(request.form.get("email"))


def _login_email_address_key():
    return f"{_login_email_key()}:{get_remote_address()}"


# Only a wrong password (422) counts, so trying someone's email with no password costs nothing.
# Per email and address: a guess at one person from one place stops there, and only there.
# Per email from every address: one counter for every door that logs people in (/login and each
# seller's invite page), its threshold far above what one address may try, so no single
# address can lock a person out, while a guess spread over many addresses still stops.
_failed_logins_per_email_and_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_EMAIL_ADDRESS_RATE_LIMIT"], scope="login-email-address", methods=["POST"],
    key_func=_login_email_address_key, deduct_when=lambda response: response.status_code == 422)
_failed_logins_per_email_anywhere = limiter.shared_limit(
    lambda: current_app.config["LOGIN_EMAIL_RATE_LIMIT"], scope="login-email", methods=["POST"],
    key_func=_login_email_key, deduct_when=lambda response: response.status_code == 422)


def failed_logins_per_email(view):
    """The two failed-login limits of a login form (see above)."""
    return _failed_logins_per_email_anywhere(_failed_logins_per_email_and_address(view))
