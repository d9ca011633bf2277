"""`commentminer.api.to_bertopic`: a real fitted BERTopic holding a run's themes (issue 13 item 6)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import commentminer as cm
from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.store import Store
from commentminer.themes import stage
from test_themes import blob_corpus
from test_themes_stage import write_corpus


@pytest.fixture
def themed_db(tmp_path):
    """A store file with one finished themes run over three blobs (90 units), articles dated for over-time."""
    path = tmp_path / "cm.duckdb"
    texts, vecs, truth = blob_corpus(n_per_blob=30)
    config = load_config(overrides=["run.progress=false", "themes.small_corpus_units_per_theme=10"])
    with Store(path) as store:
        units = write_corpus(store, texts, vecs)
        store.upsert("comments", store.read("comments").assign(
            published=pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(len(store.read("comments"))) * 9, "D")))
        stats = stage.run(StageContext.create(store, config, run_id="run_x"))
        store.upsert("runs", pd.DataFrame([{"run_id": "run_x", "status": "ok", "stats_json": json.dumps(
            {"themes": stats}), "started_at": pd.Timestamp("2024-05-01"), "finished_at": pd.Timestamp("2024-05-01")}]))
        themes = store.read("themes", "run_id = ?", ["run_x"])
        assignments = store.read("unit_themes", "run_id = ?", ["run_x"]).merge(units, on="unit_id")
    return path, themes, assignments


def test_to_bertopic_holds_our_themes_and_its_visualisations_work(themed_db):
    path, themes, assignments = themed_db
    model = cm.to_bertopic(db=path)
    leaves = themes[themes.kind.isin(["guided", "discovered", "other"])]
    info = model.get_topic_info()
    # one BERTopic topic per leaf theme, same sizes, our labels
    assert sorted(info.Count.tolist()) == sorted(leaves.n_units.tolist())
    theme_of = model.commentminer_theme_ids_
    for row in info.itertuples():
        ours = leaves.set_index("theme_id").loc[theme_of[row.Topic]]
        assert row.Count == ours.n_units and row.CustomName == ours.label
        words = [w for w, _ in model.get_topic(row.Topic)]
        assert words[0] == ours.keywords[0].lower()                    # our keywords lead the representation
    # units map one to one
    topics = np.asarray(model.topics_)
    order = assignments.sort_values("unit_id")
    assert [theme_of[t] for t in topics] == order.theme_id.tolist()
    # the four calls a BERTopic user makes
    assert model.visualize_barchart(custom_labels=True) is not None
    if len(info) >= 3:
        assert model.visualize_hierarchy(custom_labels=True) is not None
    assert len(model.commentminer_docs_) == assignments.kind.eq("comment").sum()   # the dated units (comments)
    over_time = model.topics_over_time(model.commentminer_docs_, model.commentminer_timestamps_,
                                       topics=model.commentminer_topics_, nr_bins=3)
    assert set(over_time.Topic) <= set(info.Topic) and over_time.Frequency.sum() > 0


def test_to_bertopic_without_a_run_is_a_one_line_error(tmp_path):
    path = tmp_path / "empty.duckdb"
    with Store(path):
        pass
    with pytest.raises(cm.CommentminerError, match="no completed analysis run"):
        cm.to_bertopic(db=path)
