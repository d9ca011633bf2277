"""themes stage at bounded memory (issue 12): chunked steps give the one-chunk results, the stored vectors are
never one float32 matrix, labels and summaries read a per-theme sample of texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commentminer.store import vectors as store_vectors
from commentminer.themes import stage, summary as themed_summary, units as themed_units
from commentminer.themes.quotes import quotes_by_theme, unit_priority
from test_themes import blob_corpus
from test_themes_stage import write_corpus

COLUMNS = ["theme_id", "label", "keywords", "kind", "n_units", "n_comments", "n_commenters", "parent_id", "summary",
           "summary_unit_ids"]


def corpus(n_per_blob: int = 80, n_noise: int = 20):
    """Three blobs plus `n_noise` random directions (far from every theme: they go to "other")."""
    texts, vecs, _ = blob_corpus(n_per_blob=n_per_blob)
    rng = np.random.default_rng(7)
    noise = rng.normal(size=(n_noise, vecs.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    texts = texts + [f"Nothing much to say about item number {i} here." for i in range(n_noise)]
    return texts, np.vstack([vecs, noise])


@pytest.fixture
def large_path(ctx):
    """Settings that send a 260-unit corpus down the large path: fit on a sample of 100, the rest by centroid."""
    cfg = ctx.config.themes
    cfg.guided_path, cfg.small_corpus_max_units, cfg.fit_sample, cfg.min_topic_size = "", 50, 100, 5
    return cfg


def _rows(store, run_id="run_test"):
    themes = store.read("themes", "run_id = ? ORDER BY theme_id", [run_id])
    units = store.read("unit_themes", "run_id = ? ORDER BY unit_id", [run_id])
    return themes, units


def test_chunked_stage_equals_one_chunk(ctx, store, large_path):
    texts, vecs = corpus()
    units = write_corpus(store, texts, vecs)
    large_path.chunk_rows = 100_000
    one = stage.run(ctx)
    themes_one, units_one = _rows(store)
    large_path.chunk_rows = 7          # re-run of the same run id: replaces its rows (a full fit again)
    chunked = stage.run(ctx)
    themes_chunked, units_chunked = _rows(store)
    assert one["strategy"].startswith("large:") and one["strategy"] == chunked["strategy"]
    assert 0 < one["other_units"] == chunked["other_units"] and one["themes"] == chunked["themes"] >= 3
    assert units_one.theme_id.tolist() == units_chunked.theme_id.tolist()
    assert units_one.quote_rank.fillna(0).tolist() == units_chunked.quote_rank.fillna(0).tolist()
    assert np.allclose(units_one.probability, units_chunked.probability, atol=1e-9)
    assert themes_one[COLUMNS].astype(str).values.tolist() == themes_chunked[COLUMNS].astype(str).values.tolist()
    assert np.allclose(np.stack(themes_one.centroid), np.stack(themes_chunked.centroid), atol=1e-9)

    # ... and what the in-memory functions give on all vectors at once: quotes, centroids, counts
    order = np.argsort(units.unit_id.to_numpy())
    all_vectors = vecs[order].astype(np.float16).astype(np.float32)
    assignments = units_chunked.theme_id.to_numpy()
    named = store.read("comments").set_index("comment_id").name.notna()
    ordered = units.iloc[order]
    priority = unit_priority(ordered.kind.tolist(), [bool(named.get(c, False)) for c in ordered.comment_id])
    rank = units_chunked.quote_rank.to_numpy()
    for theme_id, quotes in quotes_by_theme(all_vectors, assignments, ctx.config.themes.n_quotes, priority).items():
        assert [int(rank[i]) for i in quotes] == list(range(1, len(quotes) + 1))
        assert np.sum(~pd.isna(rank[assignments == theme_id])) == len(quotes)
    for row in themes_chunked[themes_chunked.kind != "parent"].itertuples():
        members = all_vectors[assignments == row.theme_id]
        mean = members.astype(np.float64).mean(axis=0)
        assert row.n_units == len(members)
        assert np.allclose(row.centroid, mean / np.linalg.norm(mean), atol=1e-6)


def test_stage_never_holds_all_vectors_as_float32(ctx, store, large_path, monkeypatch):
    texts, vecs = corpus()
    write_corpus(store, texts, vecs)
    large_path.chunk_rows = 7
    large_path.label_sample = 30       # summaries take at most 7 units of each of the 4 themes (with "other")
    seen: list[int] = []

    def watch(convert):
        def wrapped(block, *args, **kwargs):
            out = convert(block, *args, **kwargs)
            seen.append(len(out) if np.ndim(out) == 2 else 1)
            return out
        return wrapped

    to_float32 = watch(themed_units.float32_rows)                                      # held float16 -> float32
    monkeypatch.setattr(themed_units, "float32_rows", to_float32)
    monkeypatch.setattr(stage, "float32_rows", to_float32)
    monkeypatch.setattr(themed_summary, "float32_rows", to_float32)                 # summaries of the label sample
    monkeypatch.setattr(store_vectors, "vector_matrix", watch(store_vectors.vector_matrix))  # store reads
    stats = stage.run(ctx)
    assert stats["units"] == len(texts) and stats["strategy"].startswith("large:")
    # the fit sample is the one block bigger than a chunk; everything else is read and computed 7 rows at a time
    assert max(seen) == large_path.fit_sample < len(texts)
    assert sorted(set(seen))[-2] <= large_path.chunk_rows and stats["label_sample"] <= 30


def test_labels_and_summaries_read_only_a_per_theme_sample(ctx, store, large_path, monkeypatch):
    texts, vecs = corpus()
    write_corpus(store, texts, vecs)
    large_path.label_sample = 60
    read: list[np.ndarray] = []
    texts_at = stage.texts_at
    monkeypatch.setattr(stage, "texts_at", lambda c, kinds, positions, rows: read.append(positions) or
                        texts_at(c, kinds, positions, rows))
    stats = stage.run(ctx)
    # two reads: the fit sample's texts (their words refine the partition, lexical.py), then the label sample's
    assert len(read) == 2 and len(read[0]) == large_path.fit_sample
    assert stats["label_sample"] == len(read[1]) <= 60
    themes, units = _rows(store)
    summarised = {u for ids in themes.summary_unit_ids for u in ids}
    sampled = set(units.unit_id.to_numpy()[read[1]])
    assert summarised and summarised <= sampled
    assert themes.label.str.len().gt(0).all()
    large_path.lexical_weight = 0          # no refinement by words: the fit sample's texts are not read
    read.clear()
    stage.run(ctx)
    assert len(read) == 1 and len(read[0]) <= 60


def test_theme_sample_is_even_seeded_and_nested():
    assignments = np.repeat([0, 1, 2, -1], [500, 40, 200, 60])
    sample = themed_units.ThemeSample(assignments, budget=300, seed=3)
    counts = dict(zip(*np.unique(assignments[sample.positions], return_counts=True)))
    assert sum(counts.values()) <= 300 and counts[1] == 40 and counts[-1] == 60   # small themes whole
    assert counts[0] == counts[2] == sample.cap                                     # big ones capped alike
    again = themed_units.ThemeSample(assignments, budget=300, seed=3)
    assert np.array_equal(sample.positions, again.positions)
    union = sample.positions[np.isin(assignments[sample.positions], [0, 2])]
    assert set(sample.within(union)) <= set(union) and len(sample.within(union)) == sample.cap
    everything = themed_units.ThemeSample(assignments, budget=len(assignments), seed=3)
    assert np.array_equal(everything.positions, np.arange(len(assignments)))


def test_incremental_run_reads_new_vectors_in_chunks(ctx, store, monkeypatch):
    texts, vecs = corpus(n_per_blob=30, n_noise=0)
    ctx.config.themes.guided_path = ""
    write_corpus(store, texts[:80], vecs[:80])
    stage.run(ctx)
    ctx.run_id = "run_next"
    write_corpus(store, texts, vecs)               # 10 new units (the first 80 again: unchanged)
    ctx.config.themes.chunk_rows = 3
    seen: list[int] = []
    matrix = store_vectors.vector_matrix
    monkeypatch.setattr(store_vectors, "vector_matrix", lambda column: seen.append(len(column)) or matrix(column))
    stats = stage.run(ctx)
    assert stats["mode"] == "incremental" and stats["new_units"] == 10
    assert seen and max(seen) <= 3
