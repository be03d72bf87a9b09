"""tierwatch's version (pyproject.toml says the same; a test keeps them in step)."""

__version__ = "0.1.0"
