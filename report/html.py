"""The report as one self-contained HTML page (styles and charts inline), in vi or en.

The same page is the HTML download and the PDF's source (report/pdf.py): print styles
give it A4 pages. Nothing is fetched: fonts are the system's (DejaVu covers Vietnamese).
"""

from __future__ import annotations

import calendar
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from report.charts import availability_per_day, pue_per_day, redundancy_timeline
from report.data import MonthlyReport, parse_month
from report.texts import CATALOG, recommendation_text
from tierwatch.core.i18n import Translator, translator

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
        ["html", "j2"]), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def report_translator(lang: str, timezone: str) -> Translator:
    return translator(lang, CATALOG, timezone)


def render_html(report: MonthlyReport, lang: str) -> str:
    tr = report_translator(lang, report.timezone)
    year, month = parse_month(report.month)
    days_in_month = calendar.monthrange(year, month)[1]
    charts = {
        "days": Markup(availability_per_day(report.days, days_in_month, report.target, tr)),
        "timeline": Markup(redundancy_timeline(report.subsystems, report.period, tr)),
        "pue": Markup(pue_per_day([(d["day"], d["pue"]) for d in
                                   (report.power or {}).get("pue", {}).get("daily", [])], tr)),
        "diagram": Markup(report.diagram.get(tr.lang, "")),
    }
    recommendations = [(rec.severity, recommendation_text(rec.key, rec.params, tr))
                       for rec in report.recommendations]
    template = environment().get_template("report.html.j2")
    return template.render(r=report, t=tr, lang=tr.lang, charts=charts,
                           recommendations=recommendations,
                           stop=min(report.period[1], report.generated_at))
