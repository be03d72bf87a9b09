"""The monthly Tier III readiness report: figures (data.py, pure), HTML (html.py, with
charts.py's inline SVG and i18n.py's words) and PDF (pdf.py, WeasyPrint)."""

from report.data import (
    MonthlyReport,
    ReportInputs,
    build_report,
    month_period,
    parse_month,
    previous_month,
)

__all__ = ["MonthlyReport", "ReportInputs", "build_report", "month_period", "parse_month",
           "previous_month"]
