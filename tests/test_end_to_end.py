"""The whole pipeline on corpus/seeds with the real MiniLM model, real spaCy, BERTopic and VADER.

One module-scoped run (about a minute) feeds every assertion here; a second run on the same store checks that
nothing is duplicated, nothing is re-embedded, and themes are identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import commentminer as cm
from commentminer.ids import sha256_text
from commentminer.schema import UK_REGIONS
from commentminer.themes.guided import load_guided
from commentminer.store import Store

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "all-MiniLM-L6-v2"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not (MODEL_DIR / "model.safetensors").is_file():
        pytest.skip(f"embedding model not installed at {MODEL_DIR}; run `make model`")
    out = tmp_path_factory.mktemp("seeds_report")
    # the sample corpus with its example guided themes, as `make run` does (--themes configs/themes.toml)
    config = cm.load_config(overrides=["run.progress=false", f"embed.model_path='{MODEL_DIR}'",
                                       f"themes.guided_path='{ROOT / 'configs' / 'themes.toml'}'"])
    first = cm.run([ROOT / "corpus" / "seeds"], out=out, config=config)
    with Store(first.db, read_only=True) as store:
        counts_after_first = store.counts()
    second = cm.run([ROOT / "corpus" / "seeds"], out=out, config=config)
    return first, second, counts_after_first


def _store(result):
    return Store(result.db, read_only=True)


def test_tables_hold_the_sample_corpus(runs):
    first, _, counts = runs
    assert counts["sources"] == 5 and counts["articles"] == 5 and counts["comments"] == 18
    assert counts["units"] > 150
    with _store(first) as store:
        kinds = store.query("SELECT kind, count(*) AS n FROM units GROUP BY kind")
        assert set(kinds["kind"]) >= {"article", "comment"}
        # unit texts plus the guided themes' seed phrases (cached the same way)
        seeds = {sha256_text(s) for g in load_guided(ROOT / "configs" / "themes.toml") for s in g.seeds}
        unit_hashes = set(store.query("SELECT DISTINCT text_hash FROM units")["text_hash"])
        assert counts["embeddings"] == len(unit_hashes | seeds)
        per_comment = store.query("SELECT count(*) FROM sentiment WHERE target_kind = 'comment'").iloc[0, 0]
        assert per_comment == 18
        run = store.query("SELECT * FROM runs WHERE run_id = ?", [first.run_id]).iloc[0]
        assert run["status"] == "ok"
        assert json.loads(run["config_json"])["themes"]["seed"] == 42 and len(run["config_hash"]) == 12
        # what the themes and vectors depend on besides the config: the packages and the CPU
        versions = json.loads(run["versions_json"])
        for package in ("umap-learn", "numba", "scipy", "scikit-learn", "onnxruntime"):
            assert versions[package][0].isdigit(), (package, versions[package])
        assert versions["cpu"] and versions["cpu"] != "unknown ()"


def test_every_signed_place_resolves(runs):
    first, _, _ = runs
    with _store(first) as store:
        rows = store.query("""
            SELECT c.name, c.place, c.withheld, r.region, r.reason FROM comments c
            JOIN regions r ON r.subject_kind = 'comment' AND r.subject_id = c.comment_id""")
    assert len(rows) == 18
    by_place = {r.place: (r.region if isinstance(r.region, str) else None) for r in rows.itertuples() if r.place}
    assert by_place["Weston Super Mare"] == "South West" and by_place["Barnet"] == "London"
    assert by_place["Lancashire"] == "North West" and by_place["North West"] == "North West"
    assert by_place["Boleyn Road Practice"] is None
    resolved = rows[rows["region"].notna()]
    assert set(resolved["region"]) <= set(UK_REGIONS)
    assert len(resolved) == 15   # 18 minus two withheld and one practice name
    assert rows[rows["region"].isna()]["reason"].notna().all()


def test_themes_are_sensible_and_traceable(runs):
    first, _, _ = runs
    with _store(first) as store:
        themes = store.query("SELECT * FROM themes WHERE run_id = ?", [first.run_id])
        members = store.query("SELECT * FROM unit_themes WHERE run_id = ?", [first.run_id])
        n_units = store.query("SELECT count(*) FROM units").iloc[0, 0]
        # article sentences that a quoted-voice unit covers are themed through that quote unit
        n_covered = store.query(
            "SELECT count(*) FROM units u WHERE u.kind = 'article' AND EXISTS (SELECT 1 FROM units q "
            "WHERE q.kind = 'quote' AND q.article_id = u.article_id AND q.char_start < u.char_end "
            "AND u.char_start < q.char_end)").iloc[0, 0]
        n_quotes = store.query("SELECT count(*) FROM units WHERE kind = 'quote'").iloc[0, 0]
    discovered = themes[themes["kind"].isin(["guided", "discovered"])]
    assert len(discovered) >= 3
    assert len(set(discovered["label"])) == len(discovered)           # labels are distinct
    assert all(1 <= len(label.split()) <= 4 for label in discovered["label"])
    assert n_quotes >= 3 and n_covered >= n_quotes
    assert len(members) == n_units - n_covered                         # every themed unit accounted for
    outliers = (members["theme_id"] == -1).mean()
    assert outliers < 0.2
    leaves = themes[themes["kind"] != "parent"]                       # parents count their children's units
    assert members.groupby("theme_id").size().to_dict() == leaves.set_index("theme_id")["n_units"].to_dict()
    parents = themes[themes["kind"] == "parent"]
    for parent in parents.itertuples():
        assert leaves[leaves["parent_id"] == parent.theme_id]["n_units"].sum() == parent.n_units


def test_label_quality_benchmark_reads_the_themed_store(runs):
    """benchmarks/themes.py --labels --store on a real run: counts match the themes table, and every leaf and
    parent label (phrases said in their members) is grounded in some of its members."""
    from fixtures.benchmarks import load_benchmark

    first, _, _ = runs
    quality = load_benchmark("themes").label_quality_store(first.db, first.run_id)
    with _store(first) as store:
        themes = store.query("SELECT label, kind, n_units FROM themes WHERE run_id = ?", [first.run_id])
    parents = themes[themes["kind"] == "parent"]
    assert quality["leaves"] == int(themes["kind"].isin(["guided", "discovered"]).sum())
    assert quality["parents"] == len(parents) and sorted(quality["parent_labels"]) == sorted(parents["label"])
    assert 0 < quality["grounding"] <= 1 and 0 <= quality["other_share"] < 0.2
    assert quality["multi_word"] <= quality["phrase_or_covering_name"] <= 1   # a phrase follows the rule
    assert quality["loose"] == [] and quality["loose_share"] == 0.0    # the sample corpus' themes are all topical
    if len(parents):
        assert 0 < quality["parent_grounding"] <= 1


def test_report_and_exports_are_written(runs):
    first, _, _ = runs
    html = first.outputs["report"].read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert "Val Denton" in html and "Weston Super Mare" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # offline: no network resources
    for name in ("comments_csv", "themes_csv", "regions_csv"):
        assert first.outputs[name].is_file() and first.outputs[name].stat().st_size > 0


def test_seeds_report_opens_cleanly_in_chromium(runs, tmp_path):
    """The real report in headless Chromium (skips without it, see tests/fixtures/browser.py): no console or
    page error, nothing loaded but the file, every chart drawn; the screenshot lands in tmp_path."""
    from fixtures.browser import open_report, require_browser

    require_browser()
    first, _, _ = runs
    page = open_report(first.outputs["report"], tmp_path / "report-seeds.png")
    assert page.console_errors == [] and page.page_errors == [] and page.requests == [page.url]
    assert page.pwned == "undefined" and page.active["scripts"] == 1 and page.active["handlers"] == []
    assert "Val Denton" in page.text
    html = first.outputs["report"].read_text(encoding="utf-8")
    assert len(page.charts) == html.count('class="chart"') >= 3
    for chart in page.charts:
        assert chart["width"] > 0 and chart["height"] > 0 and chart["drawn"] == chart["shapes"] > 0, chart


def test_rerun_duplicates_nothing_reembeds_nothing_and_gives_identical_themes(runs):
    first, second, counts = runs
    with _store(second) as store:
        after = store.counts()
        def themes_of(run_id):
            frame = store.query(
                "SELECT theme_id, label, keywords, n_units FROM themes WHERE run_id = ? ORDER BY theme_id", [run_id]
            )
            return [(r.theme_id, r.label, list(r.keywords), r.n_units) for r in frame.itertuples()]
        def members_of(run_id):
            return store.query(
                "SELECT unit_id, theme_id FROM unit_themes WHERE run_id = ? ORDER BY unit_id", [run_id]
            ).to_dict("records")
        assert themes_of(first.run_id) == themes_of(second.run_id)
        assert members_of(first.run_id) == members_of(second.run_id)
    per_run = {"runs", "themes", "unit_themes", "theme_changes", "theme_runs"}  # theme_runs: one row per run
    assert {k: v for k, v in after.items() if k not in per_run} == {k: v for k, v in counts.items() if k not in per_run}
    assert second.stats["embed"]["embedded"] == 0
    assert second.stats["segment"]["units_written"] == 0
    assert first.stats["themes"]["mode"] == "full" and second.stats["themes"]["mode"] == "incremental"
    assert second.stats["themes"]["new_units"] == 0 and second.stats["voices"]["articles_read"] == 0


def test_every_stage_is_timed_in_the_result_and_the_run_record(runs):
    first, _, _ = runs
    names = ["ingest", "parse", "segment", "voices", "embed", "sentiment", "regions", "themes", "report", "total"]
    timings = first.stats["timings"]
    assert [row["stage"] for row in timings] == names
    for row in timings:
        assert row["wall_s"] >= 0 and row["cpu_s"] >= 0 and row["peak_rss_mb"] > 50, row
    assert timings[-1]["wall_s"] >= sum(row["wall_s"] for row in timings[:-1]) - 0.01
    assert first.stats["embed"]["embedded"] > 0          # the per-stage counts are still there
    with _store(first) as store:
        stored = json.loads(store.query("SELECT stats_json FROM runs WHERE run_id = ?", [first.run_id]).iloc[0, 0])
    assert stored["timings"] == timings and stored["themes"] == first.stats["themes"]
