"""The running API against its own OpenAPI schema (schemathesis), and its guard on writes.

A bounded run: a few examples per operation, about a minute. One worker: with two,
hypothesis parses lambda sources (ast.parse) in both threads at once, and CPython 3.11
before 3.11.8 can fail that with "AST constructor recursion depth mismatch" (seen here on
3.11.7), an error of the tool, not of the API. Every check but
`positive_data_acceptance` (a request can fit the schema and still be refused on meaning:
an end before its start, a month not begun) must pass: no 5xx, no status, header, content
type or body the schema does not document.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.api import Instance, run_instance

pytestmark = pytest.mark.integration


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    yield from run_instance(tmp_path)


def test_schemathesis_finds_no_server_error_and_no_schema_break(instance: Instance,
                                                                tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "schemathesis.cli", "run", f"{instance.url}/openapi.json",
           "-H", f"Authorization: Bearer {instance.tokens['admin']}",
           "--checks", "all", "--exclude-checks", "positive_data_acceptance",
           "--max-examples", "8", "--workers", "1", "--seed", "20261001",
           "--generation-database", "none", "--request-timeout", "30", "--no-color",
           "--report", "junit", "--report-dir", str(tmp_path / "schemathesis")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # every operation of the schema was exercised
    _status, schema = instance.request("GET", "/openapi.json")
    operations = sum(len(ops) for ops in schema["paths"].values())
    assert operations >= 15
    assert f"Tested: {operations}" in done.stdout, done.stdout[-3000:]
