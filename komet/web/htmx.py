"""htmx conventions: fragments for htmx requests, full pages otherwise."""
import json

from flask import make_response, redirect as flask_redirect, render_template, request


def init_app(app):
    app.after_request(_vary)


def _vary(response):
    # Caches must not serve a fragment for a full page or the other way round.
    response.vary.add("HX-Request")
    return response


def is_htmx():
    """A real htmx swap. A boosted link or form wants the full page, and so does Back: htmx
    restores history from the server with HX-History-Restore-Request (htmx 2.0 also sends
    HX-Request then, unless historyRestoreAsHxRequest is off as in base.html)."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")


def render(page_template, partial_template, /, status=200, **context):
    """The partial alone for an htmx request, the whole page (which includes it) otherwise."""
    return render_template(partial_template if is_htmx() else page_template, **context), status


def redirect(location):
    """A full navigation: HX-Redirect for htmx, 303 See Other for everything else."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return response
    return flask_redirect(location, code=303)


def trigger(response, event, detail):
    """Tell the page about something with an HX-Trigger event (other regions listen for it)."""
    response.headers["HX-Trigger"] = json.dumps({event: detail})
    return response
