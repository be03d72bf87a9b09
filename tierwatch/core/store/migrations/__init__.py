"""Alembic migrations of the store (run by tierwatch.core.store.migrate at start)."""
