"""The monthly report's "E-government services" section from a seeded month, checked
exactly.

tests/report/seed_services.py drives the services room's own recorder (services/
recorder.py) through October 2026 over the power month of tests/report/seed.py: two portal
outages (one of them across the day tierwatch was not running), a mail outage caused by the
rack under it, three hours at risk, an agency's site cut off for an hour, and certificates
ending before, during and after November. Every figure below follows from those by hand.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from report.html import render_html
from report.monthly import make_report, render
from report.texts import CATALOG, recommendation_text
from tests.report import seed, seed_services
from tests.report.seed import END, MONTH, NOW, START, at
from tests.report.seed_services import (
    PORTAL_500,
    PORTAL_TIMEOUT,
    R1_SINGLE,
    R7_DOWN,
    SITE_CUT,
)
from tierwatch.core.i18n import LANGUAGES, translator
from tierwatch.core.store import Store

DAY = 86400.0
OBSERVED = END - START  # 31 days
MONITORED = OBSERVED - DAY  # tierwatch was not running on 20 October

PORTAL_DOWN = 1800.0 + 3600.0  # 6 Oct 09:00-09:30; 19 Oct 23:00-24:00 (the 20th unwatched)
MAIL_DOWN = 300.0  # 3 Oct 10:00-10:05
AT_RISK = 3 * 3600.0  # 15 Oct 08:00-11:00
SITE_CUT_S = 3600.0  # 25 Oct 16:00-17:00


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    tmp = tmp_path_factory.mktemp("services-report")
    s = Store.open(f"sqlite:///{tmp / 's.sqlite'}")
    seed_services.seed_services(s)
    return s


@pytest.fixture(scope="module")
def report(store: Store, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("services-settings")
    return make_report(store, seed_services.settings(tmp, "sqlite://"), MONTH, NOW)


def test_availability_per_service_against_its_own_target(report) -> None:  # type: ignore[no-untyped-def]
    section = report.services
    assert [s.id for s in section.services] == ["portal", "mail", "video"]
    portal, mail, video = section.services
    assert portal.availability.monitored == MONITORED
    assert portal.availability.downtime == PORTAL_DOWN
    assert portal.availability.availability == pytest.approx(1 - 5400 / 2_592_000, abs=1e-15)
    assert portal.availability.budget == pytest.approx(0.001 * OBSERVED)  # 44 min 38 s
    assert (portal.target, portal.verdict, portal.outages) == (pytest.approx(0.999), "missed", 2)
    assert mail.availability.downtime == MAIL_DOWN
    assert mail.availability.availability == pytest.approx(1 - 300 / 2_592_000, abs=1e-15)
    assert mail.availability.budget == pytest.approx(0.005 * OBSERVED)  # 3 h 43 min 12 s
    assert (mail.verdict, mail.outages) == ("met", 1)
    assert (video.availability.availability, video.verdict, video.outages) == (1.0, "met", 0)


def test_outages_with_their_cause_the_check_or_the_infrastructure(report) -> None:  # type: ignore[no-untyped-def]
    rows = [(o.service, o.start, o.end, o.cause_kind, o.cause, set(o.affected), o.in_month)
            for o in report.services.outages]
    assert rows == [
        ("mail", at(3, 10), at(3, 10, 5), "infrastructure", R7_DOWN, {"ubnd-ah"}, 300.0),
        ("portal", at(6, 9), at(6, 9, 30), "check", PORTAL_500, {"ubnd-tp", "ubnd-ah"}, 1800.0),
        # across the day nobody watched: only its first hour counts
        ("portal", at(19, 23), at(21), "check", PORTAL_TIMEOUT, {"ubnd-tp", "ubnd-ah"},
         3600.0),
    ]


def test_time_at_risk(report) -> None:  # type: ignore[no-untyped-def]
    section = report.services
    assert [(r.service, r.start, r.end, r.detail) for r in section.at_risk] == [
        ("portal", at(15, 8), at(15, 11), R1_SINGLE)]
    assert {s.id: s.at_risk for s in section.services} == {
        "portal": AT_RISK, "mail": 0.0, "video": 0.0}


def test_what_each_agency_could_reach_and_for_how_long_it_could_not(report) -> None:  # type: ignore[no-untyped-def]
    agencies = {a.id: a for a in report.services.agencies}
    assert list(agencies) == ["ubnd-tp", "ubnd-ah"]
    tp = {s.service: s for s in agencies["ubnd-tp"].services}
    assert (tp["portal"].unreachable, tp["portal"].interruptions) == (PORTAL_DOWN, 2)
    assert tp["portal"].reachable_share == pytest.approx(1 - PORTAL_DOWN / MONITORED)
    assert tp["portal"].cause == f"portal down: {PORTAL_TIMEOUT}"  # the longest (1 h)
    assert (tp["video"].unreachable, tp["video"].interruptions, tp["video"].cause) == (0, 0, "")
    assert agencies["ubnd-tp"].reached_throughout == ("video",)
    ah = {s.service: s for s in agencies["ubnd-ah"].services}
    # An Hòa lost the portal with everyone, and both services when its own site was cut
    assert (ah["portal"].unreachable, ah["portal"].interruptions) == (
        PORTAL_DOWN + SITE_CUT_S, 3)
    assert (ah["mail"].unreachable, ah["mail"].interruptions) == (MAIL_DOWN + SITE_CUT_S, 2)
    assert ah["mail"].cause == f"network: {SITE_CUT}"
    assert ah["mail"].reachable_share == pytest.approx(1 - 3900 / MONITORED)
    assert agencies["ubnd-ah"].reached_throughout == ()


def test_certificates_ending_by_the_end_of_next_month(report) -> None:  # type: ignore[no-untyped-def]
    section = report.services
    assert section.certificates_until == at(1, month=12)
    rows = [(c.record.endpoint, c.record.not_after, c.days_left, c.ended)
            for c in section.certificates]
    assert rows == [
        ("mail.cantho.gov.vn:993", at(28), -4.0, True),  # ended, still presented
        ("dichvucong.cantho.gov.vn:443", at(10, 12, month=11), 9.5, False),
        ("video.cantho.gov.vn:5061", at(30, 23, month=11), pytest.approx(29 + 23 / 24), False),
    ]  # not: the portal's replaced certificate (3 Nov), SMTP's (2027), video's web (1 Dec)


def test_recommendations_name_the_service_and_the_certificates(report) -> None:  # type: ignore[no-untyped-def]
    recs = {r.key: (r.severity, dict(r.params)) for r in report.recommendations}
    assert recs["service_below_target"] == ("high", {
        "service": "Cổng dịch vụ công", "availability": pytest.approx(1 - 5400 / 2_592_000),
        "target": pytest.approx(0.999), "outages": 2, "downtime_s": PORTAL_DOWN})
    assert recs["certificates_ending"] == ("high", {
        "endpoints": ["mail.cantho.gov.vn:993", "dichvucong.cantho.gov.vn:443",
                      "video.cantho.gov.vn:5061"], "until": at(1, month=12)})
    for key in ("service_below_target", "certificates_ending"):
        assert set(CATALOG[f"rec.{key}"]) == set(LANGUAGES)
    vi = recommendation_text("service_below_target", recs["service_below_target"][1],
                             translator("vi", CATALOG))
    assert vi.startswith("Dịch vụ Cổng dịch vụ công chỉ khả dụng 99,792 % thời gian được "
                         "giám sát, dưới mục tiêu 99,900 % (2 sự cố, gián đoạn 1 giờ 30 phút)")


def test_json_carries_the_section(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(render(report, "json", "vi"))["services"]
    portal = data["services"][0]
    assert (portal["id"], portal["target"], portal["verdict"], portal["downtime_s"],
            portal["at_risk_s"]) == ("portal", 0.999, "missed", PORTAL_DOWN, AT_RISK)
    assert portal["name"] == "Cổng dịch vụ công"
    assert data["outages"][0]["cause_kind"] == "infrastructure"
    assert data["outages"][2]["start"] == "2026-10-19T23:00:00+07:00"
    assert data["agencies"][1]["services"][1] == {
        "service": "mail", "unreachable_s": 3900.0, "interruptions": 2,
        "reachable_share": round(1 - 3900 / MONITORED, 6),
        "cause": f"network: {SITE_CUT}"}
    assert data["certificates"]["ending_before"] == "2026-12-01T00:00:00+07:00"
    assert [c["days_left"] for c in data["certificates"]["list"]] == [-4.0, 9.5, 29.958333]


def _row(html: str, table: str, marker: str) -> str:
    body = re.search(rf'<table id="{table}"[^>]*>(.*?)</table>', html, re.S)
    assert body, table
    row = next(r for r in body.group(1).split("<tr") if marker in r)
    return re.sub(r"<[^>]+>", "|", row)


@pytest.mark.parametrize(("lang", "expect"), [
    ("en", {"title": "E-government services",
            "portal": ["Cổng dịch vụ công", "99.90 %", "99.792 %", "missed", "1 h 30 min",
                       "44 min 38 s", "|2|", "3 h"],
            "outage": ["Thư điện tử công vụ", "2026-10-03 10:00:00", "5 min",
                       "the infrastructure under it", R7_DOWN],
            "reach": ["Hội nghị truyền hình", "100.000 %", "reached it throughout"],
            "certs": "Certificates ending before 2026-12-01", "ended": "ended"}),
    ("vi", {"title": "Dịch vụ chính phủ điện tử",
            "portal": ["Cổng dịch vụ công", "99,90 %", "99,792 %", "không đạt",
                       "1 giờ 30 phút", "44 phút 38 giây", "|2|", "3 giờ"],
            "outage": ["Thư điện tử công vụ", "03/10/2026 10:00:00", "5 phút",
                       "hạ tầng bên dưới", R7_DOWN],
            "reach": ["Hội nghị truyền hình", "100,000 %", "truy cập được suốt tháng"],
            "certs": "Chứng thư số hết hạn trước 01/12/2026", "ended": "đã hết hạn"}),
])
def test_html_in_each_language(report, lang: str, expect: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    html = render_html(report, lang)
    assert f'<h2 id="services">{expect["title"]}</h2>' in html
    portal = _row(html, "service-availability", 'data-service="portal"')
    for word in expect["portal"]:
        assert word in portal, (word, portal)
    outage = _row(html, "service-outages", "Thư điện tử công vụ")
    for word in expect["outage"]:
        assert word in outage, (word, outage)
    reach = _row(html, "agency-reach", 'data-service="video"')
    for word in expect["reach"]:
        assert word in reach, (word, reach)
    assert expect["certs"] in html
    assert expect["ended"] in _row(html, "certificates-ending", "mail.cantho.gov.vn:993")
    assert R1_SINGLE in _row(html, "service-at-risk", R1_SINGLE)


def test_pdf_has_the_section_in_vietnamese(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed: run `make system` (poppler-utils)")
    path = tmp_path / "report.pdf"
    path.write_bytes(render(report, "pdf", "vi"))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    words = " ".join(text.split())  # table cells wrap their words across lines
    for expected in ("Dịch vụ chính phủ điện tử", "Cổng dịch vụ công", "UBND phường An Hòa",
                     "Chứng thư số hết hạn trước 01/12/2026", "truy cập được suốt tháng",
                     "hạ tầng bên dưới"):
        assert expected in words, expected


def test_a_month_still_running_shows_an_outage_still_open(tmp_path: Path) -> None:
    """Made at 19 Oct 23:30 while the portal's check has timed out since 23:00: the outage
    is open, half an hour of it so far."""
    store = Store.open(f"sqlite:///{tmp_path / 'open.sqlite'}")
    seed.seed(store)
    city = seed_services.City(store)
    city.at(at(30, 12, month=9))
    city.at(at(19, 23), check={"portal": seed_services.CheckVerdict("failing",
                                                                    PORTAL_TIMEOUT)})
    report = make_report(store, seed_services.settings(tmp_path, "sqlite://"), MONTH,
                         at(19, 23, 30))
    (only,) = report.services.outages
    assert (only.service, only.end, only.in_month, only.cause_kind) == (
        "portal", None, 1800.0, "check")
    assert report.services.service("portal").availability.downtime == 1800.0
    assert "ongoing" in _row(render_html(report, "en"), "service-outages", PORTAL_TIMEOUT)
    agencies = {a.id: {s.service: s.unreachable for s in a.services}
                for a in report.services.agencies}
    assert agencies == {"ubnd-tp": {"portal": 1800.0, "video": 0.0},
                        "ubnd-ah": {"portal": 1800.0, "mail": 0.0}}


def test_no_services_configured_no_section(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'p.sqlite'}")
    seed.seed(store)
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    assert report.services is None
    assert report.to_json()["services"] is None
    assert 'id="services"' not in render_html(report, "en")
