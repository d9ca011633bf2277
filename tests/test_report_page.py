"""report.html as a reader meets it, in headless Chromium (skips without it, see tests/fixtures/browser.py):
findings first, a page that stays short with cards and articles collapsed, no sideways scrolling at phone width
with readable chart text, and a comment filter that works on text without running it."""

from __future__ import annotations

import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.report.stage import write_report
from commentminer.store import Store
from fixtures.benchmarks import load_benchmark
from fixtures.browser import browser_page, open_report, require_browser
from fixtures.report_store import RUN_ID, add_hostile_content, build_report_store

PHONE, DESKTOP = 390, 1400
MAX_COLLAPSED_PX_12K = 15_000


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    require_browser()
    out = tmp_path_factory.mktemp("page_report")
    with Store(":memory:") as store:
        add_hostile_content(build_report_store(store))
        config = load_config(overrides=["run.progress=false", "aggregate.min_commenters=2"])
        return write_report(StageContext.create(store, config, run_id=RUN_ID), out)["report"]


@pytest.fixture(scope="module")
def large_report(tmp_path_factory):
    """The benchmark's synthetic corpus at 12,000 comments (240 articles, 15 themes)."""
    require_browser()
    bench = load_benchmark("report")
    out = tmp_path_factory.mktemp("large_report")
    with Store(out / "large.duckdb") as store:
        bench.build_store(store, 12_000)
        config = load_config(overrides=[f"sentiment.backend={bench.BACKEND}", "run.progress=false"])
        return write_report(StageContext.create(store, config, run_id=bench.RUN_ID), out / "report")["report"]


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_findings_come_first_and_the_page_fits_the_screen(hostile_report, tmp_path, width):
    page = open_report(hostile_report, tmp_path / f"report-{width}.png", width=width)
    assert page.console_errors == [] and page.page_errors == []
    assert page.text.index("Key findings") < page.text.index("Corpus overview") < page.text.rindex("About this run")
    assert "appointment booking" in page.text.split("Corpus overview")[0]      # a finding names the theme
    for layout in (page.collapsed, page.expanded):
        assert layout["scroll_width"] <= width, layout                          # no sideways scrolling
        assert layout["min_chart_font_px"] is None or layout["min_chart_font_px"] >= 10, layout
    assert page.collapsed["height"] < page.expanded["height"]


def test_twelve_thousand_comments_fit_in_a_short_collapsed_page(large_report, tmp_path):
    page = open_report(large_report, tmp_path / "report-12k.png", width=DESKTOP)
    assert page.console_errors == [] and page.page_errors == []
    assert page.collapsed["height"] < MAX_COLLAPSED_PX_12K, page.collapsed
    phone = open_report(large_report, tmp_path / "report-12k-phone.png", width=PHONE)
    assert phone.collapsed["scroll_width"] <= PHONE and phone.collapsed["min_chart_font_px"] >= 10


def test_comment_filter_and_article_pages(large_report):
    with browser_page(large_report, DESKTOP) as page:
        visible = "() => [...document.querySelectorAll('details.article-view')].filter(a => !a.hidden).length"
        assert page.evaluate(visible) == 20                                  # the first page of articles
        page.click("#f-more")
        assert page.evaluate(visible) == 40
        page.select_option("#f-sentiment", "negative")
        page.select_option("#f-region", "London")
        rows = page.evaluate("""() => [...document.querySelectorAll('tr.cmt')].filter(r => !r.hidden)
                                .map(r => [r.dataset.region, r.dataset.sentiment])""")
        assert rows and all(row == ["London", "negative"] for row in rows)
        assert "matching comments" in page.text_content("#f-status")
        page.fill("#f-title", "no article has this title")
        assert page.evaluate(visible) == 0
        assert page.cm_errors == []


def test_filter_text_is_never_run(hostile_report):
    with browser_page(hostile_report, DESKTOP) as page:
        page.fill("#f-text", "<img src=x onerror=window.__pwned=1>")
        page.fill("#f-title", "<script>window.__pwned=1</script>")
        page.wait_for_timeout(100)
        assert page.evaluate("() => typeof window.__pwned") == "undefined" and page.cm_errors == []
        page.goto(page.url.split("#")[0] + "#theme-0")
        assert page.evaluate("() => document.getElementById('theme-0').open") is True   # links open their card


def test_tapping_a_chart_mark_shows_its_label(large_report):
    with browser_page(large_report, PHONE) as page:
        point = page.locator("#theme-map svg.chart circle.point").first
        expected = point.locator("title").text_content()
        point.scroll_into_view_if_needed()
        point.click(force=True)
        assert page.is_visible("#tip") and page.text_content("#tip") == expected
        page.click("h1")
        assert not page.is_visible("#tip")
        assert page.cm_errors == []
