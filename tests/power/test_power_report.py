"""The monthly report's power chain: the seeded November of test_month.py through the
report room, with what the wiring hands it (tierwatch.service.report_settings): the month's
PUE and its daily trend, fuel autonomy, hidden SPOFs, the forecast, and the one-line
diagram, in JSON and HTML (both languages) and PDF."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.powerview import live_diagram
from report.monthly import make_report, render
from tests.power.test_month import DEC, TOPOLOGY, month  # noqa: F401 (the fixture)
from tier.score import score
from tierwatch.config import Config
from tierwatch.core.store import Store
from tierwatch.service import report_settings

H = 3600.0


def _config(tmp: Path) -> Config:
    return Config.model_validate({
        "site": {"name": "T", "timezone": "Asia/Ho_Chi_Minh"},
        "topology": TOPOLOGY.model_dump(mode="json"),
        "reports": {"dir": str(tmp)},
        "power": {"interval": H, "pue": {
            "it_measured_at": "pdu_output",
            "facility": [{"device": "meter", "metric": "meter_power_watts"}],
            "it": [{"device": "pdu", "metric": "pdu_power_watts"}]}}})


def test_the_report_shows_the_power_chain(month: Store, tmp_path: Path) -> None:  # noqa: F811
    config = _config(tmp_path)
    snapshot = score(TOPOLOGY, {"UPS-B": "failed"})

    def diagram(lang: str) -> str:
        return live_diagram(TOPOLOGY, snapshot, (), {"UPS-B": "bypass"}, None, lang,
                            "Asia/Ho_Chi_Minh")

    settings = report_settings(config, diagram)
    report = make_report(month, settings, "2026-11", now=DEC + 6 * H)
    doc = report.to_json()["power"]
    assert doc["pue"]["month"] == pytest.approx(1.575)  # (60 x 15 + 66 x 15) / (40 x 30)
    assert doc["pue"]["category"] == 2  # measured at the PDU outputs
    assert doc["fuel_hours"] == {"lowest": 9.5, "latest": 36.0}
    assert doc["hidden_spofs"] == {"R01": 6 * H}
    assert doc["forecast"]["n_plus_one"]["power/ups"]["note"] == "at the present growth"

    english = render(report, "html", "en").decode()
    assert 'id="power-chain"' in english
    assert "ISO/IEC 30134-2 category 2" in english
    assert '<strong id="fuel-lowest" class="bad">9.5</strong>' in english  # below 12 h
    assert "<strong>R01</strong> (6 h)" in english
    assert "power/ups loses N+1: 2026-12-21" in english
    assert "This year&#39;s downtime budget spent: 2026-12-17" in english
    # the diagram as it was when the report was made: UPS-B out, in the report's language
    assert '<g id="node-UPS-B" class="node" data-status="failed">' in english
    vietnamese = render(report, "html", "vi").decode()
    assert "Sơ đồ một sợi" in vietnamese and "power/ups mất N+1: 21/12/2026" in vietnamese
    assert "đường cấp điện đang dùng" in vietnamese  # the diagram's legend in Vietnamese
    pdf = render(report, "pdf", "vi")
    assert pdf.startswith(b"%PDF")
