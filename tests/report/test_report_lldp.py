"""The monthly report's LLDP section from a seeded month, durations worked out by hand.

October 2026 of tests/report/seed.py (one day, 20 October, unmonitored), plus a network of
two cores each feeding the Ninh Kiều district over its port Gi1/0/15. The verdicts are
written as the network room writes them (`record_lldp`, the whole picture at each change);
the report reads them through the store, never from the room.

What happened (local times):

* CORE-1 -> DIST: missing 4 Oct 09:00-09:30 (1,800 s), then moved to Gi1/0/16 until 11:00
  (5,400 s); an access point nobody declared ("intruder-ap") on Gi1/0/15 from 09:00 to 11:00.
* CORE-2 -> DIST: missing from 19 Oct 22:00 to 21 Oct 02:00: 2 h before the unmonitored
  day and 2 h after it count, 14,400 s.
* On core-2's Gi1/0/40, which no link declares, a laptop with a hostile name: 12 Oct
  08:00-08:45 and 13 Oct 10:00-10:15, 3,600 s in all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from report.html import report_translator
from report.monthly import make_report, render
from report.texts import recommendation_text
from tests.report import seed
from tests.report.seed import MONTH, NOW, at
from tierwatch.config import Config
from tierwatch.core.store import Store
from tierwatch.core.store.nethealth import LinkVerdict, Sighting, record_lldp
from tierwatch.service import report_settings

DAY = 86400.0
MONITORED = 30 * DAY  # 31 days of October less the unmonitored 20th
LAPTOP = "<b>laptop</b>"

NETWORK: dict[str, Any] = {
    "nodes": [
        {"id": "C1", "kind": "carrier", "capacity": 1000},
        {"id": "C2", "kind": "carrier", "capacity": 1000},
        {"id": "CORE-1", "kind": "core", "fed_from": ["C1", "C2"], "device": "core-1"},
        {"id": "CORE-2", "kind": "core", "fed_from": ["C1", "C2"], "device": "core-2"},
        {"id": "DIST", "kind": "district", "demand": 100, "name": "Nút quận Ninh Kiều",
         "fed_from": [{"id": "CORE-1", "port": "Gi1/0/15", "neighbour": "nk-dist"},
                      {"id": "CORE-2", "port": "Gi1/0/15", "neighbour": "nk-dist"}]},
    ],
}


def _config(tmp: Path) -> Config:
    base = seed.config(tmp, "sqlite://").model_dump(mode="json")
    base["devices"] += [
        {"id": "core-1", "address": "127.0.0.1:4", "credentials": "c", "profile": ["lldp"]},
        {"id": "core-2", "address": "127.0.0.1:5", "credentials": "c", "profile": ["lldp"]}]
    base["topology"]["network"] = NETWORK
    base["credentials"] = {"c": {"version": "2c", "community": "public"}}
    return Config.model_validate(base)


def _link(feeder: str, verdict: str, seen_on: tuple[str, ...] = ()) -> LinkVerdict:
    return LinkVerdict("network", feeder, "DIST", feeder.lower(), "Gi1/0/15", verdict,
                       "nk-dist", seen_on)


INTRUDER = Sighting("core-1", "Gi1/0/15", "02:00:00:00:00:01", "intruder-ap", "eth0", None,
                    "Gi1/0/15")
STRANGER = Sighting("core-2", "Gi1/0/40", "02:00:00:00:00:02", LAPTOP, "wlan0")


def _seed_lldp(store: Store) -> None:
    def picture(ts: float, one: LinkVerdict, two: LinkVerdict,
                seen: tuple[Sighting, ...] = ()) -> None:
        record_lldp(store, "main", [one, two], list(seen), ts)

    ok1, ok2 = _link("CORE-1", "ok"), _link("CORE-2", "ok")
    picture(at(30, 12, month=9), ok1, ok2)
    picture(at(4, 9), _link("CORE-1", "missing"), ok2, (INTRUDER,))
    picture(at(4, 9, 30), _link("CORE-1", "moved", ("Gi1/0/16",)), ok2, (INTRUDER,))
    picture(at(4, 11), ok1, ok2)
    picture(at(12, 8), ok1, ok2, (STRANGER,))
    picture(at(12, 8, 45), ok1, ok2)
    picture(at(13, 10), ok1, ok2, (STRANGER,))
    picture(at(13, 10, 15), ok1, ok2)
    picture(at(19, 22), ok1, _link("CORE-2", "missing"))
    picture(at(21, 2), ok1, ok2)


@pytest.fixture
def report(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite'}")
    seed.seed(store)
    _seed_lldp(store)
    return make_report(store, report_settings(_config(tmp_path)), MONTH, NOW)


def test_each_link_s_time_missing_moved_and_ok(report) -> None:  # type: ignore[no-untyped-def]
    one, two = report.lldp
    assert (one.feeder, one.node, one.device, one.port, one.expected) == (
        "CORE-1", "DIST", "core-1", "Gi1/0/15", "nk-dist")
    assert (one.missing, one.moved, one.moved_to, one.episodes) == (
        1800.0, 5400.0, ("Gi1/0/16",), 2)
    assert (one.ok, one.unknown) == (MONITORED - 7200.0, 0.0)
    assert [(u.name, u.seen) for u in one.unexpected] == [("intruder-ap", 7200.0)]
    # missing over the unmonitored day: only the 2 h before it and the 2 h after it count
    assert (two.missing, two.moved, two.episodes, two.unexpected) == (14400.0, 0.0, 1, ())
    assert (two.ok, two.unknown) == (MONITORED - 14400.0, 0.0)


def test_unexpected_neighbours_elsewhere(report) -> None:  # type: ignore[no-untyped-def]
    (laptop,) = report.lldp_elsewhere
    assert (laptop.device, laptop.port, laptop.name, laptop.neighbour_port) == (
        "core-2", "Gi1/0/40", LAPTOP, "wlan0")
    assert (laptop.seen, laptop.first, laptop.last) == (3600.0, at(12, 8), at(13, 10, 15))


def test_recommendations_name_the_drifting_links(report) -> None:  # type: ignore[no-untyped-def]
    recs = {r.key: r for r in report.recommendations}
    assert recs["lldp_drift"].params == {
        "links": ["CORE-1 → DIST (core-1 Gi1/0/15)", "CORE-2 → DIST (core-2 Gi1/0/15)"],
        "duration_s": 1800.0 + 5400.0 + 14400.0}
    assert recs["lldp_unexpected"].params == {"count": 2}
    text = recommendation_text("lldp_drift", recs["lldp_drift"].params,
                               report_translator("vi", report.timezone))
    assert "LLDP không thấy CORE-1 → DIST (core-1 Gi1/0/15) và CORE-2 → DIST" in text
    assert "tổng cộng 6 giờ" in text


def test_json_carries_the_section(report) -> None:  # type: ignore[no-untyped-def]
    body = json.loads(render(report, "json", "en"))
    one, two = body["lldp"]["links"]
    assert (one["from"], one["missing_s"], one["moved_s"], one["moved_to"]) == (
        "CORE-1", 1800.0, 5400.0, ["Gi1/0/16"])
    assert one["unexpected"][0]["neighbour"] == "intruder-ap"
    assert one["unexpected"][0]["seen_s"] == 7200.0
    assert (two["from"], two["missing_s"], two["episodes"]) == ("CORE-2", 14400.0, 1)
    assert body["lldp"]["elsewhere"][0]["neighbour"] == LAPTOP
    assert body["lldp"]["elsewhere"][0]["first"] == "2026-10-12T08:00:00+07:00"


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Declared links checked by LLDP", "30 min", "1 h 30 min", "seen on Gi1/0/16",
            "intruder-ap", "4 h", "Unexpected neighbours on ports no link declares"]),
    ("vi", ["Kiểm tra các tuyến khai báo bằng LLDP", "30 phút", "1 giờ 30 phút",
            "thấy ở Gi1/0/16", "4 giờ", "Láng giềng không khai báo trên các cổng"]),
])
def test_html_in_both_languages(report, lang: str, words: list[str]  # type: ignore[no-untyped-def]
                                ) -> None:
    html = render(report, "html", lang).decode()
    section = html.split('<table id="lldp">', 1)[1].split("<h2>", 1)[0]
    for word in words:
        assert word in html
    assert "CORE-1 → DIST" in section
    # the neighbour's name is the network's words: escaped, never markup
    assert "&lt;b&gt;laptop&lt;/b&gt;" in section and LAPTOP not in html
