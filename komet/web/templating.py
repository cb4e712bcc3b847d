"""Template helpers and error pages."""
from flask import g, has_request_context, redirect, render_template, request
from flask_login import current_user

from komet import timezones
from komet.clock import utcnow
from komet.permissions import Permission, can
from komet.tenancy import current_workspace
from komet.web import htmx
from komet.web.assets import static_url
from komet.web.urls import url_for_id

ERROR_TITLES = {
    400: "That request could not be read",
    403: "You don't have permission to do that",
    404: "Page not found",
    405: "That action isn't allowed here",
    413: "That upload is too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}


def init_app(app):
    app.jinja_env.filters["localtime"] = _localtime
    app.jinja_env.filters["plural"] = plural
    app.jinja_env.globals.update(Permission=Permission, zone_label=_zone_label, url_for_id=url_for_id)
    app.context_processor(_context)
    # Browsers and tools ask for /favicon.ico whatever the page's <link rel="icon"> says.
    app.add_url_rule("/favicon.ico", "favicon", lambda: redirect(static_url("favicon.svg"), 301))
    for code in ERROR_TITLES:
        app.register_error_handler(code, _error_page)
    from flask_wtf.csrf import CSRFError

    app.register_error_handler(CSRFError, _csrf_error)


def _workspace():
    # Workers render emails with no request (and so no logged-in user).
    if has_request_context() and current_user.is_authenticated:
        return current_workspace()
    return None


def _context():
    workspace = _workspace()
    return {
        "workspace": workspace,
        "company": workspace.company if workspace else None,
        "allowed": lambda permission: workspace is not None and can(workspace.role, permission),
    }


def _company_timezone():
    # Once per request: a history page formats two times per row.
    if not has_request_context():
        return None
    if "_company_timezone" not in g:
        workspace = _workspace()
        g._company_timezone = workspace.company.timezone if workspace else None
    return g._company_timezone


def _zone_label():
    """The company's zone as staff read it, e.g. "EST, America/New_York"."""
    tz_name = _company_timezone()
    return f"{timezones.zone_abbreviation(tz_name, utcnow())}, {timezones.zone(tz_name).key}"


def _localtime(moment, tz_name=None, with_zone=True):
    """A UTC moment in the current company's zone, e.g. "Nov 23, 2026 9:05 AM EST"."""
    return timezones.format_local(moment, tz_name or _company_timezone(), with_zone)


def plural(count, one, many=None):
    """"1 new login created", "3 new logins created": the count and the words that go with it
    (`many` defaults to `one` + "s")."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _error_page(error):
    code = getattr(error, "code", 500) or 500
    detail = getattr(error, "description", None) if code in (400, 403) else None
    template = "errors/_error.html" if htmx.is_htmx() else "errors/error.html"
    return render_template(template, code=code, title=ERROR_TITLES.get(code, "Error"), detail=detail,
                           path=request.path), code


def _csrf_error(error):
    template = "errors/_error.html" if htmx.is_htmx() else "errors/error.html"
    return render_template(template, code=400, title="This form has expired",
                           detail="Reload the page and try again.", path=request.path), 400
