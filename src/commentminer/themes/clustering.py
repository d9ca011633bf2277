"""Small-corpus clustering: every unit gets a theme (no outlier topic), deterministic, no numba.

HDBSCAN on a few hundred sentence vectors puts most of them into the outlier topic, and UMAP's neighbour graph is
unreliable at that size, so small corpora use Ward agglomerative clustering directly on the L2-normalised
384-d vectors (Euclidean distance on unit vectors is monotonic in cosine distance, and Ward gives balanced
clusters where average linkage gives one giant cluster plus singletons). Ward is exact and has no random state,
so the same input always gives the same clusters.
"""

from __future__ import annotations

import numpy as np

from .quotes import centroid


def n_clusters_for(n_units: int, units_per_theme: int, max_themes: int) -> int:
    """Number of themes for a small corpus: one per `units_per_theme` units, at least 2, at most `max_themes`."""
    if n_units < 2:
        return 1
    k = int(round(n_units / max(units_per_theme, 1)))
    return max(2, min(k, max_themes, n_units))


def centroids(embeddings: np.ndarray, labels: np.ndarray, ids: list[int]) -> np.ndarray:
    """(len(ids), dim) normalised centroid of each cluster id."""
    return np.stack([centroid(embeddings[labels == i]) for i in ids])


def merge_small_clusters(embeddings: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Dissolve clusters smaller than `min_size`: each member moves to the nearest remaining centroid.

    Ward can split off a pair of near-identical sentences as its own cluster; a two-sentence theme is noise in a
    report, so the smallest cluster is dissolved first and the process repeats until every cluster is big
    enough (or one is left). Cluster ids are renumbered 0..k-1 by first appearance.
    """
    labels = np.asarray(labels).copy()
    while True:
        ids, sizes = np.unique(labels, return_counts=True)
        if len(ids) <= 1 or sizes.min() >= min_size:
            break
        smallest = int(ids[np.lexsort((ids, sizes))[0]])  # smallest size, lowest id on ties
        rest = [int(i) for i in ids if i != smallest]
        cents = centroids(embeddings, labels, rest)
        members = np.flatnonzero(labels == smallest)
        labels[members] = np.asarray(rest)[np.argmax(embeddings[members] @ cents.T, axis=1)]
    _, first = np.unique(labels, return_index=True)
    order = labels[np.sort(first)]
    remap = {int(old): new for new, old in enumerate(order)}
    return np.array([remap[int(x)] for x in labels], dtype=np.int64)


class SmallCorpusClusterer:
    """Ward clustering into `n_clusters`, then small clusters dissolved; a BERTopic-compatible cluster model.

    BERTopic only needs `fit(X)` and `labels_` (and `predict` for `transform`), so this slots in as
    `hdbscan_model`. `predict` assigns new vectors to the nearest cluster centroid.
    """

    def __init__(self, n_clusters: int, min_size: int = 2):
        self.n_clusters = n_clusters
        self.min_size = min_size

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> "SmallCorpusClusterer":
        from sklearn.cluster import AgglomerativeClustering

        X = np.asarray(X, dtype=np.float64)
        if self.n_clusters <= 1 or len(X) < 2:
            labels = np.zeros(len(X), dtype=np.int64)
        else:
            labels = AgglomerativeClustering(n_clusters=min(self.n_clusters, len(X)), linkage="ward").fit_predict(X)
            labels = merge_small_clusters(X, labels, self.min_size)
        self.labels_ = labels
        self.cluster_centers_ = centroids(X, labels, sorted(set(int(x) for x in labels)))
        # BERTopic reads `probabilities_` when a cluster model has it: here, cosine to the own centroid.
        self.probabilities_ = np.clip(np.sum(X * self.cluster_centers_[labels], axis=1), 0.0, 1.0)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.argmax(np.asarray(X) @ self.cluster_centers_.T, axis=1)
