"""Komet: the app factory."""
import logging

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, ProductionConfig, config_from_env, engine_options


def create_app(config=None, **overrides):
    """Build the web app; `config` is a config class, `overrides` win over it."""
    config = config or config_from_env()
    if config is ProductionConfig and not overrides.get("SECRET_KEY"):
        ProductionConfig.check()
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(config)
    app.config.update(overrides)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from workers.broker import setup_broker

    # The broker must exist before any actor module is imported (actors bind to it).
    setup_broker(app.config["BROKER_URL"], app.config["BROKER_NAMESPACE"])

    _init_extensions(app)

    from komet import cli, htmx, outbox, security, templating

    security.init_app(app)
    htmx.init_app(app)
    templating.init_app(app)
    outbox.init_app(app)
    cli.init_app(app)
    _register_blueprints(app)
    return app


def _init_extensions(app):
    from komet.extensions import csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record):
    # web, worker and scheduler share the file: WAL lets readers run during a write,
    # busy_timeout makes a writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _register_blueprints(app):
    from blueprints.auth import bp as auth_bp
    from blueprints.messages import bp as messages_bp
    from blueprints.setup import bp as setup_bp
    from blueprints.shop import bp as shop_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(shop_bp, url_prefix="/shop")
    app.register_blueprint(setup_bp, url_prefix="/setup")
    app.register_blueprint(messages_bp, url_prefix="/setup/settings/promotions-and-messages")
    if app.config["DEVMAIL_ENABLED"]:
        from blueprints.devmail import bp as devmail_bp

        app.register_blueprint(devmail_bp, url_prefix="/dev/mail")
