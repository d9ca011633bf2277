"""report: the per-article view (articles with their comments) and the UK region tile map."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pandas as pd
import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.report import articles as report_articles
from commentminer.report.articles import safe_url
from commentminer.report.charts_regions import TILE_GRID, region_tile_map
from commentminer.report.stage import write_report
from commentminer.schema import TABLES, UK_REGIONS
from fixtures.report_store import RUN_ID, XSS_PLACE, build_report_store

HOSTILE_URL = "javascript:alert(1)"
HOSTILE_TITLE = '<img src=x onerror="alert(1)">Closures'


def _add_linked_articles(store):
    rows = [
        {"article_id": "a8", "source_id": "s_a8", "uri": "corpus/a8.txt", "url": "https://news.example/a8?x=1&y=2",
         "title": "Linked article", "published": date(2024, 5, 1), "byline": "By Jo Reporter", "body": "B."},
        {"article_id": "a9", "source_id": "s_a9", "uri": "corpus/a9.txt", "url": HOSTILE_URL,
         "title": HOSTILE_TITLE, "published": date(2024, 5, 2), "byline": None, "body": "B."},
    ]
    store.upsert("articles", pd.DataFrame(rows, columns=TABLES["articles"].column_names))


def _write(store, tmp_path, *overrides):
    config = load_config(overrides=["run.progress=false", "aggregate.min_commenters=2", *overrides])
    outputs = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path / "out")
    return outputs["report"].read_text(encoding="utf-8")


@pytest.fixture
def html(store, tmp_path):
    build_report_store(store)
    _add_linked_articles(store)
    return _write(store, tmp_path)


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}">')
    return html[start: html.index("</section>", start)]


def _article_blocks(section: str) -> list[str]:
    return re.findall(r'<details class="article-view".*?</details>', section, re.S)


def test_every_article_is_listed_with_its_comments_region_and_themes(html):
    section = _section(html, "article-comments")
    blocks = _article_blocks(section)
    assert len(blocks) == 4
    a1 = next(b for b in blocks if "Surgery closures: what readers say" in b)
    a2 = next(b for b in blocks if "Funding row" in b)
    assert a1.count('<tr class="cmt"') == 3 and a2.count('<tr class="cmt"') == 3     # one row per comment
    assert "Alice Smith" in a1 and "Bob Jones" in a1 and "Name and address withheld" in a1
    assert "Yorkshire and The Humber" in a1 and "Unresolved" in a1
    assert "London" in a2 and "Dan Brown" in a2 and "Hackney" in a2
    assert "positive (+0.60)" in a1 and "negative (-0.50)" in a2
    # c1's sentences are in theme 0 (and c2's in 0 and the "other" theme), linked to the cards that exist
    row_c1 = next(r for r in a1.split("<tr") if "Alice Smith" in r)
    assert '<a href="#theme-0">appointment booking</a>' in row_c1
    assert 'id="theme-0"' in html and 'id="theme--1"' in html
    row_c2 = next(r for r in a1.split("<tr") if "Bob Jones" in r)
    assert 'href="#theme-0"' in row_c2 and 'href="#theme--1"' in row_c2
    # the long c6 text is cut with a note
    assert "(shortened from" in a2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in a2                   # the hostile place, escaped
    assert "Linked article" in section and "By Jo Reporter" in section


def test_article_links_only_for_http_urls_and_hostile_text_is_escaped(html):
    section = _section(html, "article-comments")
    assert '<a href="https://news.example/a8?x=1&amp;y=2" rel="noopener noreferrer">Linked article</a>' in section
    assert "javascript:" not in html                                         # never a link, never shown
    assert "link not shown (not an http(s) URL)" in section
    assert "<img" not in html and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Closures" in section
    hrefs = re.findall(r'href="([^"]*)"', section)
    assert all(h.startswith(("https://", "http://", "#theme-")) for h in hrefs), hrefs


@pytest.mark.parametrize("value, expected", [
    ("https://example.org/a", "https://example.org/a"), (" HTTP://example.org ", "HTTP://example.org"),
    ("javascript:alert(1)", None), ("JavaScript:alert(1)", None), (" javascript:x", None),
    ("data:text/html,<b>", None), ("/relative", None), ("https://x.org/a b", None),
    ('https://x.org/"onmouseover=', None), (None, None), (3, None),
])
def test_safe_url(value, expected):
    assert safe_url(value) == expected


def test_rows_are_bounded_with_a_note(store, tmp_path, monkeypatch):
    build_report_store(store)
    _add_linked_articles(store)
    monkeypatch.setattr(report_articles, "MAX_COMMENTS_PER_ARTICLE", 2)
    monkeypatch.setattr(report_articles, "MAX_ARTICLES", 3)
    monkeypatch.setattr(report_articles, "MAX_COMMENT_CHARS", 40)
    section = _section(_write(store, tmp_path), "article-comments")
    blocks = _article_blocks(section)
    assert len(blocks) == 3
    assert all(b.count("<tr>") - 1 <= 2 for b in blocks)
    assert section.count("1 more comments on this article not shown (first 2)") == 2
    assert "1 more articles not shown (first 3)" in section
    assert "The new appointment system is brilliant." not in section          # 65 chars, cut at 40
    assert "The new appointment system is…" in section


def test_pseudonymised_report_hides_names_in_the_article_view(store, tmp_path):
    build_report_store(store)
    section = _section(_write(store, tmp_path, "report.pseudonymise=true"), "article-comments")
    assert "Alice Smith" not in section and "Commenter 1" in section


# -- the tile map -------------------------------------------------------------------------------------------
def _tiles(svg_text: str) -> dict[str, str]:
    return {unescape(m.group(1)): m.group(0)
            for m in re.finditer(r'<g class="tile [^"]*" data-region="([^"]*)">.*?</g>', svg_text, re.S)}


def test_tile_map_has_twelve_tiles_and_numbers_match_the_region_table(html):
    start = html.index('<div id="region-tiles">')
    chart = html[start: html.index("</svg>", start)]
    assert 'class="chart"' in chart and "<title>Mean comment sentiment by region (UK tile map)</title>" in chart
    tiles = _tiles(chart)
    assert set(tiles) == set(UK_REGIONS) == set(TILE_GRID) and len(tiles) == 12
    yorks = tiles["Yorkshire and The Humber"]       # c1 0.6, c2 -0.4, c5 0.8: mean 0.333, 2 commenters
    assert 'class="tile ok"' in yorks and "n = 2 commenters" in yorks and "mean +0.33<" in yorks and ">95% -0.40 to +0.70<" in yorks
    london = tiles["London"]                          # 1 commenter < 2: too few, hatched
    assert 'class="tile too-few"' in london and "too few commenters" in london and 'class="hatch"' in london
    assert "mean -0.50" in london
    assert all('class="tile no-data"' in tiles[r] for r in UK_REGIONS if r not in {"London", "Yorkshire and The Humber"})
    assert "too few commenters (&lt; 2)" in chart and "no comments" in chart      # legend entries
    # the region table shows the same numbers
    table = html[html.index("</svg>", start):html.index("</section>", start)]
    row = next(r for r in table.split("<tr") if "Yorkshire and The Humber" in r)
    assert "+0.33" in row and ">2<" in row


def test_tile_map_from_rows_escapes_and_colours():
    rows = [
        {"region": "Scotland", "n_commenters": 40, "mean_score": -0.6, "ci_low": -0.7, "ci_high": -0.5, "too_few": False},
        {"region": "Wales", "n_commenters": 30, "mean_score": 0.6, "ci_low": 0.5, "ci_high": 0.7, "too_few": False},
        {"region": "London", "n_commenters": 1, "mean_score": 0.1, "ci_low": None, "ci_high": None, "too_few": True},
        {"region": XSS_PLACE, "n_commenters": 5, "mean_score": 0.0, "too_few": False},      # not a UK region
    ]
    chart = str(region_tile_map(rows, 3))
    tiles = _tiles(chart)
    assert len(tiles) == 12 and "<script" not in chart
    assert 'fill="#E69F00"' in tiles["Scotland"] and 'fill="#0072B2"' in tiles["Wales"]
    assert "mean +0.60<" in tiles["Wales"] and "95% +0.50 to +0.70" in tiles["Wales"] and "n = 40 commenters" in tiles["Scotland"]
    assert "too few" in tiles["London"] and "mean +0.10" in tiles["London"]

