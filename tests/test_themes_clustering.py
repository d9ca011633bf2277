"""Corpus-size-aware clustering: k selection, strategies, determinism, edge inputs, benchmark metrics (fast).

The full UMAP path pays numba's one-off compilation (about 40 s), so that test is marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from commentminer.themes.bertopic_model import BertopicThemeModel
from commentminer.themes.clustering import (
    SelectedKClusterer,
    SmallCorpusClusterer,
    nearest_centroid,
    select_k,
)
from fixtures.benchmarks import load_benchmark


def _benchmark():
    return load_benchmark("themes")


def blobs(k: int, per: int = 60, dim: int = 5, spread: float = 0.3, seed: int = 0):
    """k well-separated Gaussian blobs (centres about 10 apart, as in a UMAP space)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(k, dim))
    truth = np.repeat(np.arange(k), per)
    return centres[truth] + spread * rng.normal(size=(k * per, dim)), truth


def sphere_blobs(k: int, per: int, dim: int = 384, spread: float = 0.5, seed: int = 0):
    """k blobs of L2-normalised vectors (like sentence embeddings of k topics)."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(k), per)
    vecs = rng.normal(size=(k, dim))[truth] + spread * rng.normal(size=(k * per, dim))
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32), truth


@pytest.mark.parametrize("k", [2, 3, 5, 8, 12, 20])
def test_select_k_recovers_k_on_separated_blobs(k):
    Z, truth = blobs(k, seed=k)
    chosen, labels, scores = select_k(Z, 2, 30, seed=1)
    assert chosen == k
    assert _benchmark().cluster_accuracy(truth, labels) == 1.0
    assert set(scores) == set(range(2, 31))


def test_select_k_is_deterministic_and_handles_tiny_inputs():
    Z, _ = blobs(4, per=30)
    first, second = select_k(Z, 2, 10, seed=3), select_k(Z, 2, 10, seed=3)
    assert first[0] == second[0] and np.array_equal(first[1], second[1]) and first[2] == second[2]
    assert select_k(Z[:2], 2, 10, seed=0)[0] == 1                  # no valid k: one cluster
    k, labels, _ = select_k(np.zeros((10, 3)), 2, 5, seed=0)       # identical points never crash
    assert len(labels) == 10


def test_nearest_centroid_batches_match_one_shot():
    X, _ = sphere_blobs(3, 40, dim=16)
    centres = X[[0, 40, 80]]
    assert np.array_equal(nearest_centroid(X, centres, batch=7), np.argmax(X @ centres.T, axis=1))
    assert np.array_equal(nearest_centroid(X, centres)[[0, 40, 80]], [0, 1, 2])


def test_strategy_is_chosen_by_corpus_size():
    model = BertopicThemeModel(seed=5, small_corpus_max_units=2000, max_themes=30, fit_sample=5000,
                               min_topic_size=15)
    small, strategy, details = model.cluster_model(240)
    assert isinstance(small, SmallCorpusClusterer) and strategy == "small:ward" and details["target_themes"] == 12
    large, strategy, _ = model.cluster_model(50_000)
    assert isinstance(large, SelectedKClusterer) and strategy.startswith("medium:")
    assert (large.seed, large.k_max, large.fit_sample, large.min_size) == (5, 30, 5000, 15)
    assert ",n/10000:k<=30:ksearch=c2f+leaves+flat3x@0.93:umap-epochs=200:sample=5000:words=0.6x128" in model.model_id
    assert BertopicThemeModel().cluster_model(50_000)[0].k_max == 0          # no ceiling by default (issue 13)


def test_selected_k_clusterer_tiny_input_is_one_theme_without_umap():
    X, _ = sphere_blobs(2, 3, dim=8)
    fitted = SelectedKClusterer(seed=0).fit(X)
    assert fitted.labels_.tolist() == [0] * 6 and fitted.chosen_k_ == 1
    assert fitted.predict(X).tolist() == [0] * 6
    strategy, details = fitted.describe(6)
    assert strategy.startswith("medium:") and details["fit_sample"] == 6


def test_from_config_reads_the_new_keys():
    from commentminer.config import ThemesConfig

    model = BertopicThemeModel.from_config(ThemesConfig(max_themes=12, fit_sample=2000, min_themes=5))
    assert (model.max_themes, model.fit_sample, model.min_themes) == (12, 2000, 5)
    assert "k>=5,n/10000:k<=12" in model.model_id


def test_min_themes_is_a_floor_for_the_k_search():
    from commentminer.config import ThemesConfig
    from commentminer.errors import ConfigError
    from commentminer.config import load_config

    X, truth = sphere_blobs(3, 300)
    large = dict(small_corpus_max_units=0, fit_sample=2000)      # the UMAP + k-search strategy
    fitted = BertopicThemeModel.from_config(ThemesConfig(min_themes=8, **large)).cluster_model(len(X))[0].fit(X)
    assert fitted.k_range_[0] == 8 and fitted.chosen_k_ >= 8
    assert BertopicThemeModel.from_config(ThemesConfig(**large)).cluster_model(len(X))[0].fit(X).chosen_k_ == 3
    small = BertopicThemeModel.from_config(ThemesConfig(min_themes=60)).cluster_model(len(X))[0]
    assert small.n_clusters == 60                                   # 900 units / 20 a theme would be 45
    with pytest.raises(ConfigError, match="min_themes"):
        load_config(overrides=["themes.min_themes=20", "themes.max_themes=10"])


def test_big_corpora_search_from_one_theme_per_leaf_max_units():
    """100,000 mixed units peaked at the 3 sources; the search now starts at one leaf per LEAF_MAX_UNITS units."""
    from commentminer.themes.ksearch import LEAF_MAX_UNITS, k_floor

    assert k_floor(20_000, 2, 142) == 2 and k_floor(100_000, 2, 317) == 100_000 // LEAF_MAX_UNITS
    assert k_floor(100_000, 2, 5) == 5 and k_floor(100_000, 15, 317) == 15 and k_floor(0, 2, 2) == 2
    X, _ = sphere_blobs(3, 300)   # 3 clear groups, fitted as a sample of a corpus of 250,000 units
    fitted = SelectedKClusterer(seed=1, min_size=15, fit_sample=2000).fit(X, n_units=250_000)
    assert fitted.k_range_ == (25, 60) and fitted.chosen_k_ >= 25
    assert SelectedKClusterer(seed=1, min_size=15, fit_sample=2000).fit(X).chosen_k_ == 3


# -- benchmark metrics ----------------------------------------------------------------------------------------
def test_accuracy_is_one_for_a_relabelled_partition_and_penalises_extra_clusters():
    bench = _benchmark()
    gold = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    perm = np.array([2, 0, 3, 1])
    assert bench.cluster_accuracy(gold, perm[gold]) == 1.0
    split = np.array([0, 1, 2, 2, 3, 3, 4, 4])   # class 0 split in two: one half is unmatched, so wrong
    assert bench.cluster_accuracy(gold, split) == pytest.approx(7 / 8)
    assert bench.cluster_accuracy(gold, np.zeros(8, int)) == pytest.approx(2 / 8)
    s = bench.scores(gold, perm[gold])
    assert s["nmi"] == pytest.approx(1.0) and s["ari"] == pytest.approx(1.0) and s["acc"] == 1.0


def test_loader_handles_crlf_and_trailing_tab(tmp_path):
    path = tmp_path / "set.txt"
    path.write_bytes(b"2\tHow do I use LINQ?\t\r\n1\tsvn clients\t\r\n\r\n1\tlast line")
    texts, gold = _benchmark().load_dataset(path)
    assert texts == ["How do I use LINQ?", "svn clients", "last line"] and gold.tolist() == [2, 1, 1]


def test_benchmark_smoke_on_synthetic_data(capsys, monkeypatch):
    bench = _benchmark()
    monkeypatch.setattr(bench, "warm_up", lambda seed: None)
    assert bench.main(["--synthetic", "--limit", "240", "--methods", "commentminer", "kmeans"]) == 0
    out = capsys.readouterr().out
    assert "| synthetic (240, 6) | (a) commentminer: small:ward" in out and "(c) KMeans, gold k: kmeans(k=6, n_init=10)" in out
    assert "ACC vs (c)" in out


@pytest.mark.slow
def test_selected_k_clusterer_on_a_sample_recovers_topics_and_is_deterministic():
    X, truth = sphere_blobs(6, 400)                      # 2,400 units, fitted on a sample of 1,000
    model = SelectedKClusterer(seed=7, fit_sample=1000, min_size=15)
    fitted = model.fit(X)
    assert fitted.chosen_k_ == 6 and len(fitted.cluster_centers_) == 6
    assert _benchmark().cluster_accuracy(truth, fitted.labels_) == 1.0
    strategy, details = fitted.describe(len(X))
    assert strategy.startswith("large:umap5+kmeans(k=6") and "sample of 1000" in strategy
    assert details["fit_sample"] == 1000 and details["k_range"] == [2, 49]     # sqrt(2,400 units): no fixed ceiling
    again = SelectedKClusterer(seed=7, fit_sample=1000, min_size=15).fit(X)
    assert np.array_equal(again.labels_, fitted.labels_)


# -- the fit's building blocks and the k sweep (benchmarks/themes.py --sweep) ---------------------------------
def test_spread_dissolves_small_clusters_and_sends_the_rest_to_the_nearest_centroid():
    X, truth = sphere_blobs(3, 40, dim=16)
    model = SelectedKClusterer(seed=0, fit_sample=60, min_size=5)
    sample = model.sample_indices(len(X))
    assert len(sample) == 60 and np.array_equal(sample, np.sort(sample))
    assert np.array_equal(sample, model.sample_indices(len(X)))              # seeded: same sample every time
    assert np.array_equal(SelectedKClusterer(fit_sample=500).sample_indices(120), np.arange(120))
    chosen = truth[sample].copy()
    chosen[0] = 3                                                            # a one-unit cluster: dissolved
    labels, centers = model.spread(X, sample, chosen)
    assert len(centers) == 3 and centers.dtype == np.float32
    assert _benchmark().cluster_accuracy(truth, labels) == 1.0               # sample and rest all on their blob
    assert model.k_high(60) == 8 and SelectedKClusterer(k_max=40, min_size=15).k_high(10_000) == 40   # sqrt(60)
    # k_max 0: no fixed ceiling (issue 13): about sqrt(units), at most one theme per min_size sampled units
    assert SelectedKClusterer(min_size=15).k_high(10_000) == 100
    assert SelectedKClusterer(min_size=15).k_high(10_000, 100_000) == 317
    assert SelectedKClusterer(min_size=15).k_high(1_000, 100_000) == 66


def test_k_sweep_scores_every_k_and_marks_the_chosen_one(monkeypatch):
    bench = _benchmark()
    X, truth = sphere_blobs(6, 400, dim=16)                                  # 2,400 units: the UMAP strategy
    Z, _ = blobs(6, per=400, seed=3)
    monkeypatch.setattr(SelectedKClusterer, "_reduce", lambda self, Xs: Z)   # a known 5-d space, no numba
    rows, chosen = bench.k_sweep(X, truth, seed=1)
    assert chosen == 6 and [r["k"] for r in rows] == list(range(2, 50))      # 2..sqrt(2,400)
    by_k = {r["k"]: r for r in rows}
    assert by_k[6]["acc"] == 1.0 and by_k[6]["nmi"] == pytest.approx(1.0) and by_k[6]["rank_sum"] == 0
    assert by_k[5]["acc"] < 1.0 and by_k[7]["acc"] < 1.0
    assert bench.gap_choice(rows) == 6                                       # the gap statistic agrees here
    assert bench.gap_choice([{"k": 2, "gap": 1.0, "gap_sd": 0.1}, {"k": 3, "gap": 1.05, "gap_sd": 0.1}]) == 2
    assert bench.gap_choice([{"k": 2, "gap": 1.0, "gap_sd": 0.1}, {"k": 3, "gap": 1.2, "gap_sd": 0.1}]) == 3
    report = bench.sweep_report("blobs", X, truth, seed=1, n_seeds=2)
    assert "(a) chose k=6; best ACC over every k tried: 1.000 at k=6; the gap statistic would choose k=6" in report
    assert "| 6 (chosen) |" in report and "(c) KMeans k=6, n_init=10, seeds 0..1: ACC mean" in report


def test_sweep_flag_on_a_small_corpus_says_ward(capsys, monkeypatch):
    bench = _benchmark()
    monkeypatch.setattr(bench, "warm_up", lambda seed: None)
    assert bench.main(["--synthetic", "--limit", "240", "--sweep"]) == 0
    out = capsys.readouterr().out
    assert "### synthetic (n=240, gold k=6)" in out and "uses Ward for a corpus this small" in out
    assert "| dataset (n, gold k) |" not in out


# -- coarse-to-fine k search (issue 13: no ceiling on k) -----------------------------------------------------
def test_k_grids_cover_the_range_coarse_then_fine():
    from commentminer.themes.ksearch import coarse_grid, fine_grid

    grid = coarse_grid(2, 666)
    assert grid[0] == 2 and grid[-1] == 666 and len(grid) < 25
    assert all(b > a and b <= max(a + 1, round(a * 1.4)) for a, b in zip(grid, grid[1:-1]))
    assert fine_grid(15, 29) == [17, 19, 21, 23, 25, 27] and fine_grid(2, 3) == [] and coarse_grid(5, 4) == []


@pytest.mark.parametrize("k", [4, 9, 60])
def test_search_k_finds_many_topics_beyond_the_old_ceiling_with_few_fits(k):
    from commentminer.themes.ksearch import search_k

    X, truth = sphere_blobs(k, 30, dim=32, spread=0.02)
    chosen, labels, tried = search_k(X, 2, len(X) // 5, seed=3)
    assert chosen == k and _benchmark().cluster_accuracy(truth, labels) == 1.0
    assert len(tried) <= 40                                      # coarse-to-fine, not every k up to n / 5
    assert search_k(X, 2, len(X) // 5, seed=3)[0] == chosen      # deterministic
    assert search_k(X[:2], 2, 10, seed=0)[0] == 1                 # no valid k: one cluster


def test_search_levels_keeps_the_rank_sum_k_when_the_original_space_peaks_there():
    from commentminer.themes.ksearch import search_k, search_levels

    X, truth = sphere_blobs(9, 30, dim=32, spread=0.02)
    found = search_levels(X, 2, len(X) // 5, seed=3, X=X)
    assert found.k == found.coarse_k == search_k(X, 2, len(X) // 5, seed=3)[0] == 9
    assert set(found.silhouette_x) == set(found.scores)           # every tried k scored in the original space
    assert search_levels(X, 2, len(X) // 5, seed=3).silhouette_x == {}   # no X: no finer level looked for


def test_finer_peak_needs_a_clear_gain_and_a_fall_after_it():
    from commentminer.themes.ksearch import finer_peak

    merged = {3: 0.026, 20: 0.030, 57: 0.042, 142: 0.031}       # a peak of its own (merged benchmark set)
    rising = {7: 0.029, 20: 0.026, 80: 0.031, 112: 0.037}       # rises to the top of the range (near-duplicate clumps)
    assert finer_peak(merged, 3, 57)
    assert not finer_peak(rising, 7, 112) and not finer_peak(rising, 7, 80)
    assert not finer_peak(merged, 57, 57)                        # the peak is the coarse k: nothing finer
    assert not finer_peak({3: 0.040, 20: 0.044, 50: 0.030}, 3, 20)  # gain under LEAF_GAIN


def test_far_from_theme_needs_both_the_fixed_cut_and_the_theme_spread():
    from commentminer.themes.clustering import far_from_theme

    loose = np.array([0.30, 0.31, 0.32, 0.33, 0.34, 0.30, 0.31, 0.05])    # a loose theme: all under 0.35
    assert far_from_theme(loose, 0.35, 1.5).tolist() == [False] * 7 + [True]   # only its own outlier goes
    assert far_from_theme(loose, 0.35, 0.0).all()                         # spread 0: the fixed cut alone
    tight = np.array([0.90, 0.91, 0.92, 0.90, 0.91, 0.40])
    assert not far_from_theme(tight, 0.35, 1.5).any()                     # far for the theme, above the cut
    assert far_from_theme(np.array([0.2]), 0.35, 1.5).tolist() == [True]  # one member: the cut alone


def test_flat_level_takes_finer_leaves_only_when_the_peak_is_no_peak():
    from commentminer.themes.ksearch import flat_level

    def curve(sils):
        return {k: (1000.0 / k, s) for k, s in sils.items()}

    # SFU C3 12k (UMAP silhouettes): 12 is the rank-sum peak, yet 80 and 220 separate almost as well
    c3 = curve({2: 0.280, 12: 0.375, 21: 0.350, 41: 0.340, 80: 0.366, 112: 0.345, 220: 0.365})
    assert flat_level(c3, 12) == 41                               # flat (80 keeps 93%): the first k >= 3 x 12
    assert flat_level({**c3, 36: (10.0, 0.30)}, 12) == 36         # whatever its own silhouette (noise)
    assert flat_level({k: v for k, v in c3.items() if k not in (80, 220)}, 12) is None   # none keeps 93%
    assert flat_level(curve({12: 0.375, 21: 0.370, 30: 0.300}), 12) is None    # 21 < 3 x 12: not finer enough
    # the same corpus on another machine: peak 20, the best k >= 60 keeps 0.949 (0.95 missed it by 0.0004)
    c3_other = curve({2: 0.292, 17: 0.367, 20: 0.369, 21: 0.373, 57: 0.338, 80: 0.345, 112: 0.350, 220: 0.350})
    assert flat_level(c3_other, 20) == 80
    # StackOverflow: a real peak (the best k >= 60 keeps 0.59 of its silhouette); Biomedical 0.90
    so = curve({2: 0.309, 15: 0.645, 20: 0.620, 57: 0.368, 80: 0.360, 142: 0.366})
    assert flat_level(so, 20) is None
    bio = curve({2: 0.300, 18: 0.400, 57: 0.361, 80: 0.355, 142: 0.358})
    assert flat_level(bio, 18) is None


def test_search_levels_takes_finer_leaves_on_structureless_data_and_keeps_real_clusters():
    from commentminer.themes.ksearch import FLAT_FACTOR, search_levels

    noise = np.random.default_rng(0).normal(size=(1500, 8)).astype(np.float32)
    found = search_levels(noise, 2, 38, seed=3)
    assert found.k >= FLAT_FACTOR * found.coarse_k and found.k in found.scores
    assert len(np.unique(found.labels)) == found.k
    X, truth = sphere_blobs(9, 30, dim=32, spread=0.02)
    assert search_levels(X, 2, len(X) // 5, seed=3).k == 9       # a real peak is kept
