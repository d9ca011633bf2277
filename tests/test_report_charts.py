"""Report views: theme map (PCA scatter), theme x region heatmap and themes over time, on the fixture store."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from commentminer import aggregate as agg
from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.report import charts_grid, charts_map
from commentminer.report.stage import write_report
from commentminer.schema import TABLES
from commentminer.store import Store
from fixtures.browser import open_report, require_browser
from fixtures.report_store import RUN_ID, RESOLVER, SENTIMENT_BACKEND, add_hostile_content, \
    build_report_store

N_UNITS = 13    # u1..u13, every one themed in run_test


def add_embeddings(store: Store, model_id: str = "test-embed") -> Store:
    """A deterministic vector per unit text_hash, near its theme's direction."""
    units = store.query("SELECT u.text_hash, ut.theme_id FROM units u JOIN unit_themes ut "
                        "ON ut.unit_id = u.unit_id AND ut.run_id = ? ORDER BY u.unit_id", [RUN_ID])
    rng = np.random.default_rng(7)
    rows = []
    for text_hash, theme in zip(units.text_hash, units.theme_id):
        vec = np.zeros(8)
        vec[int(theme) + 1] = 1.0
        vec += rng.normal(0, 0.1, 8)
        rows.append({"text_hash": text_hash, "model_id": model_id, "dim": 8,
                     "vector": (vec / np.linalg.norm(vec)).astype(np.float32).tolist()})
    store.upsert("embeddings", pd.DataFrame(rows, columns=TABLES["embeddings"].column_names))
    return store


def _write(store: Store, out, extra: tuple[str, ...] = ()) -> str:
    config = load_config(overrides=["run.progress=false", "aggregate.min_commenters=2", "report.n_quotes=4", *extra])
    report = write_report(StageContext.create(store, config, run_id=RUN_ID), out)["report"]
    return report.read_text(encoding="utf-8")


def _section(html: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S)
    assert match, section_id
    return match.group(1)


@pytest.fixture
def report(store, tmp_path):
    add_embeddings(add_hostile_content(build_report_store(store)))
    return _write(store, tmp_path / "out")


def test_theme_map_has_one_point_per_themed_unit(report):
    section = _section(report, "theme-map")
    assert section.count('class="chart"') == 1 and "<title>Theme map of sentences</title>" in section
    assert section.count('class="point"') == N_UNITS
    assert f"showing all {N_UNITS} themed sentences" in section
    assert "principal component 1" in section and "other themes / no theme" in section   # few units: PCA
    assert "appointment booking" in section and "surgery funding" in section   # legend


def test_theme_map_hover_text_is_escaped(report):
    section = _section(report, "theme-map")
    assert "<script" not in section.lower() and "<img" not in section.lower()
    assert "“&lt;script&gt;window.__pwned=1&lt;/script&gt;” — &lt;img src=x onerror=" in section
    assert "“The new appointment system is brilliant.” — Alice Smith, Leeds · theme: appointment booking" in section
    assert "Name and address withheld".lower() in section.lower() and "Dr Jane Roe (quoted)" in section


def test_theme_map_samples_deterministically_when_capped(store, tmp_path, monkeypatch):
    add_embeddings(add_hostile_content(build_report_store(store)))
    monkeypatch.setattr(charts_map, "MAX_POINTS", 5)
    first = _section(_write(store, tmp_path / "a"), "theme-map")
    second = _section(_write(store, tmp_path / "b"), "theme-map")
    assert first.count('class="point"') == 5
    assert f"showing 5 of {N_UNITS} sentences, sampled" in first
    assert re.findall(r"<circle[^>]*class=\"point\"", first) == re.findall(r"<circle[^>]*class=\"point\"", second)


def test_theme_map_without_embeddings_says_so(store, tmp_path):
    build_report_store(store)
    section = _section(_write(store, tmp_path / "out"), "theme-map")
    assert 'class="chart"' not in section and "No stored embeddings" in section


def test_theme_map_pseudonymised(store, tmp_path):
    add_embeddings(build_report_store(store))
    section = _section(_write(store, tmp_path / "out", ("report.pseudonymise=true",)), "theme-map")
    assert "Alice Smith" not in section and "Dr Jane Roe" not in section
    assert re.search(r"— Commenter \d+, Leeds", section) and "Speaker 1 (quoted)" in section


def test_pca_is_deterministic_and_sign_fixed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 5))
    a, b = charts_map.pca_2d(x), charts_map.pca_2d(-x[:, :] * 1.0)
    assert a.shape == (30, 2) and np.allclose(np.abs(a), np.abs(b))
    assert np.allclose(charts_map.pca_2d(x), a)
    assert charts_map.pca_2d(np.ones((1, 4))).shape == (1, 2)   # one point: no crash


def test_pca_matches_the_svd_components():
    x = np.random.default_rng(1).normal(size=(200, 6)) * np.array([5, 3, 1, 1, 1, 1])
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    assert np.allclose(np.abs(charts_map.pca_2d(x)), np.abs(centred @ vt[:2].T))


def _map_legend(n_guided: int, n_discovered: int) -> list[str]:
    """Coloured legend labels of a theme map with discovered themes 0..7 and guided theme 8."""
    rng = np.random.default_rng(3)
    rows = []
    for theme_id in range(9):
        kind, n = ("guided", n_guided) if theme_id == 8 else ("discovered", n_discovered)
        for i in range(n):
            rows.append({"unit_id": f"u{theme_id}-{i}", "kind": "comment", "text": f"sentence {i}",
                         "theme_id": theme_id, "theme": f"theme {theme_id}", "theme_kind": kind, "name": "A",
                         "place": None, "withheld": False, "speaker": None, "comment_id": f"c{i}",
                         "vector": rng.normal(size=4)})
    chart, _ = charts_map.theme_map(pd.DataFrame(rows))
    legend = re.findall(r'<circle cx="[^"]+" cy="[^"]+" r="5" fill="([^"]+)"\s*/?>\s*<text[^>]*>([^<]+)</text>', chart)
    return [label for colour, label in legend if colour != charts_map.OTHER_COLOUR]


def test_theme_map_colours_guided_themes_before_larger_discovered_ones():
    coloured = _map_legend(n_guided=2, n_discovered=10)          # guided: 2 of 82 units
    assert coloured[0] == "theme 8" and len(coloured) == charts_map.TOP_THEMES
    assert "theme 7" not in coloured                 # the smallest-id discovered themes win ties, 7 is grey
    coloured = _map_legend(n_guided=1, n_discovered=20)          # 1 of 161 units (< 1%): no priority
    assert "theme 8" not in coloured and coloured[0] == "theme 0"


def test_heatmap_has_one_cell_per_theme_region_pair(store, report):
    cells = agg.sentiment_table(store, RUN_ID, by=("theme", "region"), min_commenters=2,
                                sentiment_backend=SENTIMENT_BACKEND, resolver_id=RESOLVER)
    section = _section(report, "theme-regions")
    assert section.count('class="chart"') == 1 and "<title>Mean sentiment by theme and region</title>" in section
    n_cells = len(re.findall(r'<rect[^>]*class="(?:too-few )?cell"', section))
    assert n_cells == len(cells) > 4
    assert section.count('class="too-few cell"') == int(cells["too_few"].sum()) >= 1
    assert "too few commenters (&lt; 2)" in section                      # legend entry
    assert "region of the commenter" in section and "distinct commenters" in section
    assert "<img" not in section and "&lt;img src=x onerror=window.__pwned=5&gt;" in section   # hostile theme name


def test_heatmap_colours_diverge():
    assert charts_grid.diverging(0) == charts_grid.MID
    assert charts_grid.diverging(-1) == "#E69F00" and charts_grid.diverging(0.7) == "#0072B2"


def test_over_time_small_multiples(report):
    section = _section(report, "over-time")
    assert section.count('class="chart"') == 3                          # three leaf themes (not "other")
    assert "appointment booking: over time by quarter" in section
    assert "2024-Q1" in section and "2024-Q2" in section and "Undated" not in section
    assert "95% interval" in section and "share of the period" in section and "mean sentiment" in section


def test_over_time_undated_is_a_note_not_a_point():
    themes = [{"theme_id": 0, "title": "t0", "kind": "discovered", "n_units": 5}]
    periods = [
        {"theme_id": 0, "period": "2024-Q1", "n_units": 3, "share_units": 0.5, "mean_score": 0.2, "mean_low": -0.1,
         "mean_high": 0.4, "too_few": False},
        {"theme_id": 0, "period": "2024-Q2", "n_units": 1, "share_units": 0.25, "mean_score": -0.3,
         "mean_low": -0.3, "mean_high": -0.3, "too_few": True},
        {"theme_id": 0, "period": "Undated", "n_units": 2, "share_units": 1.0, "mean_score": 0.0, "mean_low": None,
         "mean_high": None, "too_few": True},
    ]
    [view] = charts_grid.time_charts(themes, periods, "quarter")
    assert view["undated"]["n_units"] == 2
    chart = str(view["chart"])
    assert "Undated" not in chart and chart.count('class="point"') == 4   # 2 periods x (share, mean)
    assert "too few commenters" in chart


def test_over_time_charts_guided_themes_first_then_the_largest():
    themes = [{"theme_id": i, "title": f"t{i}", "kind": "discovered", "n_units": 10 + i} for i in range(8)]
    themes += [{"theme_id": 8, "title": "guided", "kind": "guided", "n_units": 2},
               {"theme_id": 9, "title": "parent", "kind": "parent", "n_units": 99}]
    periods = [{"theme_id": t["theme_id"], "period": "2024-Q1", "n_units": 1, "share_units": 0.1, "mean_score": 0.0,
                "mean_low": None, "mean_high": None, "too_few": True} for t in themes]
    titles = [view["title"] for view in charts_grid.time_charts(themes, periods, "quarter", top_n=4)]
    assert titles == ["guided", "t7", "t6", "t5"]                     # 2 of 110 units: charted first
    themes[8]["n_units"] = 1                                          # 1 of 109 (< 1%): by size like the rest
    titles = [view["title"] for view in charts_grid.time_charts(themes, periods, "quarter", top_n=4)]
    assert titles == ["t7", "t6", "t5", "t4"]


def test_over_time_share_axis_has_whole_percent_ticks():
    row = {"period": "2024-Q1", "n_units": 1, "mean_score": 0.0, "mean_low": None, "mean_high": None, "too_few": True}
    for share, ticks in ((0.05, ("0%", "3%", "6%")), (0.13, ("0%", "7%", "14%")), (0.41, ("0%", "25%", "50%"))):
        chart = str(charts_grid.time_chart("t", [{**row, "share_units": share}], ["2024-Q1"], "quarter"))
        labels = re.findall(r'text-anchor="end"[^>]*>([0-9]+%)<', chart)
        assert tuple(labels) == ticks, (share, labels)


def test_heatmap_columns_follow_the_region_order_and_fit_the_chart():
    regions = ["Unresolved", "London", "North East", "Yorkshire and The Humber", "Scotland", "South West",
               "East Midlands", "Wales", "North West", "East of England", "West Midlands", "South East",
               "Northern Ireland"]
    cells = [{"theme_id": 0, "theme": "t", "region": r, "n_commenters": 6, "mean_score": 0.1, "too_few": False}
             for r in regions]
    chart = str(charts_grid.heatmap(cells, 5))
    shown = re.findall(r'<text[^>]*rotate\(-35[^>]*>([^<]+)</text>', chart)
    assert shown[0] == "North East" and shown[-1] == "Unresolved" and len(shown) == 13
    width = float(re.search(r'<svg[^>]*width="([0-9.]+)"', chart).group(1))
    last_x = max(float(x) for x in re.findall(r'<rect[^>]*x="([0-9.]+)"[^>]*class="cell"', chart))
    assert last_x + 80 < width                     # the last rotated name has room


def test_new_charts_draw_in_the_browser(store, tmp_path):
    require_browser()
    add_embeddings(add_hostile_content(build_report_store(store)))
    _write(store, tmp_path / "out")
    page = open_report(tmp_path / "out" / "report.html", tmp_path / "charts.png")
    assert page.pwned == "undefined" and page.console_errors == [] and page.page_errors == []
    titles = [c["title"] for c in page.charts]
    assert "Theme map of sentences" in titles and "Mean sentiment by theme and region" in titles
    assert sum(t.endswith("over time by quarter") for t in titles) == 3
    for chart in page.charts:
        assert chart["width"] > 0 and chart["height"] > 0 and chart["drawn"] == chart["shapes"] > 0, chart


@pytest.mark.parametrize("periods, name, expected", [
    (["2011-Q1", "2011-Q4", "2012-Q1"], "quarter", ["2011-Q1", "2011-Q2", "2011-Q3", "2011-Q4", "2012-Q1"]),
    (["2011-11", "2012-02"], "month", ["2011-11", "2011-12", "2012-01", "2012-02"]),
    (["2009", "2012"], "year", ["2009", "2010", "2011", "2012"]),
    ([], "quarter", []),
])
def test_period_range_keeps_empty_periods_on_the_axis(periods, name, expected):
    assert charts_grid.period_range(periods, name) == expected


def test_over_time_axis_leaves_a_gap_for_an_empty_period():
    rows = [{"theme_id": 0, "period": p, "n_units": 3, "share_units": 0.5, "mean_score": 0.1, "mean_low": 0.0,
             "mean_high": 0.2, "too_few": False} for p in ("2011-Q1", "2011-Q3", "2011-Q4")]
    view = charts_grid.time_charts([{"theme_id": 0, "title": "t", "kind": "discovered", "n_units": 9}], rows,
                                   "quarter")[0]
    chart = str(view["chart"])
    assert "2011-Q2" in chart                                           # the empty quarter keeps its place
    # points: 3 periods x 2 panels; joining lines: only Q3-Q4 in each panel (none across the empty Q2)
    assert chart.count('class="point"') == 6
    assert chart.count(f'stroke="{charts_grid.POSITIVE}" stroke-width="1.5"/>') == 2


def test_undated_corpus_says_so_once(store, tmp_path):
    from commentminer.config import load_config
    from commentminer.context import StageContext
    from commentminer.report.stage import write_report
    from fixtures.report_store import RUN_ID, build_report_store

    build_report_store(store)
    store.query("UPDATE articles SET published = NULL")
    store.query("UPDATE comments SET published = NULL")
    config = load_config(overrides=["run.progress=false", "aggregate.min_commenters=2"])
    html = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path)["report"].read_text("utf-8")
    assert html.count("This corpus is undated") == 1 and "Undated" not in html and "undated" not in html.replace(
        "This corpus is undated", "")


def _inside(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Point in polygon (even-odd ray casting); points on the outline count as inside."""
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1]):
        if min(y1, y2) <= y <= max(y1, y2) and y1 != y2:
            cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if abs(cross - x) < 1e-6:
                return True
            if cross > x and not (y == max(y1, y2)):
                hit = not hit
    return hit


def test_theme_map_lays_out_larger_corpora_by_umap_with_labels_at_theme_centres(store):
    from fixtures.benchmarks import load_benchmark

    load_benchmark("report").build_store(store, 200)               # 416 units, 12 leaf themes under 3 parents
    units = charts_map.map_units(store, "run_bench")
    chart, caption = charts_map.theme_map(units)
    again, _ = charts_map.theme_map(units)
    assert "laid out by UMAP" in caption and "UMAP 1 of the sentence embeddings" in chart
    assert chart == again                                           # fixed seed: the same layout every time
    points = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="3.5" fill="([^"]+)"', chart)
    assert len(points) == len(units)
    labels = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*class="theme-label"[^>]*>([^<]+)</text>', chart)
    assert len(labels) == min(charts_map.MAX_LABELS, 12)
    assert len(re.findall(r'class="parent-label"', chart)) == 3     # "group a", "group b", "group c"
    # each parent is a region too: a polygon drawn before (under) the points, around most of its children's points
    regions = re.findall(r'<polygon points="([^"]+)"[^>]*class="parent-region"', chart)
    assert len(regions) == 3 and chart.index('class="parent-region"') < chart.index('class="point"')
    polygons = [[tuple(map(float, corner.split(","))) for corner in region.split()] for region in regions]
    inside = sum(any(_inside(float(px), float(py), poly) for poly in polygons) for px, py, _ in points)
    assert inside >= 0.7 * len(points)
    # each coloured theme's label sits at the median of its own points (moved whole lines up or down only
    # when it would overlap a label placed before it), and no two labels overlap
    colour_of = dict(re.findall(r'r="5" fill="([^"]+)"\s*/?>\s*<text[^>]*>([^<]+)</text>', chart))
    line = 12 + 2
    for x, y, label in labels:
        own = [(float(px), float(py)) for px, py, fill in points if colour_of.get(fill) == label]
        if own:
            assert abs(float(x) - float(np.median([p[0] for p in own]))) < 1
            shift = float(y) - float(np.median([p[1] for p in own]))
            assert abs(shift / line - round(shift / line)) < 0.1
    boxes = [(float(x) - 3.6 * len(t), float(y) - line, float(x) + 3.6 * len(t), float(y)) for x, y, t in labels]
    assert not any(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
                   for i, a in enumerate(boxes) for b in boxes[i + 1:])
    pca_chart, pca_caption = charts_map.theme_map(units, method="pca")
    assert "principal components" in pca_caption and "UMAP" not in pca_chart
