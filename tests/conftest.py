"""Shared fixtures. Helpers that start real servers live in tests/helpers/."""

from __future__ import annotations

import os

from hypothesis import settings

# Bounded property tests in CI: enough examples to find bugs, few enough to stay fast.
settings.register_profile("ci", max_examples=150, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
