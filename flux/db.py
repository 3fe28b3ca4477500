"""Database plumbing: the declarative base, engine hardening, and the Flask extension."""

from __future__ import annotations

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
