"""Opening the state store: the engine, its sessions, and migrations applied on start.

`Store.open(url)` creates the SQLAlchemy engine (a SQLite file by default, PostgreSQL by URL), brings the
schema up to date with Alembic (`alembic.command.upgrade`, migrations shipped inside the package) and hands
out sessions. SQLite files get WAL journaling and a busy timeout so a CLI run and the scheduler can share one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from worker.errors import UserError

MIGRATIONS = "worker:migrations"


WAL_ATTEMPTS, WAL_PAUSE_S = 50, 0.02


def journal_to_wal(cursor: Any, sleep: Callable[[float], None] = time.sleep) -> None:
    """Switch the file to WAL journaling. That needs a moment of exclusive access, and when another process
    is opening or switching the same file SQLite answers "database is locked" at once, without waiting its
    busy timeout (processes starting together on a new store failed so). So retry briefly; the mode is kept
    in the file, so once any process has switched it every connection uses WAL, and if none has yet this
    connection simply goes on in the file's current mode (WAL is for concurrency, not correctness)."""
    for _attempt in range(WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            sleep(WAL_PAUSE_S)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    journal_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_store_engine(url: str, **engine_args: Any) -> Engine:
    """An engine for `url`; creates the SQLite file's directory. Bad URLs become one clear UserError."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise UserError(
            f"state store URL {_redacted(url)!r} is not a database URL; expected e.g. "
            "sqlite:///state/commitments.sqlite3 or postgresql+psycopg://user@host/db"
        ) from None
    if parsed.host and "@" in parsed.host:
        # SQLAlchemy ends the password at its first '@' and reads the rest as the host, so the driver's
        # "cannot resolve host" error (and the URL shown with the password hidden) would print its tail.
        raise UserError(
            "state store URL: an '@' in the user name or password must be written as %40 "
            "(e.g. postgresql+psycopg://user:pa%40ss@host/db)"
        )
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UserError(
            f"state store URL {_redacted(url)!r}: unsupported database {parsed.get_backend_name()!r}; use "
            "SQLite (sqlite:///state/commitments.sqlite3) or PostgreSQL (postgresql+psycopg://user@host/db)"
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _make_directory(Path(parsed.database).parent)
        engine_args.setdefault("connect_args", {"timeout": 30})
    else:
        # The worker runs for weeks: a PostgreSQL restart, a failover or an idle-connection killer leaves
        # dead connections in the pool, so each checkout is tested first (one round trip) and replaced when
        # dead, instead of the next run failing on it.
        engine_args.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(parsed, **engine_args)
    except (NoSuchModuleError, ImportError):  # an unknown dialect, or a driver that is not installed
        raise UserError(
            f"state store URL {_redacted(url)!r}: unsupported database driver; use postgresql+psycopg://"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _make_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "a file of that name is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise UserError(f"cannot create the state store's directory {directory}: {why or exc}") from None


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("@")[-1]


# pg_advisory_xact_lock key that serialises migrations (a fixed signed 64-bit number, "commitments-migrate")
MIGRATION_LOCK_KEY = int.from_bytes(b"cmt-migr", "big", signed=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there).

    Processes that open the store at the same moment (two workers, or a worker and a CLI command, after a
    first start or an upgrade) take turns: the first migrates, the others wait for it and then find the
    schema at head, instead of failing on each other's half-created tables."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, waited for up to the busy timeout
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def upsert(session: Session, model: type[Any]) -> Any:
    """An INSERT for `model` that supports `.on_conflict_do_update` on the session's dialect."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return postgresql.insert(model)
    if bind.dialect.name == "sqlite":
        return sqlite.insert(model)
    raise UserError(f"unsupported state store database {bind.dialect.name!r}; use SQLite or PostgreSQL")


class Store:
    """The state store: an engine plus a session factory. Repository functions take a `Session`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True, **engine_args: Any) -> Store:
        engine = create_store_engine(url, **engine_args)
        if run_migrations:
            try:
                migrate(engine)
            except DatabaseError as exc:  # unreachable, refused, or (SQLite) a file that is not a database
                engine.dispose()
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "cannot connect"
                raise UserError(f"cannot open the state store {_redacted(url)}: {reason}") from None
        return cls(engine)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any exception."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
