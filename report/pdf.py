"""The report as PDF: WeasyPrint renders the HTML page (tierwatch[report] installs it)."""

from __future__ import annotations

import logging


class PdfUnavailable(RuntimeError):
    """WeasyPrint is not installed."""


def render_pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML
    except ImportError as exc:  # an optional extra
        raise PdfUnavailable("PDF reports need WeasyPrint: pip install 'tierwatch[report]'"
                             ) from exc
    # WeasyPrint and fontTools log every font subset at INFO/WARNING; they are not news
    for noisy in ("weasyprint", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
