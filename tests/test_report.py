"""report stage: report.html (self-contained, escaped, correct numbers) and CSV exports from the fixture store."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.errors import StoreError
from commentminer.report import svg
from commentminer.report import html as report_html
from commentminer.report.html import MAX_QUOTE_CHARS, clip
from commentminer.report.stage import write_report
from fixtures.report_store import RUN_ID, THEMES, XSS_PLACE, build_report_store


@pytest.fixture
def written(store, tmp_path):
    build_report_store(store)
    config = load_config(overrides=["run.progress=false", "aggregate.min_commenters=2", "report.n_quotes=4"])
    outputs = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path / "out")
    return outputs, outputs["report"].read_text(encoding="utf-8")


def test_outputs_are_returned_and_written(written):
    outputs, html = written
    tables = ("comments", "themes", "regions", "articles", "units", "unit_themes", "sentiment", "places", "aggregates")
    assert set(outputs) == {"report", "brief", "brief_xlsx", "manifest", "run_config"} | {
        f"{name}_{fmt}" for name in tables for fmt in ("csv", "parquet")}
    assert all(path.is_file() and path.stat().st_size > 0 for path in outputs.values())
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


def test_header_shows_run_and_config(written):
    _, html = written
    assert RUN_ID in html and "2024-05-01 09:30" in html
    assert load_config().config_hash() in html


def test_themes_and_quotes_are_shown_with_attribution(written):
    _, html = written
    for _, label, *_ in THEMES:
        assert label in html
    assert "The new appointment system is brilliant." in html
    assert "Alice Smith, Leeds" in html and "Name and address withheld" in html
    assert "Dr Jane Roe, Bristol" in html and "quoted in the article" in html
    assert "appointments; booking; waiting times" in html
    assert "stale theme from an old run" not in html                    # other runs stay out
    assert "Staff were kind" in html and html.count("<blockquote") == 7  # 3 + 4 stored quotes


def test_user_content_is_escaped_everywhere(written):
    _, html = written
    # the page's one script is the template's own filter script (no user text can open another)
    assert html.lower().count("<script") == 1 and html.count("<script>\n(function () {") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>deepens</b>" not in html and "&lt;b&gt;deepens&lt;/b&gt; &amp; spreads" in html
    assert "<img" not in html                                           # from the quarantined uri


def test_no_external_resources(written):
    _, html = written
    assert "http://" not in html and "https://" not in html
    for ref in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html):
        assert ref.startswith("#") or ref.startswith("exports/"), ref
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_region_table_numbers_and_too_few(written):
    _, html = written
    section = html[html.index('id="regions"'):html.index('id="articles"')]
    rows = re.findall(r"<tr( class=\"too-few\")?>\s*(.*?)</tr>", section, flags=re.S)
    cells = {re.sub(r"<.*?>", "", cols.split("</td>")[1]).strip(): (bool(few), re.findall(r"<td[^>]*>(.*?)</td>", cols))
             for few, cols in rows if "<td" in cols}
    few, yorkshire = cells["Yorkshire and The Humber"]
    assert not few and yorkshire[:5] == ["1", "Yorkshire and The Humber", "3", "2", "+0.33"]
    assert yorkshire[6:9] == ["33%", "0%", "67%"]
    few, london = cells["London"]
    assert few and london[:5] == ["–", "London", "1", "1", "-0.50"] and london[-1] == "too few commenters"
    few, unresolved = cells["Unresolved"]
    assert not few and unresolved[2:5] == ["2", "2", "-0.10"]
    chart = section[section.index("<svg"):section.index("</svg>")]
    assert "too few commenters (&lt; 2)" in chart and "95% interval" in chart
    assert "mean comment sentiment score" in chart                       # axis label


def test_theme_cards_show_bootstrap_intervals_and_too_few_periods(written):
    _, html = written
    card = html[html.index('id="theme-0"'):html.index('id="theme-1"')]
    # Alice (u1 0.7, u2 0.0, u7 0.8) and Bob (u3 -0.6) are the clusters: resample means 0.5, 0.225 or -0.6.
    assert "mean unit sentiment +0.23 (95% interval -0.60 to +0.50)" in " ".join(card.split())
    rows = [re.sub(r"<.*?>", " ", row).split() for row in re.findall(r"<tr.*?</tr>", card, flags=re.S)]
    assert rows[1][:2] + rows[1][3:9] == ["2024-Q1", "3", "2", "2", "+0.03", "-0.60", "to", "+0.35"]
    assert rows[2][0] == "2024-Q2" and rows[2][-3:] == ["too", "few", "commenters"]   # Alice alone
    regions = html[html.index('id="regions"'):html.index('id="articles"')]
    assert 'title="95% Wilson interval 6% to 79%">33%' in regions       # Yorkshire: 1 negative of 3


def test_section_nav_reaches_every_section_and_overview_shows_data_quality(written):
    _, html = written
    nav = re.search(r'<nav aria-label="Sections">(.*?)</nav>', html, re.S).group(1)
    targets = re.findall(r'href="#([^"]+)"', nav)
    sections = re.findall(r'<section id="([^"]+)"', html)
    assert targets == sections                                       # every section, in page order, no dead link
    overview = html[html.index('id="overview"'):html.index('id="themes"')]
    assert "quarantined items" in overview and "unresolved places" in overview
    other_share = re.search(r"<b>([0-9.]+%)</b>of units in no theme", overview)
    assert other_share and other_share.group(1) in html[html.index("Other (units that fit no theme)"):]


def test_every_internal_link_has_a_target_and_quotes_link_their_article(written):
    _, html = written
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    links = re.findall(r'href="#([^"]*)"', html)
    assert links and not [link for link in links if link not in ids]
    themes = html[html.index('<section id="themes"'):html.index('<section id="theme-map"')]
    quote_links = re.findall(r'· on <a href="#(article-[^"]+)">“', themes)
    assert quote_links and all(link in ids for link in quote_links)
    table = html[html.index('<section id="articles"'):html.index('<section id="article-comments"')]
    assert len(re.findall(r'<td><a href="#article-', table)) == html.count('<details class="article-view"')


def test_long_quotes_are_cut_with_an_ellipsis(written):
    _, html = written
    long_quote = re.search(r"“(Closing the surgery[^”]*)”", html).group(1)
    assert long_quote.endswith("…") and len(long_quote) <= MAX_QUOTE_CHARS


def test_data_quality_lists_quarantined_items_and_unresolved_places(written):
    _, html = written
    section = html[html.index('id="quality"'):html.index('id="exports"')]
    assert "empty_file" in section and "binary_file" in section and "corpus/empty.txt" in section
    assert "&lt;img src=x&gt;" in section and "not_found" in section


def test_csv_exports_have_expected_rows_and_columns(written):
    outputs, _ = written
    comments = pd.read_csv(outputs["comments_csv"])
    assert len(comments) == 6
    assert {"comment_id", "article_title", "position", "name", "place", "withheld", "region", "region_method",
            "sentiment_label", "sentiment_score", "text"} <= set(comments.columns)
    assert XSS_PLACE in set(comments.place)                              # raw data in CSV, unescaped
    themes = pd.read_csv(outputs["themes_csv"])
    assert list(themes.label) == ["appointment booking", "surgery funding", "other"]
    assert themes.keywords.iloc[0] == "appointments; booking; waiting times"
    assert {"n_units", "n_comments", "n_commenters", "mean_score"} <= set(themes.columns)
    regions = pd.read_csv(outputs["regions_csv"])
    assert list(regions.region) == ["Yorkshire and The Humber", "London", "Unresolved"]
    assert {"ci_low", "ci_high", "too_few", "rank"} <= set(regions.columns)
    assert len(pd.read_csv(outputs["articles_csv"])) == 2
    assert len(pd.read_csv(outputs["units_csv"])) == 10
    unit_themes = pd.read_csv(outputs["unit_themes_csv"])
    assert len(unit_themes) == 10 and set(unit_themes.run_id) == {RUN_ID}


def test_empty_run_still_renders(store, tmp_path):
    build_report_store(store)
    store.delete("themes", "run_id = ?", [RUN_ID])
    store.delete("sentiment", "TRUE")
    outputs = write_report(StageContext.create(store, load_config(), run_id=RUN_ID), tmp_path)
    html = outputs["report"].read_text(encoding="utf-8")
    assert "No themes stored for this run." in html and "No comment sentiment stored." in html


def test_quotes_per_theme_and_table_rows_are_bounded(store, tmp_path, monkeypatch):
    build_report_store(store)
    monkeypatch.setattr(report_html, "MAX_TABLE_ROWS", 1)
    config = load_config(overrides=["report.n_quotes=1"])
    html = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path)["report"].read_text("utf-8")
    assert html.count("<blockquote") == 2                                # one per theme that has quotes
    assert "1 more articles not shown (first 1)" in html and "1 more not shown (first 1)" in html


def test_unknown_run_is_a_store_error(store, tmp_path):
    build_report_store(store)
    with pytest.raises(StoreError, match="run 'missing' not found"):
        write_report(StageContext.create(store, load_config(), run_id="missing"), tmp_path)


def test_svg_elements_escape_text_and_attributes():
    out = str(svg.el("text", "<b>&", x=1.5, fill='"red"'))
    assert out == '<text x="1.5" fill="&#34;red&#34;">&lt;b&gt;&amp;</text>'
    chart = str(svg.region_chart([{"region": "<script>", "n_comments": 1, "n_commenters": 1, "mean_score": 0.2,
                                   "ci_low": None, "ci_high": None, "too_few": True}], min_commenters=5))
    assert "<script>" not in chart and "&lt;script&gt;" in chart


def test_percentages_never_round_a_non_zero_share_to_zero():
    values = (0, 0.004, 0.005, 0.333, 0.996, 1, None)
    assert [report_html.fmt_pct(v) for v in values] == ["0%", "<1%", "<1%", "33%", ">99%", "100%", "–"]


def test_clip_cuts_at_a_word_boundary():
    assert clip("short", 10) == "short"
    cut = clip("alpha beta gamma delta epsilon", 15)
    assert cut.endswith("…") and len(cut) <= 15 and cut.startswith("alpha beta")
