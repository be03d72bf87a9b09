"""The report rendered: HTML in both languages, inline SVG charts, and a PDF that shows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from report.data import EXPOSURE_KINDS
from report.html import TEMPLATES, render_html
from report.monthly import make_report, render
from report.texts import CATALOG, recommendation_text
from tests.report import seed
from tests.report.seed import MONTH, NOW, at
from tier.topology import SUBSYSTEMS
from tierwatch.core.i18n import LANGUAGES, translator
from tierwatch.core.store import Store


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("render")
    store = Store.open(f"sqlite:///{tmp / 's.sqlite'}")
    seed.seed(store)
    return make_report(store, seed.settings(tmp, "sqlite://"), MONTH, NOW)


def test_every_key_the_template_uses_is_in_both_languages() -> None:
    text = (TEMPLATES / "report.html.j2").read_text(encoding="utf-8")
    static = set(re.findall(r'\bt\("([a-z_A-Z.]*[a-z_A-Z])"', text))
    dynamic = {"Subsystem." + s for s in SUBSYSTEMS} | {"subsystem." + s for s in SUBSYSTEMS}
    dynamic |= {f"severity.{s}" for s in ("high", "medium", "low")}
    dynamic |= {f"exposure.{k}" for k in EXPOSURE_KINDS}
    assert len(static) > 40
    for key in static | dynamic:
        assert key in CATALOG, key
        assert set(CATALOG[key]) == set(LANGUAGES), key


def test_every_recommendation_has_its_sentence() -> None:
    source = Path("report/data.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'Recommendation\("([a-z_]+)"', source))
    assert len(keys) >= 10
    for key in keys:
        names = [key] if key != "single_corded" else ["single_corded.one", "single_corded.many"]
        for name in names:
            assert set(CATALOG[f"rec.{name}"]) == set(LANGUAGES), name


@pytest.mark.parametrize(("lang", "words"), [
    ("en", ["Monthly Tier III readiness report", "October 2026", "Rack R7 is single-corded",
            "99.984 %", "1 d unmonitored", "ups-b ran on bypass for 3 h"]),
    ("vi", ["Báo cáo mức sẵn sàng Tier III hằng tháng", "Tháng 10 năm 2026",
            "Tủ rack R7 chỉ có một đường cấp nguồn", "99,984 %", "1 ngày không được giám sát",
            "ups-b đã chạy qua bypass trong 3 giờ"]),
])
def test_html_in_each_language(report, lang: str, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    html = render_html(report, lang)
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html, word
    assert html.count("<svg") == 2  # availability per day, redundancy timeline
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched


def test_no_data_is_said_not_hidden(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'e.sqlite'}")
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    html = render_html(report, "en")
    assert 'id="no-data"' in html and "it is not 100 %" in html
    assert "100.000 %" not in html


def test_text_from_the_store_is_escaped(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.sqlite'}")
    seed.seed(store)
    store.open_outage("load", "R7", at(4), "<script>alert(1)</script>", subsystem="power")
    store.close_outage("load", "R7", at(4, 0, 1))
    report = make_report(store, seed.settings(tmp_path, "sqlite://"), MONTH, NOW)
    html = render_html(report, "en")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_recommendation_sentences_in_vietnamese() -> None:
    tr = translator("vi", CATALOG)
    text = recommendation_text("single_corded", {"loads": ["R7", "R8"]}, tr)
    assert text.startswith("Các tủ rack R7 và R8 chỉ có một đường cấp nguồn")
    en = recommendation_text("single_corded", {"loads": ["R7", "R8"]}, translator("en", CATALOG))
    assert en == ("Racks R7 and R8 are single-corded: add a second cord or a point-of-use "
                  "transfer switch.")


def test_json_is_utf8_with_diacritics(report) -> None:  # type: ignore[no-untyped-def]
    body = render(report, "json", "vi").decode("utf-8")
    assert '"site": "Trung tâm Dữ liệu Cần Thơ"' in body


def test_pdf_renders_and_its_first_page_is_not_blank(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm is not installed: run `make system` (poppler-utils)")
    pdf = render(report, "pdf", "vi")
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "50", "-f", "1", "-l", "1", "-png", str(path),
                    str(tmp_path / "page")], check=True, timeout=60)
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    histogram = image.histogram()  # 256 grey levels
    dark = sum(histogram[:200])
    assert dark > 0.01 * image.width * image.height, "the first page is (nearly) blank"
    # the text layer holds the Vietnamese words with their diacritics
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Báo cáo mức sẵn sàng Tier III hằng tháng" in text
    assert "Trung tâm Dữ liệu Cần Thơ" in text
