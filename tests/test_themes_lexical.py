"""The units' words as a second view (themes/lexical.py): LSA vectors, the refinement of the chosen partition,
and how SelectedKClusterer and the model id use them (fast: UMAP is replaced by the identity here)."""

from __future__ import annotations

import numpy as np
import pytest

from commentminer.themes.bertopic_model import BertopicThemeModel
from commentminer.themes.clustering import SelectedKClusterer
from commentminer.themes.lexical import lsa_vectors, refine

ORACLE = "Oracle database query returns wrong rows"
MATLAB = "Matlab matrix plot shows wrong axis"


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def two_topics_one_blurred(per: int = 40, blurred: int = 10, seed: int = 0):
    """Embeddings of two topics A and B, plus `blurred` units about B whose embeddings sit about halfway between
    A and B (a sentence vector that says more about tone than subject). Returns (X, texts, truth)."""
    rng = np.random.default_rng(seed)
    a, b = np.eye(16)[0], np.eye(16)[1]
    rows = [a + 0.05 * rng.normal(size=16) for _ in range(per)] + [b + 0.05 * rng.normal(size=16) for _ in range(per)]
    rows += [t * a + (1 - t) * b + 0.01 * rng.normal(size=16) for t in np.linspace(0.45, 0.55, blurred)]
    texts = [ORACLE] * per + [MATLAB] * (per + blurred)
    truth = np.array([0] * per + [1] * (per + blurred))
    return unit_rows(np.array(rows)), texts, truth


def test_lsa_vectors_are_unit_rows_of_the_words_and_none_without_shared_words():
    texts = [ORACLE, MATLAB] * 5 + ["Oracle listener will not start"]
    words = lsa_vectors(texts, dims=4, seed=0)
    assert words.shape == (11, 4) and words.dtype == np.float32
    assert np.allclose(np.linalg.norm(words, axis=1), 1.0, atol=1e-5)
    assert words[0] @ words[2] > 0.99 and abs(words[0] @ words[1]) < 0.1        # same words close, others apart
    assert np.array_equal(words, lsa_vectors(texts, dims=4, seed=0))            # seeded
    assert lsa_vectors(["the and of", "it is what it is"], dims=4, seed=0) is None      # stop words only
    assert lsa_vectors(["alpha beta", "gamma delta"], dims=4, seed=0) is None            # no word said twice
    # generic words group nothing: two texts sharing only "people" and "article" have no shared word
    assert lsa_vectors(["people article oracle", "people article matlab"], dims=4, seed=0) is None


def test_refine_moves_blurred_units_to_the_topic_their_words_name():
    X, texts, truth = two_topics_one_blurred()
    words = lsa_vectors(texts, dims=8, seed=0)
    start = np.array([0] * 40 + [1] * 40 + [0] * 10)         # the blurred units start in A (embeddings: a tie)
    assert np.array_equal(refine(X, words, start, weight=0.6), truth)
    assert np.array_equal(refine(X, words, start, weight=0.0), start)                   # no weight: unchanged
    assert np.array_equal(refine(X, words, np.zeros(90, np.int64), 0.6), np.zeros(90))   # one cluster: unchanged


def test_refine_keeps_ids_and_leaves_an_emptied_cluster_unused():
    X, texts, truth = two_topics_one_blurred(blurred=0)
    words = lsa_vectors(texts, dims=8, seed=0)
    start = np.where(truth == 0, 3, 7)
    start[[5, 45]] = 9                             # one unit of A and one of B: each goes back to its topic
    refined = refine(X, words, start, weight=0.6)
    assert set(refined.tolist()) == {3, 7}
    assert np.array_equal(refined, np.where(truth == 0, 3, 7))


@pytest.fixture
def no_umap(monkeypatch):
    """SelectedKClusterer without UMAP (its numba kernels cost seconds): the k search runs on the vectors."""
    monkeypatch.setattr(SelectedKClusterer, "_reduce", lambda self, X: np.asarray(X, dtype=np.float32))


def test_fit_refines_the_chosen_partition_by_the_texts_words(no_umap):
    X, texts, truth = two_topics_one_blurred(per=60, blurred=12)
    plain = SelectedKClusterer(seed=0, min_size=5, lexical_weight=0.6).fit(X)     # no texts: embeddings only
    with_words = SelectedKClusterer(seed=0, min_size=5, lexical_weight=0.6).fit(X, texts=texts)
    assert plain.chosen_k_ == with_words.chosen_k_ == 2
    blurred = slice(120, 132)
    # the embeddings alone split the blurred units by noise; their words send all of them to B
    assert len(set(with_words.labels_[blurred])) == 1 and with_words.labels_[119] == with_words.labels_[125]
    assert (plain.labels_[blurred] != plain.labels_[119]).any()
    assert with_words.lexical_moved_ > 0 and plain.lexical_moved_ == 0
    strategy, details = with_words.describe(len(X))
    assert "refined by words" in strategy and details["lexical_moved"] == round(with_words.lexical_moved_, 4)
    assert "refined by words" not in plain.describe(len(X))[0]
    off = SelectedKClusterer(seed=0, min_size=5, lexical_weight=0.0).fit(X, texts=texts)
    assert np.array_equal(off.labels_, plain.labels_)
    with pytest.raises(ValueError, match="71 texts for 132 vectors"):
        SelectedKClusterer(seed=0, lexical_weight=0.6).fit(X, texts=texts[:71])


def test_fit_on_a_sample_reads_the_words_of_the_sampled_units(no_umap):
    X, texts, truth = two_topics_one_blurred(per=60, blurred=12)
    model = SelectedKClusterer(seed=0, min_size=5, fit_sample=100, lexical_weight=0.6)
    sample = model.sample_indices(len(X))
    fitted = model.fit(X, texts=texts)
    seen = [texts[i] for i in sample]
    alone = SelectedKClusterer(seed=0, min_size=5, fit_sample=100, lexical_weight=0.6).fit(
        X[sample], n_units=len(X), texts=seen)                 # the themes stage's call: the sample only
    assert np.array_equal(fitted.labels_[sample], alone.labels_)


def test_model_id_and_config_carry_the_word_refinement():
    from commentminer.config import ThemesConfig

    assert ":words=0.6x128" in BertopicThemeModel().model_id
    assert ":words=" not in BertopicThemeModel(lexical_weight=0).model_id
    model = BertopicThemeModel.from_config(ThemesConfig(lexical_weight=0.3, lexical_dims=64))
    assert ":words=0.3x64" in model.model_id
    large = model.cluster_model(50_000)[0]
    assert (large.lexical_weight, large.lexical_dims) == (0.3, 64)
    with pytest.raises(ValueError):
        ThemesConfig(lexical_weight=-1)


def test_bertopic_fit_hands_the_texts_to_the_cluster_model(no_umap):
    """BERTopic calls the cluster model's fit(X) itself: BertopicThemeModel.fit gives it the texts beforehand."""
    X, texts, truth = two_topics_one_blurred(per=60, blurred=12)
    model = BertopicThemeModel(seed=0, small_corpus_max_units=50, min_topic_size=5)
    fit = model.fit(texts, X)
    assert "refined by words" in fit.strategy
    assert len(set(fit.assignments[120:])) == 1 and fit.assignments[125] == fit.assignments[119]
    assert BertopicThemeModel(seed=0, small_corpus_max_units=50, min_topic_size=5,
                              lexical_weight=0).fit(texts, X).strategy.count("refined by words") == 0
