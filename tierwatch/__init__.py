"""tierwatch: the wiring (service, runner, HTTP server, CLI); the vocabulary and core are in
tierwatch.core, the rooms beside this package."""

from tierwatch.core.version import __version__

__all__ = ["__version__"]
