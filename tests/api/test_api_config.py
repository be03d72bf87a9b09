"""The `api:` and `reports:` sections: defaults, and errors that name their key."""

from __future__ import annotations

import pytest

from tierwatch.config import ConfigError, parse
from tierwatch.core.i18n import translator

BASE = """
site: {name: X}
credentials: {c: {version: 2c, community: "${TW_COMMUNITY}"}}
devices:
  - {id: env-1, address: 127.0.0.1, credentials: c, profile: geist-env}
"""


def test_defaults_protect_reads_and_limit_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_COMMUNITY", "x")
    config = parse(BASE).config
    assert config.api.read_auth == "token" and config.api.cors_origins == ()
    assert config.api.max_body == 1_000_000
    assert config.reports.schedule and config.reports.languages == ("vi", "en")
    assert config.reports.formats == ("pdf", "html", "json")


@pytest.mark.parametrize(("section", "key", "message"), [
    ("api: {read_auth: maybe}", "api.read_auth", "'token' or 'open'"),
    ("api: {max_body: -5}", "api.max_body", "must be more than 0"),
    ("api: {max_body: lots}", "api.max_body", "is not a size"),
    ("api: {cors_origins: ['*.example.vn']}", "api.cors_origins", "is not an origin"),
    ("api: {refresh: 0.5s}", "api.refresh", "at least 1s"),
    ("api: {token: abc}", "api.token", "unknown key"),
    ("reports: {languages: [fr]}", "reports.languages[0]", "'vi' or 'en'"),
    ("reports: {formats: []}", "reports.formats", "at least 1"),
    ("reports: {environment_devices: [env-9]}", "reports.environment_devices[0]",
     "unknown device 'env-9'"),
])
def test_bad_values_name_their_key(monkeypatch: pytest.MonkeyPatch, section: str, key: str,
                                   message: str) -> None:
    monkeypatch.setenv("TW_COMMUNITY", "x")
    with pytest.raises(ConfigError) as exc:
        parse(BASE + section + "\n")
    (line,) = [p for p in exc.value.problems if f": {key}: " in p]
    assert message in line


@pytest.mark.parametrize(("lang", "seconds", "text"), [
    ("en", 0, "0 s"), ("en", 45, "45 s"), ("en", 420, "7 min"), ("en", 482.1, "8 min 2 s"),
    ("en", 10800, "3 h"), ("en", 2581200, "29 d 21 h"), ("vi", 86400, "1 ngày"),
    ("vi", 3 * 3600 + 60, "3 giờ 1 phút"), ("en", None, "–"),
])
def test_durations(lang: str, seconds: float | None, text: str) -> None:
    assert translator(lang, {}).duration(seconds) == text


def test_numbers_dates_and_percent_follow_the_language() -> None:
    vi, en = translator("vi", {}), translator("en", {})
    assert (vi.percent(0.99982), en.percent(0.99982)) == ("99,982 %", "99.982 %")
    assert (vi.number(1234.5, 1), en.number(1234.5, 1)) == ("1.234,5", "1,234.5")
    ts = 1_790_996_400.0  # 2026-10-03 10:00 at the site (UTC+7)
    assert (vi.time(ts), en.time(ts)) == ("03/10/2026 10:00", "2026-10-03 10:00")
    assert (vi.month("2026-10"), en.month("2026-10")) == ("Tháng 10 năm 2026", "October 2026")
    assert (vi.join(["R7", "R8"]), en.join(["A", "B", "C"])) == ("R7 và R8", "A, B and C")
