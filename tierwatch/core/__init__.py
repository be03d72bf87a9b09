"""The vocabulary every room may import: records, config types, state, store,
i18n, the Runtime handle. Imports only third-party libraries."""
