"""Static files under content-hashed names (`/static/js/app.3f9a1c2b.js`), cached for a year.

A changed file gets a new name, so browsers may keep a named one forever and never ask again;
the plain name (`/static/js/app.js`) still works, with a short cache, for anything outside the
templates that links to it. Hand-written: Flask-Static-Digest needs a build step that writes
hashed copies into static/ before every deploy, and this is ~50 lines computed at start.
"""
import hashlib
import os

from flask import current_app, send_from_directory, url_for

IMMUTABLE_SECONDS = 365 * 24 * 60 * 60
PLAIN_NAME_SECONDS = 5 * 60  # long enough for a page's own requests, short enough for a deploy


def init_app(app):
    app.extensions["komet.assets"] = _Manifest(app.static_folder, recheck=app.debug)
    app.jinja_env.globals["static_url"] = static_url
    app.view_functions["static"] = _send_static


def static_url(filename):
    """The URL of static/`filename` under its content-hashed name, e.g. static_url("js/app.js")."""
    return url_for("static", filename=current_app.extensions["komet.assets"].hashed(filename))


def _send_static(filename):
    manifest = current_app.extensions["komet.assets"]
    original = manifest.original(filename)
    response = send_from_directory(current_app.static_folder, original or filename,
                                   max_age=IMMUTABLE_SECONDS if original else PLAIN_NAME_SECONDS)
    if original:
        response.cache_control.immutable = True  # not even revalidated on reload
    return response


class _Manifest:
    """Each static file's hashed name, read once at start (again on change in debug mode)."""

    def __init__(self, folder, recheck=False):
        self.folder, self.recheck = folder, recheck
        self.by_path, self.by_hashed, self.mtimes = {}, {}, {}
        for root, _dirs, files in os.walk(folder):
            for name in files:
                self._add(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"))

    def _add(self, path):
        full = os.path.join(self.folder, path)
        with open(full, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()[:10]
        stem, dot, extension = path.rpartition(".")
        hashed = f"{stem}.{digest}.{extension}" if dot and "/" not in extension else f"{path}.{digest}"
        self.by_hashed.pop(self.by_path.get(path), None)
        self.by_path[path], self.by_hashed[hashed] = hashed, path
        self.mtimes[path] = os.stat(full).st_mtime_ns

    def hashed(self, path):
        if self.recheck and os.path.isfile(full := os.path.join(self.folder, path)) \
                and os.stat(full).st_mtime_ns != self.mtimes.get(path):
            self._add(path)
        if path not in self.by_path:
            raise LookupError(f"no static file {path!r}")
        return self.by_path[path]

    def original(self, hashed):
        """The file a hashed name stands for, or None for any other name."""
        return self.by_hashed.get(hashed)
