"""No verdict without data (issue 15, item 6): a month watched for 12 s of its first five
days says "not enough data", not "target met"; the report, GET /api/v1/availability and
the status page apply the same rule (`tier.min_coverage`, default 95 %)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from api.main import create_app
from report.html import render_html
from report.monthly import make_report
from tests.helpers.api import Api, api_context, demo_like_config
from tests.report import seed
from tests.report.seed import MONTH, NOW, TZ, change
from tierwatch.core.model import Status
from tierwatch.core.store import Store
from tierwatch.service import report_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

# The demo's December: started on 6 December 00:00 (site time), watched for 12 s.
DECEMBER = "2026-12"
DEC_START = datetime(2026, 12, 1, tzinfo=TZ).timestamp()
DEC_NOW = datetime(2026, 12, 6, tzinfo=TZ).timestamp()  # five days (432,000 s) in
# 12 / 432000 = 0.0000277... -> "0.003 %" (three decimals, as every percentage here)
TWELVE_SECONDS_EN = "not enough data: 0.003 % of the month monitored"
TWELVE_SECONDS_VI = "không đủ dữ liệu: chỉ 0,003 % thời gian của tháng được giám sát"


def twelve_seconds(store: Store) -> None:
    store.start_instance("demo", DEC_NOW - 12, max_silence=45)
    store.record_changes([
        change(device, "device", None, Status.OK, DEC_NOW - 12)
        for device in ("ups-a", "ups-b", "env-1")
    ])
    store.heartbeat("demo", DEC_NOW)


def verdict_block(html: str) -> tuple[str, str]:
    match = re.search(r'<div class="sub" id="verdict" data-verdict="([a-z_]+)">(.*?)</div>',
                      html, re.S)
    assert match, "no verdict in the headline"
    return match.group(1), re.sub(r"<[^>]+>", "", match.group(2))


@pytest.fixture
def december(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'd.sqlite'}")
    twelve_seconds(store)
    return store


def test_twelve_seconds_of_five_days_is_not_a_month_met(december: Store, tmp_path: Path) -> None:
    report = make_report(december, seed.settings(tmp_path, "sqlite://"), DECEMBER, DEC_NOW)
    doc = report.to_json()
    assert doc["coverage"]["observed_s"] == 432000.0
    assert doc["coverage"]["monitored_s"] == 12.0
    assert doc["coverage"]["monitored_share"] == round(12 / 432000, 6)
    assert doc["summary"]["availability"]["availability"] == 1.0  # nothing went down in 12 s
    assert doc["summary"]["availability"]["met"] is True  # the bare comparison, as before
    assert doc["summary"]["verdict"] == "not_enough_data"
    html = render_html(report, "en")
    assert verdict_block(html) == ("not_enough_data", f"target 99.982 % — {TWELVE_SECONDS_EN}")
    vi = render_html(report, "vi")
    assert verdict_block(vi) == ("not_enough_data", f"mục tiêu 99,982 % — {TWELVE_SECONDS_VI}")


def test_the_share_is_configurable(december: Store, tmp_path: Path) -> None:
    # 12 / 432000 = 0.0000278 >= 0.00002: enough for this site's rule, so the verdict stands
    config = demo_like_config(tmp_path, tier={"min_coverage": 0.00002})
    report = make_report(december, report_settings(config), DECEMBER, DEC_NOW)
    assert report.to_json()["summary"]["verdict"] == "met"
    assert verdict_block(render_html(report, "en")) == ("met", "target 99.982 % — target met")


def test_a_month_with_one_day_unmonitored(tmp_path: Path) -> None:
    # October (tests/report/seed.py): 30 of 31 days watched, 96.774 % >= 95 %; 420 s
    # down in 30 days: 1 - 420 / 2,592,000 = 99.984 % >= 99.982 %: met.
    store = Store.open(f"sqlite:///{tmp_path / 'o.sqlite'}")
    seed.seed(store)
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    assert report.to_json()["coverage"]["monitored_share"] == round(30 / 31, 6)
    assert verdict_block(render_html(report, "en")) == ("met", "target 99.982 % — target met")
    # asking for 97 % of the month: not enough
    strict = make_report(store, report_settings(demo_like_config(
        tmp_path, tier={"min_coverage": 0.97})), MONTH, NOW)
    assert verdict_block(render_html(strict, "en")) == (
        "not_enough_data", "target 99.982 % — not enough data: 96.774 % of the month monitored")


# --------------------------------------------------------------------------- API


@pytest.fixture
def dec_api(tmp_path: Path) -> Iterator[Api]:
    yield from api_context(demo_like_config(tmp_path, api={"read_auth": "open"}), twelve_seconds)


@pytest.fixture
def october_api(tmp_path: Path) -> Iterator[Api]:
    yield from api_context(demo_like_config(tmp_path, api={"read_auth": "open"}), seed.seed)


def test_the_api_gives_coverage_and_verdict(dec_api: Api) -> None:
    period = {"start": str(DEC_START), "end": str(DEC_NOW)}
    body = dec_api.client.get("/api/v1/availability", params={"scope": "site", **period}).json()
    assert (body["monitored_s"], body["observed_s"]) == (12.0, 432000.0)
    assert body["coverage"] == pytest.approx(12 / 432000, rel=1e-12)
    assert (body["availability"], body["verdict"]) == (1.0, "not_enough_data")
    load = dec_api.client.get("/api/v1/availability", params={"scope": "load:R1", **period})
    assert load.json()["verdict"] == "not_enough_data"


def test_the_api_verdict_when_the_month_was_watched(october_api: Api) -> None:
    # October, seeded: 30 / 31 watched; site 420 s down -> met; R7 300 s down in 30 days:
    # 1 - 300 / 2,592,000 = 99.988 % -> met; asked against 99.99 %: missed
    site = october_api.client.get("/api/v1/availability", params={"month": MONTH}).json()
    assert site["coverage"] == pytest.approx(30 / 31, rel=1e-12)
    assert site["verdict"] == "met"
    strict = october_api.client.get("/api/v1/availability",
                                 params={"month": MONTH, "scope": "load:R7", "target": 0.9999})
    assert (strict.json()["downtime_s"], strict.json()["verdict"]) == (300.0, "missed")


# --------------------------------------------------------------------------- status page


def page(api: Api, now: float, lang: str) -> str:
    client = TestClient(create_app(api.service.api_context(), clock=lambda: now))
    for device in ("ups-a", "ups-b", "env-1"):
        api.poll(device, ts=now)
    return client.get(f"/?lang={lang}").text


def availability_card(html: str) -> tuple[str, str]:
    match = re.search(r'<div class="card" id="availability" data-verdict="([a-z_]+)">(.*?)'
                      r'</div></div>', html, re.S)
    assert match, "no availability card"
    return match.group(1), re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(2))).strip()


def test_the_status_page_says_not_enough_data(dec_api: Api) -> None:
    verdict, text = availability_card(page(dec_api, DEC_NOW, "en"))
    assert verdict == "not_enough_data"
    assert text == f"Availability this month 100.000 % target 99.982 % — {TWELVE_SECONDS_EN}"
    verdict, text = availability_card(page(dec_api, DEC_NOW, "vi"))
    assert text == f"Độ khả dụng tháng này 100,000 % mục tiêu 99,982 % — {TWELVE_SECONDS_VI}"


def test_the_status_page_verdict_when_watched(october_api: Api) -> None:
    # the last day of October, 23:00: the seeded month so far, one day of 31 - 1 h unwatched
    verdict, text = availability_card(page(october_api, datetime(2026, 10, 31, 23, tzinfo=TZ)
                                           .timestamp(), "en"))
    assert (verdict, text.endswith("— target met")) == ("met", True)
