"""Komet: the app factory."""
import logging
from inspect import CO_COROUTINE

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, ProductionConfig, config_from_env, engine_options


class _Komet(Flask):
    def ensure_sync(self, func):
        # Flask asks this of every hook and of the view, about sixteen times a request, and
        # inspect.iscoroutinefunction is most of a microsecond each. A plain function or method
        # whose code is not a coroutine's is returned as Flask would return it; anything else
        # (a partial, a marked or async function) takes Flask's own path.
        code = getattr(func, "__code__", None)
        if code is not None and not code.co_flags & CO_COROUTINE and not hasattr(func, "_is_coroutine_marker"):
            return func
        return super().ensure_sync(func)


def create_app(config=None, **overrides):
    """Build the web app; `config` is a config class, `overrides` win over it."""
    config = config or config_from_env()
    if config is ProductionConfig and not overrides.get("SECRET_KEY"):
        ProductionConfig.check()
    app = _Komet(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(config)
    app.config.update(overrides)
    if issubclass(config, ProductionConfig) and app.config["DEVMAIL_ENABLED"]:
        # The dev mailbox has no login and shows every email (reset links included).
        raise RuntimeError("DEVMAIL_ENABLED can never be on in production")
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from komet.web.urls import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from komet.accounts.imports import IMPORT_QUEUE
    from komet.broker import setup_broker
    from komet.mail.outbox import EMAIL_QUEUE

    # Before anything enqueues, and before the worker declares its actors (they bind to it).
    setup_broker(app.config["BROKER_URL"], app.config["BROKER_NAMESPACE"], queues=(EMAIL_QUEUE, IMPORT_QUEUE))

    _init_extensions(app)

    from komet.ops import logs

    logs.install_middleware()  # carries the request id into the messages a request enqueues
    if app.config["LOG_FORMAT"] == "json":
        logs.use_json()

    from komet import cli
    from komet.mail import commands as mail_commands, outbox
    from komet.ops import commands as ops_commands, metrics
    from komet.web import assets, htmx, security, templating

    metrics.init_app(app)
    logs.init_app(app)
    security.init_app(app)
    htmx.init_app(app)
    templating.init_app(app)
    assets.init_app(app)
    outbox.init_app(app)
    cli.init_app(app)
    mail_commands.init_app(app)
    ops_commands.init_app(app)
    _register_blueprints(app)
    _limit_only_where_limited(app)
    return app


def _init_extensions(app):
    from komet import caching, connections
    from komet.extensions import compress, csrf, db, limiter, login_manager, mail, migrate

    if app.config["COMPRESS_RESPONSES"]:
        compress.init_app(app)  # first, so that its after-request hook runs last, on the final body
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    caching.init_app(app)
    app.teardown_appcontext(_end_clean_transaction)
    connections.init_app(app)  # read-only requests run without BEGIN/COMMIT; one retry on a dead connection
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)
            event.listen(db.engine, "savepoint", _sqlite_savepoint_in_a_transaction)


def _end_clean_transaction(exception):
    """End a request's transaction with COMMIT when it changed nothing, not ROLLBACK.

    The outcome is the same, but psycopg drops every prepared statement of the connection on
    ROLLBACK, and a pooled connection would otherwise re-parse and re-plan the session check
    and the shop's queries on every request. A session holding unsaved changes (a komet
    function gave up on them) is left to the usual rollback. Runs before Flask-SQLAlchemy
    removes the session (teardowns run in reverse order of registration).
    """
    from komet.connections import nothing_to_commit
    from komet.extensions import db

    if not db.session.registry.has():
        return  # the request never opened a session (its session check borrowed a connection)
    session = db.session()
    if exception is None and nothing_to_commit():
        return  # a read-only request in autocommit: no transaction is open, the session's close will do
    if exception is None and session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.expire_on_commit = False  # the session ends here: objects keep what they loaded
        try:
            session.commit()
        except Exception:  # the connection broke: nothing was pending, the rollback will do
            session.rollback()


def _limit_only_where_limited(app):
    """Run Flask-Limiter's request hooks only on the blueprints whose views carry a limit.

    `init_app` hooks every request (a check before, headers and deductions after, a clean-up),
    and Flask-Limiter 4 has no switch to turn that off; but only log in, Forgot password,
    activation and the public invite routes are limited, and nothing sets an app-wide or
    default limit. The limits themselves are checked by their decorators inside the views;
    the hooks, moved onto those views' blueprints, still add the X-RateLimit headers and
    count a failed login. Every other request never reaches the limiter.
    """
    from functools import partial

    from flask import request
    from flask_limiter.util import get_qualified_name

    from komet.extensions import limiter

    if limiter.limit_manager.application_limits or limiter.limit_manager.default_limits:
        return  # limits that apply to every request need the hooks on every request
    limited_blueprints = set(limiter.limit_manager._blueprint_limits)
    # Within those blueprints, the hooks run only for the views that carry a limit: the log-in
    # and invite pages' GETs (forms that post to limited views) are not counted either way.
    endpoints = {endpoint for endpoint, view in app.view_functions.items()
                 if get_qualified_name(view) in limiter._marked_for_limiting
                 or endpoint.rpartition(".")[0] in limited_blueprints}
    limited = {endpoint.rpartition(".")[0] for endpoint in endpoints}

    def belongs_to_limiter(hook):
        return getattr(hook, "__self__", None) is limiter or (isinstance(hook, partial) and hook.args[:1] == (limiter,))

    def on_limited_views(hook):
        def run(*args):  # (), (response,) or (exception,): an after-request hook returns the response
            return hook(*args) if request.endpoint in endpoints else (args[0] if args else None)
        return run

    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        moved = [hook for hook in hooks.get(None, []) if belongs_to_limiter(hook)]
        hooks[None] = [hook for hook in hooks.get(None, []) if hook not in moved]
        for blueprint in limited:
            hooks.setdefault(blueprint, []).extend(on_limited_views(hook) for hook in moved)


def _sqlite_pragmas(dbapi_connection, _record):
    # web, worker and scheduler share the file: WAL lets readers run during a write,
    # busy_timeout makes a writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # The driver opens a transaction just before the first write, so that write asks for the
    # write lock and waits its turn. BEGIN IMMEDIATE takes that lock at once, never a read
    # lock to upgrade later: an upgrade after another writer committed fails at once, busy
    # timeout or not ("database is locked").
    dbapi_connection.isolation_level = "IMMEDIATE"


def _sqlite_savepoint_in_a_transaction(conn, _name):
    # A SAVEPOINT outside a transaction would open a deferred one of its own (reads first, then
    # an upgrade that fails as above), and releasing it would COMMIT: rows meant to be undone
    # with the enclosing transaction were kept. Open the real, immediate transaction first.
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")


def _register_blueprints(app):
    from blueprints.auth import bp as auth_bp
    from blueprints.invites import bp as invites_bp, public_bp as invite_page_bp
    from blueprints.messages import bp as messages_bp
    from blueprints.operator import bp as operator_bp
    from blueprints.setup import bp as setup_bp
    from blueprints.shop import bp as shop_bp
    from blueprints.users import bp as users_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(shop_bp, url_prefix="/shop")
    app.register_blueprint(setup_bp, url_prefix="/setup")
    app.register_blueprint(users_bp, url_prefix="/setup/users")
    app.register_blueprint(invites_bp, url_prefix="/setup/users/invite")
    app.register_blueprint(invite_page_bp, url_prefix="/i")
    app.register_blueprint(messages_bp, url_prefix="/setup/settings/promotions-and-messages")
    app.register_blueprint(operator_bp, url_prefix="/operator")
    if app.config["DEVMAIL_ENABLED"]:
        from blueprints.devmail import bp as devmail_bp

        app.register_blueprint(devmail_bp, url_prefix="/dev/mail")
    _register_health(app)


def _register_health(app):
    from blueprints.health import bp as health_bp
    from komet.extensions import csrf, limiter

    # Probes poll every few seconds from one address: a rate limit would take the app out of
    # rotation, and they post nothing.
    limiter.exempt(health_bp)
    csrf.exempt(health_bp)
    app.register_blueprint(health_bp)
