"""Engine settings per database."""

from contextvars import ContextVar
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Set by the web layer for GET/HEAD requests: their transactions only read, so they
# need not take SQLite's write lock.
read_only_transaction: ContextVar[bool] = ContextVar("read_only_transaction", default=False)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _translate(value, source, target):
    if not isinstance(value, str):
        return value
    return value.translate(_table(source, target))


@lru_cache(maxsize=8)
def _table(source: str, target: str) -> dict:
    """A str.translate table, built once per pair (translate() runs once a row)."""
    table = {ord(a): b for a, b in zip(source, target, strict=False)}
    table.update({ord(a): None for a in source[len(target) :]})
    return table


def install_sqlite_pragmas(engine: Engine) -> None:
    """Turn on WAL, foreign keys and a busy timeout on every SQLite connection, and a
    lower() that knows more than ASCII."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy own transactions: pysqlite's own BEGIN handling defers locks
        # and breaks SELECT ... then UPDATE atomicity (SQLAlchemy docs, "Serializable
        # isolation / Savepoints / Transactional DDL" for pysqlite).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's own lower() folds ASCII only: "Émilie" would never match "émilie" in a
        # search, nor sort with "emilie". Python's, as PostgreSQL's in a UTF-8 locale.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        # PostgreSQL's translate(text, from, to), which SQLite lacks (member search).
        dbapi_connection.create_function("translate", 3, _translate, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # BEGIN IMMEDIATE takes the write lock up front, so two writers never
        # deadlock on a lock upgrade; readers are not blocked under WAL.
        conn.exec_driver_sql("BEGIN" if read_only_transaction.get() else "BEGIN IMMEDIATE")
