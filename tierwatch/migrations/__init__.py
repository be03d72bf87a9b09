"""Alembic migrations of the store (run by tierwatch.store.migrate at start)."""
