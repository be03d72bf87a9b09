"""Alembic environment: migrations run on the connection tierwatch.core.store.migrate hands over.

There is no URL here on purpose: the store's URL is a secret (its password is never written
into Alembic's config, which is a ConfigParser and would also choke on a '%' in it).
"""

from __future__ import annotations

from alembic import context

from tierwatch.core.store.schema import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("tierwatch migrations run through tierwatch.core.store.migrate(engine)")
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
