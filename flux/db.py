"""Database plumbing: the declarative base, engine hardening, and the Flask extension."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy()


def engine_options(url: str) -> dict[str, Any]:
    """Engine arguments for a database URL (SQLite needs a longer lock wait for writers)."""
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return {"url": url, "connect_args": {"timeout": 30}}
    # No ping before each use of a pooled connection: it cost a round trip per request (a
    # tenth of a decision). A connection found dead (PostgreSQL restarted, a backend ended)
    # fails its request with 503 and Retry-After (api/problems.py); SQLAlchemy then drops
    # every connection the pool held, and the next request opens a new one.
    return {"url": url}


def harden(engine: sa.Engine) -> sa.Engine:
    """Apply Flux's connection settings to an engine (idempotent)."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_connect):
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def create_engine(url: str) -> sa.Engine:
    """A hardened engine outside Flask (CLI tools, migrations, tests)."""
    options = engine_options(url)
    return harden(sa.create_engine(options.pop("url"), **options))


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock
    # up front; we disable it and emit BEGIN ourselves (SQLAlchemy's documented recipe),
    # so that write paths can start with BEGIN IMMEDIATE (see begin_immediate()).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def begin_immediate(session: sa.orm.Session) -> None:
    """Start the session's transaction holding the database write lock (SQLite only).

    A read-only transaction already open (authentication, access checks) is ended first:
    SQLite cannot upgrade a deferred transaction to a write lock without risking a deadlock.
    Callers re-read what they check after this call. On PostgreSQL this does nothing:
    row locks (SELECT ... FOR UPDATE) do the serialising there.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.info.get(_WRITE_LOCKED):
        return  # this transaction already holds the write lock (it wrote, or began IMMEDIATE)
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_immediate() called with pending changes")
        session.commit()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    session.info[_WRITE_LOCKED] = True


_WRITE_LOCKED = "flux_write_locked"


@event.listens_for(sa.orm.Session, "after_flush")
def _flushed(session: sa.orm.Session, _context: Any) -> None:
    # On SQLite a transaction that has written holds the database's write lock until it ends.
    session.info[_WRITE_LOCKED] = True


@event.listens_for(sa.orm.Session, "after_transaction_end")
def _ended(session: sa.orm.Session, transaction: sa.orm.SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WRITE_LOCKED, None)


def read_together(
    connection: sa.Connection, statements: Sequence[tuple[sa.Executable, dict[str, Any]]]
) -> list[list[Any]]:
    """The rows of several statements run one after the other, in one round trip to
    PostgreSQL (psycopg's pipeline mode); elsewhere one at a time.

    Each statement starts when the one before it has finished, with its own snapshot (READ
    COMMITTED): a read after ``SELECT … FOR UPDATE`` sees what the lock's previous holder
    committed. Rows are named tuples of the driver's values, for columns whose driver value is
    the model's, each converted by its column type as SQLAlchemy would (enumerations). Its
    statement events fire for each, as for any statement.
    """
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        return [connection.execute(statement, params).all() for statement, params in statements]
    import psycopg
    from psycopg.rows import namedtuple_row

    raw = connection.connection.driver_connection
    prepared = [_compiled(connection.dialect, statement) for statement, _params in statements]
    compiled = [
        (sql, query.construct_params(params))  # with the values the statement holds itself
        for (sql, query, _processors), (_statement, params) in zip(
            prepared, statements, strict=True
        )
    ]
    cursors = []
    try:
        with raw.pipeline():
            for sql, params in compiled:
                cursor = raw.cursor(row_factory=namedtuple_row)
                connection.dispatch.before_cursor_execute(
                    connection, cursor, sql, params, None, False
                )
                cursor.execute(sql, params)
                cursors.append(cursor)
        results = [cursor.fetchall() for cursor in cursors]
    except psycopg.Error as error:  # which one failed is not told: all of them are named
        sql = ";\n".join(sql for sql, _params in compiled)
        params = [params for _sql, params in compiled]
        invalidated = connection.dialect.is_disconnect(error, raw, None)
        if invalidated:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            sql, params, error, psycopg.Error, connection_invalidated=invalidated
        ) from error
    for index, (_sql, _query, processors) in enumerate(prepared):
        if any(processors):
            results[index] = [
                row._make(
                    value if p is None else p(value)
                    for p, value in zip(processors, row, strict=True)
                )
                for row in results[index]
            ]
    return results


@functools.lru_cache(maxsize=64)
def _compiled(dialect: sa.Dialect, statement: Any) -> tuple[str, Any, tuple[Any, ...]]:
    """A statement's SQL for the driver, its compiled form, its columns' result conversions."""
    query = statement.compile(dialect=dialect)
    processors = tuple(
        column.type.result_processor(dialect, None) for column in statement.selected_columns
    )
    return str(query), query, processors
