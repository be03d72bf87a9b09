"""The one-line diagram of the running demo in a real browser (headless Chromium): on the
status page, drawn inline with no JavaScript, and alone as SVG; a fault injected in the
simulator (UPS-B on bypass) turns the UPS-B box from green to red on reload.

The colour is read from the screenshot's pixels at the box's own place (the SVG alone is
screenshot at its own size, so its coordinates are the picture's). The screenshots are kept
as artifacts ($TIERWATCH_ARTIFACTS, else the test's directory).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.browser import dump_dom, screenshot
from tests.helpers.procs import http_get, http_json, run_demo, wait_for

pytestmark = pytest.mark.integration

GREEN = (0xA5, 0xD6, 0xA7)  # in service (power/diagram.py FILL["ok"])
RED = (0xEF, 0x9A, 0x9A)  # out of service (FILL["failed"])


def _artifact(path: Path) -> None:
    target = os.environ.get("TIERWATCH_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _box(svg: str, node: str) -> tuple[int, int, int, int]:
    found = re.search(rf'<g id="node-{node}"[^>]*>.*?<rect x="(\d+)" y="(\d+)" '
                      rf'width="(\d+)" height="(\d+)"', svg)
    assert found, f"no box for {node} in the diagram"
    x, y, w, h = (int(v) for v in found.groups())
    return x, y, w, h


def _colour_of(base: str, node: str, shot: Path) -> tuple[int, int, int]:
    status, body = http_get(f"{base}/api/v1/power/diagram.svg?lang=en")
    assert status == 200
    svg = body.decode()
    size = re.search(r'<svg [^>]*width="(\d+)" height="(\d+)"', svg)
    assert size
    screenshot(f"{base}/api/v1/power/diagram.svg?lang=en", shot, int(size.group(1)),
               int(size.group(2)))
    _artifact(shot)
    x, y, _w, h = _box(svg, node)
    image = Image.open(shot).convert("RGB")
    # a spot inside the box, clear of its border and its text
    return image.getpixel((x + 6, y + h // 2))  # type: ignore[return-value]


def _close(found: tuple[int, int, int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 6 for a, b in zip(found, want, strict=True))


def test_one_line_diagram_follows_a_fault(tmp_path: Path) -> None:
    with run_demo(tmp_path, interval=1.0) as demo:
        base = demo.base_url
        wait_for(lambda: bool(http_json(f"{base}/api/v1/tier").get("settled")), 60,
                 "the live tier to settle")

        page = dump_dom(f"{base}/?lang=vi")
        assert 'id="one-line-diagram"' in page and "Sơ đồ một sợi" in page
        assert re.search(r'<g id="node-UPS-B" class="node" data-status="ok"', page)
        # the manual bypass of the paralleling board is drawn dashed
        assert re.search(r'stroke-dasharray="6 4" class="edge manual" data-from="G1" '
                         r'data-to="ATS-A"', page)
        page_shot = screenshot(f"{base}/?lang=vi", tmp_path / "status-diagram.png", 1280, 2400)
        _artifact(page_shot)

        before = _colour_of(base, "UPS-B", tmp_path / "diagram-before.png")
        assert _close(before, GREEN), before

        demo.sim("fault", "ups-b", "on-bypass")
        wait_for(lambda: http_json(f"{base}/api/v1/tier")["snapshot"]["subsystems"]["power"][
            "live_tier"] == 1, 60, "the live tier to see UPS-B on bypass")

        after = _colour_of(base, "UPS-B", tmp_path / "diagram-after.png")
        assert _close(after, RED), after
        page = dump_dom(f"{base}/?lang=en")
        assert re.search(r'<g id="node-UPS-B" class="node" data-status="failed"', page)
        # path B below the UPS no longer carries the active path
        assert re.search(r'class="edge idle" data-from="UPS-B" data-to="PDU-1B"', page)
        assert re.search(r'class="edge active" data-from="UPS-A" data-to="PDU-1A"', page)
