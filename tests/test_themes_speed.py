"""The themes stage's faster building blocks give what the slower ones gave (fast; no UMAP, no model)."""

from __future__ import annotations

import types

import numpy as np
import pyarrow as pa
import pytest

from commentminer.errors import CommentminerError
from commentminer.store.vectors import vector_matrix
from commentminer.themes import jit, stage, units as themed_units
from commentminer.themes.bertopic_model import BertopicThemeModel, numbered_by_size
from commentminer.themes.clustering import SampleSilhouette, cosine_knn
from commentminer.themes.labels import describe_themes
from commentminer.themes.terms import regroup, term_statistics
from commentminer.themes.summary import pick_summary
from commentminer.themes.wordforms import _TextSearch, phrase_forms
from test_themes import blob_corpus
from test_themes_stage import write_corpus


def unit_vectors(n: int, dim: int = 24, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# -- clustering -----------------------------------------------------------------------------------------------
def test_cosine_knn_is_exact_with_each_point_first():
    X = unit_vectors(300)
    X[7] = X[8]                                                   # a duplicate: distance 0, but self still first
    idx, dist = cosine_knn(X, 15, block=64)
    assert idx.shape == dist.shape == (300, 15) and idx.dtype == np.int32 and dist.dtype == np.float32
    assert np.array_equal(idx[:, 0], np.arange(300)) and np.all(dist[:, 0] == 0)
    sims = X.astype(np.float64) @ X.T.astype(np.float64)
    np.fill_diagonal(sims, -np.inf)
    expected = np.sort(1 - np.sort(sims, axis=1)[:, ::-1][:, :14], axis=1)
    assert np.allclose(dist[:, 1:], expected, atol=1e-5)          # the 14 closest others, closest first
    assert np.all(np.diff(dist, axis=1) >= 0)
    assert idx[7, 1] == 8 and dist[7, 1] < 1e-6
    small, _ = cosine_knn(X[:4], 15)                              # k > n: every point, self first
    assert small.shape == (4, 4) and sorted(small[2].tolist()) == [0, 1, 2, 3] and small[2, 0] == 2


@pytest.mark.parametrize("shape, m", [((40, 1000), 14), ((40, 130), 5), ((6, 64), 64), ((30, 700), 1)])
def test_top_columns_equals_a_full_stable_sort_with_ties(shape, m):
    """The thresholded top-m (chunk maxima bound the candidates) gives exactly what sorting every row gives, ties
    to the lower column, whether the bound path (more than m chunks) or the whole-row sort runs."""
    from commentminer.themes.clustering import top_columns

    sims = np.random.default_rng(m).normal(size=shape).astype(np.float32)
    sims[:, ::7] = sims[:, :1]                                     # many ties, some at the boundary
    sims[0] = 0.0                                                  # a row of equal values
    expected = np.argsort(-sims, axis=1, kind="stable")[:, :m]
    assert np.array_equal(top_columns(sims, m), expected)


@pytest.mark.parametrize("k", [2, 7, 30])
def test_sample_silhouette_equals_scikit_learn(k):
    from sklearn.metrics import silhouette_score

    Z = np.random.default_rng(k).normal(size=(500, 5)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, k, 500)
    labels[:2] = 99                                               # any label values; a tiny cluster
    assert SampleSilhouette(Z).score(labels) == float(silhouette_score(Z, labels))


def test_cluster_gives_fit_s_partition_numbered_by_size():
    texts, vecs, _ = blob_corpus(n_per_blob=20)
    keep = np.r_[0:60, 0:10] % 60                                 # unequal blob sizes (some units twice)
    model = BertopicThemeModel(seed=7, units_per_theme=20)
    fit = model.fit([texts[i] for i in keep], vecs[keep])
    fast = model.cluster(vecs[keep])
    assert fast.strategy == fit.strategy == "small:ward" and fast.themes == []
    assert np.array_equal(fast.assignments, fit.assignments)      # same partition, same size order
    assert np.bincount(fast.assignments).tolist() == sorted(np.bincount(fast.assignments), reverse=True)
    assert model.cluster(np.zeros((0, 8), np.float32)).strategy == "empty"
    assert model.cluster(vecs[:3]).strategy == "single"
    assert numbered_by_size(np.array([5, 3, 3, 7, 7, 5, 9, 3])).tolist() == [1, 0, 0, 2, 2, 1, 3, 0]


# -- numba cache ----------------------------------------------------------------------------------------------
def test_cache_dir_honours_numba_cache_dir_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert jit.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert jit.cache_dir() == tmp_path / "xdg" / "commentminer" / "numba"


def test_configure_cache_creates_the_directory_and_sets_numba_s_setting(monkeypatch, tmp_path):
    import sys

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fake_config = types.SimpleNamespace(CACHE_DIR="")
    monkeypatch.setitem(sys.modules, "numba.core.config", fake_config)
    path = jit.configure_cache()
    assert path == tmp_path / "commentminer" / "numba" and path.is_dir()
    import os

    assert os.environ["NUMBA_CACHE_DIR"] == str(path) and fake_config.CACHE_DIR == str(path)
    fake_config.CACHE_DIR = "/elsewhere"                          # a directory the user chose is kept
    jit.configure_cache()
    assert fake_config.CACHE_DIR == "/elsewhere"


def test_enable_caching_writes_an_uncached_function_to_the_cache_dir(monkeypatch, tmp_path):
    numba = pytest.importorskip("numba")
    from numba.core import config

    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))

    @numba.njit
    def twice(x):
        return 2 * x

    assert jit.enable_caching(twice) and twice(21) == 42
    assert any(p.suffix == ".nbi" for p in tmp_path.rglob("*"))  # index + compiled code on disk
    assert not jit.enable_caching(len)                            # not a numba function: left alone


# -- labels ---------------------------------------------------------------------------------------------------
TEXTS = ["Lip service is all we get", "They pay lip service to the CCG board", "Voting rights on the board",
         "A seat and voting rights", "The budget and the funding", "Funding cuts hit the budget again",
         "The CCG’s board met", "Nobody listens to practice managers"]


def test_regroup_equals_counting_the_merged_themes_again():
    leaves = np.array([0, 0, 1, 1, 2, 2, -1, 3])
    merged = np.array([10, 10, 10, 10, 2, 2, -1, 3])
    stats = regroup(term_statistics(TEXTS, leaves), {0: 10, 1: 10})
    direct = term_statistics(TEXTS, merged)
    assert stats.theme_ids == direct.theme_ids == [-1, 2, 3, 10]
    for name in ("counts", "support", "doc_freq", "sizes", "quoted", "names"):
        assert np.array_equal(getattr(stats, name), getattr(direct, name)), name
    assert list(stats.vocab) == list(direct.vocab) and stats.written == direct.written


def test_many_theme_cells_drop_the_phrases_of_one_unit_only(monkeypatch):
    from commentminer.themes import terms

    leaves = np.array([0, 0, 1, 1, 2, 2, -1, 3])
    full = term_statistics(TEXTS, leaves)
    monkeypatch.setattr(terms, "MAX_DENSE_CELLS", 0)      # as if themes x phrases were too many to hold densely
    pruned = term_statistics(TEXTS, leaves)
    keep = full.doc_freq >= 2
    assert 0 < keep.sum() < len(keep) and list(pruned.vocab) == list(full.vocab[keep])
    for name in ("counts", "support"):
        assert np.array_equal(getattr(pruned, name), getattr(full, name)[:, keep]), name
    assert np.array_equal(pruned.doc_freq, full.doc_freq[keep]) and np.array_equal(pruned.sizes, full.sizes)


def test_describe_themes_with_given_stats_and_forms_cache_is_unchanged():
    leaves = np.array([0, 0, 1, 1, 2, 2, -1, 3])
    plain = describe_themes(TEXTS, leaves, top_n=5)
    cache: dict = {}
    again = describe_themes(TEXTS, leaves, top_n=5, stats=term_statistics(TEXTS, leaves), forms_cache=cache)
    assert again == plain and cache
    assert describe_themes(TEXTS, leaves, top_n=5, forms_cache=cache) == plain   # answered from the cache
    with pytest.raises(ValueError):
        describe_themes(TEXTS, leaves, stats=term_statistics(TEXTS, np.zeros(8, int)))


def test_text_search_finds_the_same_texts_as_a_loop():
    texts = ["abc", "", "xbcx", "bc", "q\x00bc", "abcbc"]
    search = _TextSearch(texts)
    for sub in ["bc", "x", "q", "zz", "", "q\x00", "c"]:
        assert list(search.containing(sub)) == [i for i, t in enumerate(texts) if sub in t], sub
    assert phrase_forms(["ccg board"], TEXTS, str) == {"ccg board": "CCG board"}


# -- summaries ------------------------------------------------------------------------------------------------
def _pick_summary_full_matrix(embeddings, members, texts, max_sentences=3):
    """The previous implementation (one members x members matrix), kept here as the reference."""
    from commentminer.themes.summary import MIN_WORDS, NEAR_DUPLICATE, summary_size

    members = np.asarray(members, dtype=np.int64)
    k = summary_size(len(members), max_sentences)
    vecs = np.asarray(embeddings[members], np.float64)
    sims = vecs @ vecs.T
    allowed = np.ones(len(members), dtype=bool)
    long_enough = np.array([len(str(texts[i]).split()) >= MIN_WORDS for i in members])
    if long_enough.sum() >= k:
        allowed = long_enough
    covered = np.full(len(members), -1.0)
    chosen = []
    for _ in range(k):
        gains = np.maximum(sims, covered[None, :]).sum(axis=1)
        gains[~allowed] = -np.inf
        for c in chosen:
            gains[sims[c] > NEAR_DUPLICATE] = -np.inf
        if not np.isfinite(gains).any():
            break
        best = int(np.argmax(gains))
        chosen.append(best)
        covered = np.maximum(covered, sims[best])
    return [int(members[c]) for c in chosen]


def test_blockwise_summary_picks_what_the_full_matrix_picked():
    X = unit_vectors(400, dim=16, seed=3)
    rng = np.random.default_rng(0)
    texts = ["word " * int(rng.integers(3, 14)) for _ in range(400)]
    for trial in range(20):
        members = np.sort(rng.choice(400, int(rng.integers(1, 400)), replace=False))
        expected = _pick_summary_full_matrix(X, members, texts)
        assert pick_summary(X, members, texts, block=7) == expected
        assert pick_summary(X, members, texts) == expected


# -- store reads and progress ---------------------------------------------------------------------------------
def test_vector_matrix_reads_list_and_fixed_size_columns():
    m = np.arange(12, dtype=np.float32).reshape(4, 3)
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(m.reshape(-1)), 3)
    assert np.array_equal(vector_matrix(pa.chunked_array([fixed[:1], fixed[1:]])), m)
    lists = pa.array([[9, 9], [1, 2], [3, 4]], type=pa.list_(pa.float64())).slice(1)
    got = vector_matrix(pa.chunked_array([lists]))
    assert got.dtype == np.float32 and got.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(CommentminerError, match="differ in length"):
        vector_matrix(pa.array([[1.0, 2.0], [3.0]]))


def test_load_units_gives_the_stored_vectors_in_unit_order(ctx, store):
    texts, vecs, _ = blob_corpus(n_per_blob=5)
    units = write_corpus(store, texts, vecs)
    loaded = themed_units.load_units(ctx, ["article", "comment"], "test-embedder", chunk_rows=4)
    order = np.argsort(units.unit_id.to_numpy())
    assert loaded.unit_ids.tolist() == sorted(units.unit_id)
    # vectors are stored as float16 (issue 12) and held as float16: exactly the stored values
    assert loaded.vectors.dtype == np.float16 and np.array_equal(loaded.vectors, vecs[order].astype(np.float16))
    assert [t for chunk in themed_units.iter_texts(ctx, ["article", "comment"], 4) for t in chunk] == [texts[i] for i in order]
    assert themed_units.texts_at(ctx, ["article", "comment"], np.array([0, 5, 14]), 4) == [texts[order[i]] for i in (0, 5, 14)]


def test_stage_shows_its_steps_through_ctx_progress(ctx, store, monkeypatch):
    texts, vecs, _ = blob_corpus(n_per_blob=20)
    write_corpus(store, texts, vecs)
    ctx.config.themes.guided_path = ""
    seen = []

    def progress(items, total=None, desc="", unit="item"):
        seen.append((desc, unit, total))
        for item in items:
            seen.append(item)
            yield item

    monkeypatch.setattr(ctx, "progress", progress)
    stats = stage.run(ctx)
    assert stats["themes"] == 3
    assert seen[0] == ("themes", "step", len(stage.STEPS)) and seen[1:] == list(stage.STEPS)


def test_preloaded_tagger_reports_a_missing_pipeline_when_used():
    from commentminer.errors import BackendError
    from commentminer.themes.pos import SpacyTagger

    tagger = SpacyTagger("no_such_pipeline").preload()
    with pytest.raises(BackendError, match="no_such_pipeline"):
        tagger(["text"])
