"""How a request uses its database connection: no transaction until it writes, no ping, one retry.

A PostgreSQL transaction costs two round trips of its own (BEGIN before the first statement,
COMMIT at the end), and the pool's pre-ping was a third (and a BEGIN of its own): most requests
are GETs that run one or two SELECTs, so three quarters of their round trips were bookkeeping.

* A GET, HEAD or OPTIONS request's connection starts in autocommit mode: its SELECTs run
  without BEGIN and COMMIT. Under READ COMMITTED (PostgreSQL's default, and ours) every
  statement takes its own snapshot inside a transaction too, so a read sees exactly what it
  would have seen. The moment anything else is about to run (INSERT, UPDATE, DELETE, a
  SAVEPOINT, SELECT ... FOR UPDATE, anything not a plain SELECT; also a streamed SELECT, whose
  server-side cursor needs a transaction) the connection leaves
  autocommit first, so psycopg sends BEGIN before that statement: every write is in a
  transaction, committed or rolled back as a whole, as before. Other requests (POSTs) and the
  worker and scheduler are transactional from their first statement, as before.
* No pre-ping. A connection is replaced after `pool_recycle` seconds (config.engine_options),
  and a request whose connection turns out dead (the server restarted, a proxy cut it) is
  run once more on a fresh one, but only if it had not sent a single write: a request that
  may have changed something is never run twice.
"""
import logging
import re
from functools import lru_cache, partial

from flask import g, has_request_context, request
from psycopg import ServerCursor
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LAZY = "komet_lazy_transaction"  # on the pool record: this checkout is in autocommit until it writes
log = logging.getLogger("komet.db")
_LOCKING = re.compile(r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b", re.IGNORECASE)


@lru_cache(maxsize=512)  # a handful of statements, each a long string whose hash Python keeps
def is_plain_read(statement):
    """True for a SELECT that takes no row locks: the only statement that may run outside a transaction."""
    return statement[:6].upper() == "SELECT" and _LOCKING.search(statement) is None


def init_app(app):
    """Install the lazy transactions (PostgreSQL only) and the dead-connection retry on `app`."""
    from komet.extensions import db

    app.full_dispatch_request = partial(_dispatch_with_retry, app.full_dispatch_request)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return  # SQLite's driver keeps its own transaction rules; nothing here is worth a round trip
    with app.app_context():
        engine = db.engine
    app.teardown_request(_note_read_only)
    event.listen(engine, "begin", _begin_lazily)
    event.listen(engine, "before_cursor_execute", _before_statement)
    event.listen(engine.pool, "checkin", _back_to_transactional)


def _begin_lazily(conn):
    # SQLAlchemy's BEGIN is only a mark (psycopg sends BEGIN with the first statement): this
    # runs before any statement of the transaction.
    if not (has_request_context() and request.method in READ_ONLY_METHODS):
        return
    if conn.get_execution_options().get("isolation_level"):
        return  # whoever asked for a level (REPEATABLE READ, AUTOCOMMIT) gets exactly that
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.autocommit and dbapi_connection.info.transaction_status == 0:  # idle
        dbapi_connection.autocommit = True
        conn.info[_LAZY] = True


def _before_statement(conn, cursor, statement, parameters, context, executemany):
    read = is_plain_read(statement)
    if not read and has_request_context():
        g._komet_wrote = True  # this request may have changed something: never run it twice
    # A streamed read (yield_per) is a server-side cursor, which lives in a transaction.
    if (not read or isinstance(cursor, ServerCursor)) and conn.info.pop(_LAZY, False):
        conn.connection.dbapi_connection.autocommit = False  # psycopg sends BEGIN before this statement
        if has_request_context():
            g._komet_transaction = True


def _note_read_only(exception):
    # Teardown of the request: the app context's teardown, which ends the session, no longer
    # sees the request.
    if request.method in READ_ONLY_METHODS and not g.get("_komet_wrote") and not g.get("_komet_transaction"):
        g._komet_nothing_to_commit = True


def nothing_to_commit():
    """True when this request's session has only read, in autocommit: its COMMIT would be a no-op."""
    return bool(g.get("_komet_nothing_to_commit"))


def _back_to_transactional(dbapi_connection, connection_record):
    # The next checkout may be a POST's, or the worker's: it starts transactional.
    if connection_record.info.pop(_LAZY, False) and dbapi_connection is not None:
        if dbapi_connection.info.transaction_status != 0:
            dbapi_connection.rollback()
        dbapi_connection.autocommit = False


def _dispatch_with_retry(dispatch):
    try:
        return dispatch()
    except DBAPIError as error:
        if not error.connection_invalidated or g.get("_komet_wrote"):
            raise
    # The connection was dead before this request changed anything: the pool has already
    # dropped it (and every connection as old), so the second run checks out a fresh one.
    log.warning("database connection found dead; running %s %s again", request.method, request.path)
    _forget_attempt()
    return dispatch()


def _forget_attempt():
    from komet.extensions import db

    db.session.rollback()
    # What the first run loaded (the user, the workspace, the invite link) goes; the request
    # id, timers and flags of the request itself (`_komet_*`) stay.
    for name in [name for name in vars(g) if not name.startswith("_komet_")]:
        delattr(g, name)


class FastSelect:
    """A Core SELECT run on the session's connection straight through psycopg, for the one query
    every request runs (the session check): the same SQL, parameters and values as
    `connection.execute(statement, params).first()`, without SQLAlchemy's per-execution layer
    (result metadata, cache lookups, row objects), which cost that query about three times the
    CPU of psycopg itself. The SQL and the type conversions are worked out once; the engine's
    statement events still fire (they count queries, and start transactions). Other databases
    go through SQLAlchemy as usual.
    """

    def __init__(self, statement):
        self.statement = statement
        self._compiled = None  # (dialect, sql, bind names and converters, result converters)

    def first(self, session, params):
        """The first row as a tuple, or None.

        In a read-only request that has not opened an ORM session yet (the session check runs
        first thing), the query borrows a pooled connection in autocommit, as that request's
        own reads would run, and gives it back at once, rather than creating a Session for a
        request that may never need one (a redirect, a 204 from the cache). With nothing run in
        the request yet, there is nothing uncommitted it could miss; once a session is open, the
        query runs on its connection and sees what the request has written. Other requests (a
        POST) run it in their transaction, as their first statement.
        """
        rows = self._run(session, params, first=True)
        return rows[0] if rows else None

    def all(self, session, params):
        """Every row, as tuples (on a borrowed connection as first() explains)."""
        return self._run(session, params, first=False)

    def _run(self, session, params, first):
        from komet.extensions import db

        if (session is db.session and not session.registry.has() and has_request_context()
                and request.method in READ_ONLY_METHODS):
            engine = db.engine
            if engine.dialect.driver == "psycopg":
                with engine.connect() as conn:
                    dbapi_connection = conn.connection.dbapi_connection
                    if not dbapi_connection.autocommit and dbapi_connection.info.transaction_status == 0:
                        dbapi_connection.autocommit = True
                        conn.info[_LAZY] = True  # made transactional again at checkin
                    return self._rows(conn, params, first)
        return self._rows(session.connection(), params, first)

    def _rows(self, conn, params, first):
        dialect = conn.dialect
        if dialect.driver != "psycopg":
            result = conn.execute(self.statement, params)
            rows = [result.first()] if first else result.all()
            return [tuple(row) for row in rows if row is not None]
        if self._compiled is None or self._compiled[0] is not dialect:
            self._compiled = self._compile(dialect)
        _, sql, binds, results = self._compiled
        values = {}
        for name, (default, convert) in binds.items():
            value = params.get(name, default)
            values[name] = value if convert is None or value is None else convert(value)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, values, None, False)
            cursor.execute(sql, values)
            conn.dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
            rows = [cursor.fetchone()] if first else cursor.fetchall()
        except Exception as error:  # a dead connection is reported (and invalidated) as SQLAlchemy's own
            conn._handle_dbapi_exception(error, sql, values, cursor, None)
        finally:
            cursor.close()
        return [tuple(value if convert is None or value is None else convert(value)
                      for value, convert in zip(row, results)) for row in rows if row is not None]

    def _compile(self, dialect):
        compiled = self.statement.compile(dialect=dialect)
        binds = {name: (bind.value if bind.callable is None else bind.callable(), bind.type.bind_processor(dialect))
                 for name, bind in compiled.binds.items()}
        results = [column.type.result_processor(dialect, None) for column in self.statement.selected_columns]
        return dialect, compiled.string, binds, results
