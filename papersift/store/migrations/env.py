"""Alembic environment: papersift passes its own connection in ``config.attributes``."""

from alembic import context

from papersift.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - papersift always passes a connection
    raise RuntimeError("papersift migrations run through papersift.store.db.migrate()")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
