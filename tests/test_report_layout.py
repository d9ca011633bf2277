"""report.html layout on the fixture store: region sections collapse when no place resolves, CSV cells cannot
run as formulas, right-to-left overrides in user text are isolated."""

from __future__ import annotations

import pandas as pd
import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.report.exports import neutralise_cell
from commentminer.report.stage import write_report
from fixtures.report_store import RUN_ID, build_report_store


def _write(store, tmp_path, *overrides):
    config = load_config(overrides=["run.progress=false", "aggregate.min_commenters=2", *overrides])
    outputs = write_report(StageContext.create(store, config, run_id=RUN_ID), tmp_path / "out")
    return outputs, outputs["report"].read_text(encoding="utf-8")


def test_region_sections_collapse_to_one_sentence_when_no_place_resolves(store, tmp_path):
    build_report_store(store)
    store.delete("regions", "region IS NOT NULL")
    _, html = _write(store, tmp_path)
    regions = html[html.index('<section id="regions">'):html.index('<section id="articles">')]
    assert "No commenter's place resolved to a region" in regions and "extra_gazetteer" in regions
    assert "<svg" not in regions and "<table" not in regions and "no comments" not in regions


def test_region_sections_render_when_places_resolve(store, tmp_path):
    build_report_store(store)
    _, html = _write(store, tmp_path)
    regions = html[html.index('<section id="regions">'):html.index('<section id="articles">')]
    assert "No commenter's place resolved" not in regions and "Yorkshire and The Humber" in regions


@pytest.mark.parametrize("text, shown", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"), ("+1", "'+1"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("plain", "plain"), ("a=b", "a=b"), (-0.5, -0.5), (None, None)])
def test_neutralise_cell(text, shown):
    assert neutralise_cell(text) == shown


def test_csv_cells_that_start_a_formula_are_neutralised_and_parquet_keeps_raw_text(store, tmp_path):
    build_report_store(store)
    store.query("UPDATE comments SET text = '=HYPERLINK(\"http://evil\",\"click\")', name = '@Carol' "
                "WHERE comment_id = 'c4'")
    outputs, _ = _write(store, tmp_path)
    csv = pd.read_csv(outputs["comments_csv"], keep_default_na=False).set_index("comment_id")
    assert csv.loc["c4", "text"] == "'=HYPERLINK(\"http://evil\",\"click\")" and csv.loc["c4", "name"] == "'@Carol"
    assert float(csv.loc["c2", "sentiment_score"]) == pytest.approx(-0.4)   # negative numbers stay numbers
    raw = pd.read_parquet(outputs["comments_parquet"]).set_index("comment_id")
    assert raw.loc["c4", "text"] == "=HYPERLINK(\"http://evil\",\"click\")"


def test_right_to_left_overrides_in_user_text_are_isolated(store, tmp_path):
    build_report_store(store)
    store.query("UPDATE comments SET name = 'Eve \u202Egnp.exe' WHERE comment_id = 'c1'")
    _, html = _write(store, tmp_path)
    assert "unicode-bidi: isolate" in html or "unicode-bidi:isolate" in html
    for start in [i for i in range(len(html)) if html.startswith("Eve \u202E", i)]:
        assert html.rfind("<bdi", 0, start) > html.rfind("</bdi>", 0, start)   # inside an open <bdi>
