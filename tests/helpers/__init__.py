"""Test helpers: real servers started on free loopback ports, and the test data."""

from pathlib import Path

# tests/fixtures: recorded walks and scrapes, topologies, rule fixtures
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures"
