"""The one-way house is checked by import-linter (pyproject.toml, run by `make test`). Its
contract lists the wiring's modules by name; these tests keep that list true, and run the
contracts so a break shows here too, naming the two modules."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.helpers.procs import ROOT


def _contract(words: str) -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (found,) = [c for c in data["tool"]["importlinter"]["contracts"] if words in c["name"]]
    return {k: v for k, v in found.items() if isinstance(v, list)}


def test_the_wiring_list_is_every_module_of_tierwatch_but_core() -> None:
    forbidden = set(_contract("never import the wiring")["forbidden_modules"])
    wiring = {f"tierwatch.{p.stem}" for p in (ROOT / "tierwatch").glob("*.py")
              if p.stem != "__init__"}
    wiring |= {f"tierwatch.{p.name}" for p in (ROOT / "tierwatch").iterdir()
               if p.is_dir() and (p / "__init__.py").exists() and p.name != "core"}
    assert wiring == forbidden - {"api"}


def test_the_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
