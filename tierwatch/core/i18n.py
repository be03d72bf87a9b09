"""Words and numbers for people: English and Vietnamese, for the status page and the report.

A catalog maps a key to its text in each language; `Translator(lang)` looks keys up and
fills `{placeholders}`. Formatting follows each language's habits: Vietnamese writes a
decimal comma and day/month/year ("99,982 %", "03/10/2026 14:05"), English a decimal
point and ISO dates. Every person-facing time is shown in the site's time zone.

A key missing from the catalog is a bug, not something to hide: `Translator.text` raises
KeyError (a test walks the templates' keys against the catalog).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES: tuple[str, ...] = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

Catalog = Mapping[str, Mapping[str, str]]


def pick_language(query: str | None, accept_language: str | None,
                  default: str = DEFAULT_LANGUAGE) -> str:
    """`?lang=` wins; else the first supported language in Accept-Language (by q);
    else `default`."""
    if query:
        code = query.strip().lower()[:2]
        if code in LANGUAGES:
            return code
    if accept_language:
        ranked: list[tuple[float, int, str]] = []
        for i, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            for param in params.split(";"):
                name, _, value = param.strip().partition("=")
                if name == "q":
                    try:
                        q = float(value)
                    except ValueError:
                        q = 0.0
            code = tag.strip().lower()[:2]
            if code in LANGUAGES and q > 0:
                ranked.append((-q, i, code))
        if ranked:
            return min(ranked)[2]
    return default if default in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    lang: str
    catalog: Catalog
    timezone: str = "Asia/Ho_Chi_Minh"

    def text(self, key: str, **values: object) -> str:
        entry = self.catalog[key]
        template = entry.get(self.lang) or entry["en"]
        return template.format(**values) if values else template

    __call__ = text

    def maybe(self, key: str, fallback: str) -> str:
        """The key's text when the catalog has it, else `fallback` as it is."""
        return self.text(key) if key in self.catalog else fallback

    # ------------------------------------------------------------------ numbers

    @property
    def decimal_comma(self) -> bool:
        return self.lang == "vi"

    def number(self, value: float, digits: int = 0) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        text = f"{value:,.{digits}f}"
        if self.decimal_comma:  # 1,234.5 -> 1.234,5
            text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
        return text

    def percent(self, ratio: float | None, digits: int = 3) -> str:
        """0.99982 -> '99.982 %' / '99,982 %'; None -> '–'."""
        if ratio is None:
            return "–"
        return f"{self.number(ratio * 100.0, digits)} %"

    def duration(self, seconds: float | None) -> str:
        """A length of time in the two largest units that matter: '3 h 12 min', '45 s'."""
        if seconds is None:
            return "–"
        units = _UNITS[self.lang if self.lang in _UNITS else "en"]
        total = round(max(0.0, seconds))
        if total == 0:
            return f"0 {units[3]}"
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        parts = [(days, units[0]), (hours, units[1]), (minutes, units[2]), (secs, units[3])]
        first = next(i for i, (n, _) in enumerate(parts) if n)
        shown = [f"{n} {unit}" for n, unit in parts[first:first + 2] if n]
        return " ".join(shown)

    # ------------------------------------------------------------------ times

    def local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, ZoneInfo(self.timezone))

    def time(self, ts: float | None, seconds: bool = False) -> str:
        if ts is None:
            return "–"
        moment = self.local(ts)
        clock = "%H:%M:%S" if seconds else "%H:%M"
        pattern = f"%d/%m/%Y {clock}" if self.lang == "vi" else f"%Y-%m-%d {clock}"
        return moment.strftime(pattern)

    def date(self, ts: float) -> str:
        return self.local(ts).strftime("%d/%m/%Y" if self.lang == "vi" else "%Y-%m-%d")

    def month(self, month: str) -> str:
        """'2026-10' -> 'October 2026' / 'Tháng 10 năm 2026'."""
        year, number = month.split("-")
        if self.lang == "vi":
            return f"Tháng {int(number)} năm {year}"
        return f"{_MONTHS_EN[int(number) - 1]} {year}"

    def join(self, items: Iterable[str]) -> str:
        """'R7', 'R8' -> 'R7 and R8'; three or more with commas."""
        words = list(items)
        conj = " và " if self.lang == "vi" else " and "
        if len(words) <= 2:
            return conj.join(words)
        return ", ".join(words[:-1]) + conj + words[-1]

    def tier(self, value: int | None) -> str:
        if value is None:
            return "–"
        return _ROMAN.get(value, str(value))


_UNITS = {"en": ("d", "h", "min", "s"), "vi": ("ngày", "giờ", "phút", "giây")}
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}


def translator(lang: str, catalog: Catalog, timezone: str = "Asia/Ho_Chi_Minh") -> Translator:
    return Translator(lang if lang in LANGUAGES else DEFAULT_LANGUAGE, catalog, timezone)
