"""Incremental themes (themes/incremental.py): new units go into the last fit's themes unless a re-fit is due."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.ids import sha256_text
from commentminer.store import Store
from commentminer.themes import incremental, stage
from test_themes import blob_corpus
from test_themes_stage import MODEL_ID, write_corpus

ROOT_SRC = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(autouse=True)
def no_guided_themes(ctx):
    ctx.config.themes.guided_path = ""
    ctx.config.themes.small_corpus_units_per_theme = 20


def add_units(store, vectors: np.ndarray, prefix: str, texts: list[str] | None = None) -> list[str]:
    """Comment units (one per new comment) with their vectors; returns their unit ids."""
    texts = texts or [f"{prefix} practice managers new sentence {i}." for i in range(len(vectors))]
    rows = [{"unit_id": f"{prefix}{i:04d}", "kind": "comment", "article_id": "a1", "comment_id": f"{prefix}c{i}",
             "position": 0, "text": t, "char_start": 0, "char_end": len(t), "text_hash": sha256_text(f"{prefix}:{t}"),
             "speaker": None, "place": None, "segmenter_id": "test"} for i, t in enumerate(texts)]
    store.upsert("units", pd.DataFrame(rows))
    store.upsert("comments", pd.DataFrame([{"comment_id": r["comment_id"], "article_id": "a1", "text": r["text"],
                                            "commenter_id": f"{prefix}p{i}"} for i, r in enumerate(rows)]))
    store.upsert_vectors("embeddings", {"text_hash": [r["text_hash"] for r in rows], "model_id": MODEL_ID,
                                        "dim": vectors.shape[1]}, "vector", vectors)
    return [r["unit_id"] for r in rows]


def near(vecs: np.ndarray, n: int, seed: int, spread: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = vecs[:n] + spread * rng.normal(size=(n, vecs.shape[1])) / np.sqrt(vecs.shape[1])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def far(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=dim)
    out = centre + 0.2 * rng.normal(size=(n, dim))
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def run_as(ctx, run_id: str) -> dict:
    ctx.run_id = run_id
    return stage.run(ctx)


@pytest.fixture
def fitted(ctx, store):
    texts, vecs, truth = blob_corpus(n_per_blob=40)
    write_corpus(store, texts, vecs)
    stats = run_as(ctx, "r1")
    return vecs, truth, stats


def test_first_run_is_a_full_fit_and_recorded(store, fitted):
    _, _, stats = fitted
    assert stats["mode"] == "full" and stats["refit_reason"] == "first fit" and stats["grew"] == []
    row = store.read("theme_runs", "run_id = 'r1'").iloc[0]
    assert row["mode"] == "full" and row.fit_run_id == "r1" and row.units_at_fit == 120 and row.unseen_units == 0


def test_new_units_go_into_existing_themes_without_refit(ctx, store, fitted):
    vecs, truth, _ = fitted
    before = store.read("themes", "run_id = 'r1'").set_index("theme_id")
    old_ut = store.read("unit_themes", "run_id = 'r1'").set_index("unit_id")
    # 6 new units near the first units of blob 0 (units 0..5 are all blob 0)
    new_ids = add_units(store, near(vecs, 6, seed=1), "n")
    stats = run_as(ctx, "r2")
    assert stats["mode"] == "incremental" and stats["new_units"] == 6 and stats["fit_run_id"] == "r1"
    after = store.read("themes", "run_id = 'r2'").set_index("theme_id")
    # ids, labels, keywords and summaries are the fit's; only the counts change
    assert list(after.index) == list(before.index)
    assert (after.label == before.label).all() and (after.summary == before.summary).all()
    assert after.focus.equals(before.focus) and after.loose.equals(before.loose)   # the fit's, carried over
    assert stats["loose_themes"] == int(after[after.kind == "discovered"].loose.sum())
    ut = store.read("unit_themes", "run_id = 'r2'").set_index("unit_id")
    assert len(ut) == 126 and ut.loc[old_ut.index, "theme_id"].tolist() == old_ut.theme_id.tolist()
    blob0_theme = old_ut.loc["u0000", "theme_id"]
    assert (ut.loc[new_ids, "theme_id"] == blob0_theme).all()
    assert ut.loc[new_ids, "probability"].between(0.35, 1).all() and ut.loc[new_ids, "quote_rank"].isna().all()
    # counts recomputed over this run's assignments, the grown theme named with before/after
    assert after.loc[blob0_theme, "n_units"] == before.loc[blob0_theme, "n_units"] + 6
    assert after.loc[blob0_theme, "n_comments"] == before.loc[blob0_theme, "n_comments"] + 6
    assert stats["grew"] == [{"theme_id": int(blob0_theme), "label": before.loc[blob0_theme, "label"],
                              "kind": "discovered", "before": int(before.loc[blob0_theme, "n_units"]),
                              "after": int(before.loc[blob0_theme, "n_units"]) + 6}]
    parent = after.loc[blob0_theme, "parent_id"]
    if pd.notna(parent):  # the parent's count includes its children's new units
        assert after.loc[int(parent), "n_units"] == before.loc[int(parent), "n_units"] + 6
    registry = store.read("theme_registry").set_index("theme_id")
    assert registry.loc[blob0_theme, "last_run"] == "r2" and registry.loc[blob0_theme, "n_units"] == after.loc[blob0_theme, "n_units"]
    row = store.read("theme_runs", "run_id = 'r2'").iloc[0]
    assert row["mode"] == "incremental" and row.unseen_units == 6 and row.fit_run_id == "r1"
    # a second incremental run with nothing new keeps everything and accumulates nothing
    again = run_as(ctx, "r3")
    assert again["mode"] == "incremental" and again["new_units"] == 0 and again["grew"] == []
    assert store.read("theme_runs", "run_id = 'r3'").unseen_units.iloc[0] == 6
    pd.testing.assert_frame_equal(store.read("unit_themes", "run_id = 'r3'").drop(columns="run_id"),
                                  store.read("unit_themes", "run_id = 'r2'").drop(columns="run_id"))


def test_refit_flag_refits_and_keeps_ids(ctx, store, fitted):
    vecs, _, _ = fitted
    before = store.read("themes", "run_id = 'r1'").set_index("theme_id")
    add_units(store, near(vecs, 6, seed=2), "n")
    ctx.config.themes.refit = True
    stats = run_as(ctx, "r2")
    assert stats["mode"] == "full" and "refit requested" in stats["refit_reason"] and stats["new_units"] == 6
    after = store.read("themes", "run_id = 'r2'").set_index("theme_id")
    matched = set(after.index[after.matched_similarity.notna()])
    assert matched and matched <= set(before.index)  # the registry gives re-fitted themes their earlier ids
    assert store.read("theme_runs", "run_id = 'r2'")["mode"].iloc[0] == "full"
    assert any(g["after"] > g["before"] for g in stats["grew"])


def test_drift_threshold_triggers_refit(ctx, store, fitted):
    vecs, _, _ = fitted
    ctx.config.themes.refit_unseen_share = 0.1
    add_units(store, near(vecs, 14, seed=3), "n")  # 14 / 134 >= 0.1
    stats = run_as(ctx, "r2")
    assert stats["mode"] == "full" and "refit_unseen_share" in stats["refit_reason"]
    # drift accumulates across incremental runs: 8 then 6 more units cross 0.1 together
    ctx.config.themes.refit_unseen_share = 0.1
    add_units(store, near(vecs, 8, seed=4), "m")
    assert run_as(ctx, "r3")["mode"] == "incremental"
    add_units(store, near(vecs, 8, seed=5), "k")
    assert run_as(ctx, "r4")["mode"] == "full"


def test_other_share_threshold_triggers_refit(ctx, store, fitted):
    vecs, _, _ = fitted
    ctx.config.themes.refit_unseen_share = 1.0
    add_units(store, far(25, vecs.shape[1], seed=6), "x")
    stats = run_as(ctx, "r2")
    assert stats["mode"] == "full" and "fit no theme" in stats["refit_reason"]


def test_few_units_far_from_every_theme_go_to_other(ctx, store, fitted):
    vecs, _, _ = fitted
    assert not (store.read("themes", "run_id = 'r1'").theme_id == -1).any()
    new_ids = add_units(store, far(5, vecs.shape[1], seed=7), "x")
    stats = run_as(ctx, "r2")
    assert stats["mode"] == "incremental" and stats["other_units"] == 5
    other = store.read("themes", "run_id = 'r2' AND theme_id = -1").iloc[0]
    assert other.kind == "other" and other.n_units == 5 and other.label == "other"
    ut = store.read("unit_themes", "run_id = 'r2'").set_index("unit_id")
    assert (ut.loc[new_ids, "theme_id"] == -1).all() and (ut.loc[new_ids, "probability"] == 0).all()


def test_changed_theme_settings_refit(ctx, store, fitted):
    ctx.config.themes.n_quotes = 3
    stats = run_as(ctx, "r2")
    assert stats["mode"] == "full" and "settings" in stats["refit_reason"]
    ctx.config.themes.refit_other_rise = 0.5  # a refit key: changing it does not force a re-fit
    assert run_as(ctx, "r3")["mode"] == "incremental"


def test_removed_units_leave_the_counts(ctx, store, fitted):
    store.delete("units", "unit_id IN ('u0001', 'u0002')")
    stats = run_as(ctx, "r2")
    assert stats["mode"] == "incremental" and stats["gone_units"] == 2 and stats["units"] == 118
    assert store.count("unit_themes", "run_id = 'r2'") == 118
    assert store.query("SELECT sum(n_units) FROM themes WHERE run_id = 'r2' AND kind <> 'parent'").iloc[0, 0] == 118


def test_nearest_assigns_by_cosine_with_other_below_threshold():
    cents = np.eye(3, dtype=np.float32)
    vecs = np.array([[0.9, 0.1, 0], [0, 0.2, 0.98], [0.5, 0.5, 0.5]], np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    chosen, prob = incremental.nearest(vecs, cents, np.array([7, 8, 9]), other_threshold=0.6)
    assert chosen.tolist() == [7, 9, -1] and prob[2] == 0 and prob[0] == pytest.approx(vecs[0, 0])


def test_nearest_takes_one_cutoff_per_theme():
    cents = np.eye(3, dtype=np.float32)
    vecs = np.array([[0.5, 0.1, 0], [0, 0.1, 0.5]], np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)   # cosine about 0.98 to theme 7 and to theme 9
    chosen, _ = incremental.nearest(vecs, cents, np.array([7, 8, 9]), other_threshold=np.array([0.5, 0.5, 0.99]))
    assert chosen.tolist() == [7, -1]


def test_cutoffs_follow_the_fits_loose_themes(ctx, store, fitted):
    """A discovered theme that kept members below other_threshold (the spread rule) keeps taking such units."""
    themes = store.read("themes", "run_id = 'r1' AND kind = 'discovered'").sort_values("theme_id")
    ids = themes.theme_id.to_numpy(np.int64)
    loose = int(ids[0])
    store.con.execute("UPDATE unit_themes SET probability = 0.2 WHERE run_id = 'r1' AND unit_id = "
                      "(SELECT min(unit_id) FROM unit_themes WHERE run_id = 'r1' AND theme_id = ?)", [loose])
    cut = incremental.cutoffs(ctx, "r1", ids, threshold=0.35, spread=1.5)
    assert cut[0] == pytest.approx(0.2) and (cut[1:] <= 0.35).all()
    assert (incremental.cutoffs(ctx, "r1", ids, threshold=0.35, spread=0.0) == 0.35).all()


def test_incremental_run_in_a_cold_process_loads_no_theme_model(tmp_path):
    """A cold process adding units runs no fit: no BERTopic, UMAP, spaCy or ONNX Runtime is imported.
    (scikit-learn still is: stage.py imports the labeller at module level.)"""
    db = tmp_path / "store.duckdb"
    cfg = load_config(overrides=["run.progress=false", "themes.guided_path=\"\"",
                                 "themes.small_corpus_units_per_theme=20"])
    texts, vecs, _ = blob_corpus(n_per_blob=40)
    with Store(db) as store:
        write_corpus(store, texts, vecs)
        stage.run(StageContext.create(store, cfg, run_id="r1"))
        add_units(store, near(vecs, 4, seed=8), "n")
    script = f"""
import json, sys
from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.store import Store
from commentminer.themes import stage
cfg = load_config(overrides=["run.progress=false", 'themes.guided_path=""', "themes.small_corpus_units_per_theme=20"])
with Store({str(db)!r}) as store:
    stats = stage.run(StageContext.create(store, cfg, run_id="r2"))
heavy = [m for m in ("bertopic", "umap", "hdbscan", "spacy", "onnxruntime", "torch") if m in sys.modules]
print(json.dumps({{"mode": stats["mode"], "new": stats["new_units"], "heavy": heavy}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": ROOT_SRC, "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"mode": "incremental", "new": 4, "heavy": []}


def test_theme_growth_query_names_the_grown_themes(ctx, store, fitted):
    from commentminer.aggregate import theme_growth

    vecs, _, _ = fitted
    add_units(store, near(vecs, 6, seed=9), "n")
    stats = run_as(ctx, "r2")
    growth = theme_growth(store, "r2")
    assert growth[["theme_id", "label", "kind", "before", "after"]].to_dict("records") == stats["grew"]
    assert set(growth.previous_run_id) == {"r1"} and set(growth["mode"]) == {"incremental"}
    assert theme_growth(store, "r1").empty


@pytest.mark.parametrize("command", ["run", "analyse"])
@pytest.mark.parametrize("flag, refit", [("--refit", True), (None, False)])
def test_cli_refit_flag_sets_themes_refit(monkeypatch, tmp_path, command, flag, refit):
    from typer.testing import CliRunner

    from commentminer import api
    from commentminer.cli import app

    seen = {}

    def fake_run(paths, out, config, db, log, **ingest_options):  # fmt, column_map
        seen["refit"] = config.themes.refit
        return api.RunResult("run_x", tmp_path / "s.duckdb", {"report": tmp_path / "r", "brief": tmp_path / "b"}, {})

    def fake_analyse(config, db, log):
        seen["refit"] = config.themes.refit
        return "run_x"

    monkeypatch.setattr(api, "run", fake_run)
    monkeypatch.setattr(api, "analyse", fake_analyse)
    args = [command, *([str(tmp_path), "--out", str(tmp_path)] if command == "run" else []), "-q",
            *([flag] if flag else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["refit"] is refit
