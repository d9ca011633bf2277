"""BERTopic on precomputed unit embeddings, with the clustering chosen by corpus size.

Strategies (recorded in ThemeFit.strategy):

- "empty": no units.
- "single": fewer than MIN_UNITS_TO_CLUSTER units; one theme holds them all (nothing to contrast).
- "small:ward": fewer than `small_corpus_max_units` units. No dimensionality reduction and Ward agglomerative
  clustering into round(n / units_per_theme) themes (at least 2, at most `small_corpus_max_themes`), then
  themes smaller than a quarter of units_per_theme are dissolved into their nearest neighbours. Every unit gets
  a theme: at a few hundred sentences UMAP + HDBSCAN puts most units into the outlier topic.
- "medium:umap5+kmeans(k=K, CH+silhouette coarse-to-fine over k=2..N)": up to `fit_sample` units. UMAP(5-d,
  cosine, random_state=seed) as BERTopic does, then KMeans at a coarse-to-fine grid of k up to units /
  min_topic_size (no other ceiling unless max_themes is set); the k ranked best by Calinski-Harabasz and
  silhouette together in the UMAP space wins, or a finer k whose silhouette in the original space is a clear
  peak of its own (ksearch.py); themes smaller than `min_topic_size` are dissolved into their nearest
  neighbours. Every unit gets a theme. (BERTopic's own UMAP + HDBSCAN left about 47% of units as outliers at 10k-50k sentences and scored lower
  NMI on every labelled set in benchmarks/themes.py.)
- "large:... fitted on a sample of N, rest by nearest centroid": above `fit_sample` units, the medium strategy
  runs on a seeded random sample of `fit_sample` units and every other unit goes to the nearest theme centroid
  (cosine, in batches), so the cost of fitting stays flat as the corpus grows.

BERTopic is given embedding_model=None and the embeddings, so it never imports torch or downloads a model.
Labels and keywords come from labels.py (BERTopic's c-TF-IDF made contrastive), computed from the final
assignments, so every strategy shares one labelling path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import OUTLIER_THEME, ThemeFit, ThemeInfo
from .clustering import SelectedKClusterer, SmallCorpusClusterer, n_clusters_for
from .ksearch import FLAT_SHARE, LEAF_MAX_UNITS
from .labels import describe_themes
from .terms import make_vectorizer

MIN_UNITS_TO_CLUSTER = 5


class BertopicThemeModel:
    """Theme model "bertopic.v1". The constructor only stores parameters; BERTopic is imported in `fit`."""

    version = "bertopic.v1"

    def __init__(
        self,
        seed: int = 42,
        small_corpus_max_units: int = 2000,
        units_per_theme: int = 20,
        min_topic_size: int = 15,
        ngram_range: tuple[int, int] | Sequence[int] = (1, 3),
        top_n_words: int = 10,
        small_corpus_max_themes: int = 40,
        label_max_df: float = 0.2,
        max_themes: int = 0,
        fit_sample: int = 10_000,
        min_themes: int = 0,
        lexical_weight: float = 0.6,
        lexical_dims: int = 128,
    ):
        self.seed = seed
        self.small_corpus_max_units = small_corpus_max_units
        self.units_per_theme = units_per_theme
        self.min_topic_size = min_topic_size
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.top_n_words = top_n_words
        self.small_corpus_max_themes = small_corpus_max_themes
        self.label_max_df = label_max_df
        self.max_themes = max_themes
        self.fit_sample = fit_sample
        self.min_themes = min_themes
        self.lexical_weight = lexical_weight
        self.lexical_dims = lexical_dims

    @property
    def model_id(self) -> str:
        """Version plus every parameter that changes the output, so stored results say how they were made."""
        return (
            f"{self.version}:seed={self.seed}:small<{self.small_corpus_max_units}:upt={self.units_per_theme}"
            f":maxk={self.small_corpus_max_themes}:mts={self.min_topic_size}"
            f":ng={self.ngram_range[0]}-{self.ngram_range[1]}:top={self.top_n_words}:maxdf={self.label_max_df}"
            f":k>={max(2, self.min_themes)},n/{LEAF_MAX_UNITS}:k<={self.max_themes or 'n/mts'}"
            f":ksearch=c2f+leaves+flat3x@{FLAT_SHARE}:umap-epochs=200:sample={self.fit_sample}"
            + (f":words={self.lexical_weight}x{self.lexical_dims}" if self.lexical_weight else "")
        )

    @classmethod
    def from_config(cls, cfg) -> "BertopicThemeModel":
        """Build from a ThemesConfig section."""
        return cls(
            seed=cfg.seed,
            small_corpus_max_units=cfg.small_corpus_max_units,
            units_per_theme=cfg.small_corpus_units_per_theme,
            min_topic_size=cfg.min_topic_size,
            ngram_range=tuple(cfg.ngram_range),
            top_n_words=cfg.top_n_words,
            small_corpus_max_themes=cfg.small_corpus_max_themes,
            label_max_df=cfg.label_max_df,
            max_themes=cfg.max_themes,
            fit_sample=cfg.fit_sample,
            min_themes=cfg.min_themes,
            lexical_weight=cfg.lexical_weight,
            lexical_dims=cfg.lexical_dims,
        )

    # -- fitting ---------------------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], embeddings: np.ndarray) -> ThemeFit:
        """Cluster `texts` by their (n, dim) L2-normalised `embeddings` and describe each theme.

        Deterministic for a fixed seed. The fitted BERTopic model (when one was used) is kept as
        `self.topic_model_` for later steps (hierarchy, assigning new units with `transform`).
        """
        texts = [str(t) for t in texts]
        n = len(texts)
        embeddings = np.asarray(embeddings, dtype=np.float32).reshape(n, -1) if n else np.zeros((0, 0), np.float32)
        self.topic_model_ = None
        if n == 0:
            return ThemeFit(np.zeros(0, np.int64), np.zeros(0, np.float64), [], "empty", {"n_units": 0})
        if n < MIN_UNITS_TO_CLUSTER:
            assignments = np.zeros(n, dtype=np.int64)
            clusterer = SmallCorpusClusterer(1).fit(embeddings)
            return self._finish(texts, assignments, clusterer.probabilities_, "single", {})
        clusterer, strategy, details = self.cluster_model(n)
        if isinstance(clusterer, SelectedKClusterer):
            clusterer.texts = texts   # BERTopic calls the cluster model's fit(X) without them
        assignments, probabilities = self._fit_bertopic(texts, embeddings, clusterer)
        if isinstance(clusterer, SelectedKClusterer):
            strategy, details = clusterer.describe(n)
        return self._finish(texts, assignments, probabilities, strategy, details)

    def cluster(self, embeddings: np.ndarray, progress=None, texts: Sequence[str] | None = None) -> ThemeFit:
        """`fit`'s clustering alone: the same partition of the units, without BERTopic's c-TF-IDF or any labels.

        The themes stage labels the final themes itself (after guided themes and the "other" cut), so it calls
        this and skips the two label passes `fit` makes over every text. Theme ids are numbered by size, largest
        first (as BERTopic numbers them in `fit`); `ThemeFit.themes` is empty. `progress` (the stage context's,
        optional) wraps the loop over the k values tried. `texts` (one per row, optional): the units' words refine
        the partition of a larger corpus (`lexical_weight`, lexical.py).
        """
        embeddings = np.asarray(embeddings, dtype=np.float32)
        n = len(embeddings)
        if n == 0:
            return ThemeFit(np.zeros(0, np.int64), np.zeros(0, np.float64), [], "empty", {"n_units": 0})
        embeddings = embeddings.reshape(n, -1)
        if n < MIN_UNITS_TO_CLUSTER:
            clusterer, strategy, details = SmallCorpusClusterer(1), "single", {}
        else:
            clusterer, strategy, details = self.cluster_model(n)
        if progress is not None and isinstance(clusterer, SelectedKClusterer):
            clusterer.progress = progress
        if isinstance(clusterer, SelectedKClusterer):
            clusterer.fit(embeddings, texts=texts)
            strategy, details = clusterer.describe(n)
        else:
            clusterer.fit(embeddings)
        assignments = numbered_by_size(np.asarray(clusterer.labels_, np.int64))
        details = {**details, "n_units": n, "n_themes": int(len(np.unique(assignments))), "outlier_share": 0.0}
        return ThemeFit(assignments=assignments, probabilities=np.asarray(clusterer.probabilities_, np.float64),
                        themes=[], strategy=strategy, details=details)

    def cluster_model(self, n_units: int):
        """(unfitted cluster model, strategy, details) for a corpus of `n_units` (at least MIN_UNITS_TO_CLUSTER).

        The model takes the raw L2-normalised embeddings (any reduction happens inside it) and assigns every
        unit. For SelectedKClusterer the final strategy string (with the chosen k) comes from `describe` after
        fitting. benchmarks/themes.py uses this to time the clustering alone.
        """
        if n_units < self.small_corpus_max_units:
            k = max(n_clusters_for(n_units, self.units_per_theme, self.small_corpus_max_themes),
                    min(self.min_themes, n_units))
            clusterer = SmallCorpusClusterer(k, min_size=max(2, self.units_per_theme // 4))
            return clusterer, "small:ward", {"target_themes": k, "min_theme_size": clusterer.min_size}
        clusterer = SelectedKClusterer(seed=self.seed, k_min=max(2, self.min_themes), k_max=self.max_themes,
                                       min_size=self.min_topic_size, fit_sample=self.fit_sample,
                                       lexical_weight=self.lexical_weight, lexical_dims=self.lexical_dims)
        return clusterer, "medium:umap5+kmeans", {}

    def _fit_bertopic(self, texts: list[str], embeddings: np.ndarray, cluster_model):
        from bertopic import BERTopic
        from bertopic.dimensionality import BaseDimensionalityReduction
        from bertopic.vectorizers import ClassTfidfTransformer

        model = BERTopic(
            embedding_model=None,  # embeddings are passed in: no torch import, no download
            umap_model=BaseDimensionalityReduction(),  # cluster models reduce (or not) themselves
            hdbscan_model=cluster_model,
            vectorizer_model=make_vectorizer(self.ngram_range),
            ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
            top_n_words=self.top_n_words,
            calculate_probabilities=False,
            verbose=False,
        )
        try:
            topics, probs = model.fit_transform(texts, embeddings=embeddings)
        except ValueError as exc:
            if "vocabulary" not in str(exc):
                raise
            # Every text is stop words/punctuation: BERTopic cannot build c-TF-IDF, but the clusters still hold.
            cluster_model.fit(embeddings)
            return np.asarray(cluster_model.labels_, np.int64), np.asarray(
                getattr(cluster_model, "probabilities_", np.ones(len(texts))), np.float64)
        self.topic_model_ = model
        topics = np.asarray(topics, dtype=np.int64)
        probs = np.ones(len(texts)) if probs is None else np.asarray(probs, dtype=np.float64)
        return topics, np.where(topics == OUTLIER_THEME, 0.0, np.clip(probs, 0.0, 1.0))

    def _finish(self, texts, assignments, probabilities, strategy: str, details: dict) -> ThemeFit:
        described = describe_themes(texts, assignments, self.ngram_range, self.top_n_words, self.label_max_df,
                                    outlier=OUTLIER_THEME)
        themes = [ThemeInfo(theme_id=t, label=label, keywords=kw) for t, (label, kw) in sorted(described.items())]
        if self.topic_model_ is not None:  # keep BERTopic's own view consistent with ours for later steps
            self.topic_model_.set_topic_labels({t.theme_id: t.label for t in themes})
        n = len(texts)
        details = {
            **details,
            "n_units": n,
            "n_themes": sum(1 for t in themes if t.theme_id != OUTLIER_THEME),
            "outlier_share": float(np.mean(assignments == OUTLIER_THEME)) if n else 0.0,
        }
        return ThemeFit(assignments=np.asarray(assignments, np.int64),
                        probabilities=np.asarray(probabilities, np.float64),
                        themes=themes, strategy=strategy, details=details)


def numbered_by_size(labels: np.ndarray) -> np.ndarray:
    """Cluster labels renumbered 0..k-1 by cluster size, largest first (ties: the cluster seen first)."""
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    order = np.lexsort((first, -sizes))
    new = np.empty(len(ids), dtype=np.int64)
    new[order] = np.arange(len(ids))
    return new[np.searchsorted(ids, labels)]
