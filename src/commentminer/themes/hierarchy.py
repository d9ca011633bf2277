"""Parent themes: leaf themes (guided and discovered) grouped by the similarity of their centroids.

Ward clustering of the normalised leaf centroids into about one parent per PARENT_FANOUT leaves. A parent with
a single child adds nothing and is dropped (the child stays at the top level), so the tree has two levels:
parents, then leaves. Deterministic: Ward has no random state.
"""

from __future__ import annotations

import numpy as np

PARENT_FANOUT = 3   # leaves per parent, on average
MIN_LEAVES = 4      # fewer leaves than this: no parents at all


def group_leaves(centroids: np.ndarray, fanout: int = PARENT_FANOUT) -> list[list[int]]:
    """Groups of leaf positions (each with 2+ members) sharing a parent, ordered by their first member."""
    n = len(centroids)
    if n < MIN_LEAVES:
        return []
    from sklearn.cluster import AgglomerativeClustering

    k = max(2, int(round(n / max(fanout, 2))))
    labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(np.asarray(centroids, np.float64))
    groups: dict[int, list[int]] = {}
    for pos, label in enumerate(labels):
        groups.setdefault(int(label), []).append(pos)
    return sorted((g for g in groups.values() if len(g) >= 2), key=lambda g: g[0])
