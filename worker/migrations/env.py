"""Alembic environment for the state store: run migrations on the connection the caller hands in.

`worker.store.db.migrate` calls `alembic.command.upgrade` programmatically and passes its open SQLAlchemy
connection in `config.attributes["connection"]`, so migrations run inside the application (no alembic.ini,
no URL in a file, nothing for an admin to run by hand).
"""

from __future__ import annotations

from alembic import context

from worker.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through worker.store.db.migrate(), which provides the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy-and-move
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
