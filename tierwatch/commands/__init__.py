"""CLI commands, one module per room; each has `register(app)` and cli.py calls them all."""
