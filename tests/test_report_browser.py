"""report.html in a real browser: headless Chromium (Debian's package, via Playwright) opens the report from disk.

The report is built by the real report stage from the fixture store plus hostile user content (a comment
`<script>`, an `onerror=` name, an attribute break-out place, a `</title>` article title, hostile theme name,
summary, keyword and speaker). Chromium must show each of them as text, run none of them, log no console or page
error, load nothing but the file itself, and draw every chart. The screenshot goes to pytest's tmp dir (and to
$COMMENTMINER_SCREENSHOT_DIR when set). Skips with an install hint when Chromium or playwright is missing.
"""

from __future__ import annotations

import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.report.stage import write_report
from commentminer.store import Store
from fixtures.browser import open_report, require_browser
from fixtures.report_store import HOSTILE_STRINGS, RUN_ID, XSS_PLACE, add_hostile_content, build_report_store


@pytest.fixture(scope="module")
def browsed(tmp_path_factory):
    require_browser()
    out = tmp_path_factory.mktemp("hostile_report")
    with Store(":memory:") as store:
        add_hostile_content(build_report_store(store))
        config = load_config(overrides=["run.progress=false", "aggregate.min_commenters=2", "report.n_quotes=4"])
        report = write_report(StageContext.create(store, config, run_id=RUN_ID), out)["report"]
    html = report.read_text(encoding="utf-8")
    return open_report(report, out / "report-hostile.png"), html


def test_no_hostile_content_runs(browsed):
    page, _ = browsed
    assert page.pwned == "undefined"
    # one script: the report's own filter script (inline, no src); nothing from user content
    assert page.active == {"scripts": 1, "script_sources": [], "handlers": [], "js_urls": [], "embeds": 0}


def test_hostile_content_is_shown_as_text(browsed):
    page, _ = browsed
    for hostile in HOSTILE_STRINGS + (XSS_PLACE,):
        assert hostile in page.text, hostile
    assert page.title.startswith("commentminer report · run_test")   # the </title> in an article title did not end it


def test_no_console_or_page_errors_and_nothing_else_loaded(browsed):
    page, _ = browsed
    assert page.console_errors == [] and page.page_errors == []
    assert page.requests == [page.url]   # self-contained: no image, font, script or stylesheet request


def test_every_chart_is_rendered(browsed):
    page, html = browsed
    titles = [chart["title"] for chart in page.charts]
    assert len(page.charts) == html.count('class="chart"') >= 3
    assert "Sentiment of units by theme" in titles and "Mean comment sentiment by region" in titles
    assert sum(t.startswith("Sentiment of ") and " units in " in t for t in titles) == 4   # one bar per theme card
    for chart in page.charts:
        assert chart["role"] == "img" and chart["width"] > 0 and chart["height"] > 0, chart
        assert chart["shapes"] > 0 and chart["drawn"] == chart["shapes"], chart


def test_a_screenshot_is_saved(browsed):
    page, _ = browsed
    assert page.screenshot is not None and page.screenshot.stat().st_size > 10_000
    assert page.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_a_browser_the_test_skips_saying_what_to_install(monkeypatch):
    from fixtures import browser

    monkeypatch.setattr(browser, "chromium_path", lambda: None)
    monkeypatch.delenv("COMMENTMINER_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium"):
        browser.require_browser()
    monkeypatch.setenv("COMMENTMINER_REQUIRE_BROWSER", "1")       # .ci/run sets it: a missing browser fails CI
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install chromium"):
        browser.require_browser()
