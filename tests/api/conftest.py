"""Fixtures: an in-process API over a seeded store (tests/helpers/api.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.api import Api, api_context, demo_like_config
from tests.report import seed


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """Reads need a token (the default)."""
    yield from api_context(demo_like_config(tmp_path), seed.seed)


@pytest.fixture
def open_api(tmp_path: Path) -> Iterator[Api]:
    """Reads open, as in the demo."""
    yield from api_context(demo_like_config(tmp_path, api={"read_auth": "open"}), seed.seed)
