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
    assert "principal component 1" in section and "other themes / no theme" in section
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
