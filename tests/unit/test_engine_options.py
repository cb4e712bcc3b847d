import sqlalchemy as sa

from config import engine_options


def test_every_supported_database_url_makes_an_engine():
    # The in-memory SQLite database (DATABASE_URL=sqlite://) has a one-connection pool that
    # refuses pool options such as LIFO; `flask routes` once failed on it.
    for url in ("sqlite://", "sqlite:///instance/komet.db", "postgresql+psycopg://postgres@127.0.0.1:5432/x"):
        sa.create_engine(url, **engine_options(url)).dispose()


def test_postgresql_reuses_the_warmest_connection():
    assert engine_options("postgresql+psycopg://h/db")["pool_use_lifo"] is True
