"""Backups and restores (README « Sauvegarde et restauration »).

PostgreSQL: `pg_dump --format=custom` (a consistent snapshot taken while the service runs),
restored by `pg_restore` into an empty database, without the dump's owners and privileges:
the owner role restoring owns the tables, then the service role gets its grants again.
SQLite: the sqlite3 backup API (consistent while the service runs), restored by a file copy.

A restore replaces what the service decides with: the web workers and the scheduler must be
stopped before it and started after (their caches hold the state they last read).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from flux.db import create_engine


class BackupError(RuntimeError):
    """A backup or a restore could not be made (message in French, for operators)."""


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without its password, and the environment carrying it (not in `ps`)."""
    parsed = sa.engine.make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Base SQLite en mémoire : rien à sauvegarder.")
    return Path(database)


def _run(command: list[str], env: dict[str, str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"Commande « {command[0]} » introuvable (paquet postgresql-client).")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} a échoué : {result.stderr.strip()[:2000]}")


def backup(url: str, target: Path) -> None:
    """Write a backup of the database at `url` to `target` (overwritten)."""
    if url.startswith("postgresql"):
        libpq, env = _libpq(url)
        _run(["pg_dump", "--format=custom", "--file", str(target), "--dbname", libpq], env)
        return
    source = sqlite3.connect(_sqlite_path(url))
    try:
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        copy.close()
    finally:
        source.close()


def _is_empty(url: str) -> bool:
    engine = create_engine(url)
    try:
        return not sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(source: Path, url: str) -> None:
    """Restore a backup into the empty database at `url` (refused if it holds tables)."""
    if not source.is_file():
        raise BackupError(f"Sauvegarde « {source} » introuvable.")
    if url.startswith("postgresql"):
        if not _is_empty(url):
            raise BackupError("La base cible n'est pas vide : restaurez dans une base neuve.")
        libpq, env = _libpq(url)
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                libpq,
                str(source),
            ],
            env,
        )
        return
    target = _sqlite_path(url)
    if target.exists() and target.stat().st_size > 0 and not _is_empty(url):
        raise BackupError("La base cible n'est pas vide : restaurez dans une base neuve.")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
