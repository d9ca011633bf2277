"""Words as a second view of the units: the fitted partition is refined where the units' vocabulary agrees.

MiniLM sentence vectors group units by what they are about in general terms, and by tone; the words a unit uses
name its subject precisely ("Oracle", "niqab", "hepatitis B"). Short-text clustering gains from both views: on
the labelled sets, KMeans on the embeddings concatenated with an LSA of the units' TF-IDF beats KMeans on the
embeddings alone (benchmarks/README.md, sixth round of "Themes at real scale").

The k search stays in the UMAP space of the embeddings (the lexical space packs near-duplicate sentences into
clumps that every index rewards, so searching k there picks a hundred themes on SearchSnippets' 8 classes). Once
k is chosen, the sample's partition is refined by spherical k-means (Lloyd) iterations in the joint space
[embedding, weight x LSA], starting from the chosen partition. Every other unit, now and in later runs, still
goes to its nearest centroid in the embedding space, so nothing beyond the partition needs to be stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse

# Lloyd rounds at most: the labelled sets converge in 8-21; on SFU C3's 10,000-unit fit sample 3 units still move
# per round after 30 (it converges at about 60, 0.3% more of the sample moved).
MAX_ITER = 30
TOKEN_PATTERN = r"(?u)\b\w\w+\b"   # scikit-learn's default: words of two or more letters or digits


def lsa_vectors(texts: Sequence[str], dims: int, seed: int) -> np.ndarray | None:
    """(n, <= dims) L2-normalised LSA of the texts' TF-IDF (sublinear tf, words in at least two texts, neither
    the label picker's stop words nor its generic words), or None when fewer than two such words exist.
    Deterministic for a seed."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from .phrases import GENERIC_WORDS
    from .terms import STOP_WORDS

    # generic words ("people", "think", "article") say nothing of a subject, so they group nothing either; the
    # list is given as the vectorizer's own tokens ("op-ed" -> "op", "ed"), so it applies as written
    token = re.compile(TOKEN_PATTERN)
    stop = sorted({t for word in STOP_WORDS | GENERIC_WORDS for t in token.findall(word)})
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words=stop, token_pattern=TOKEN_PATTERN,
                                 dtype=np.float32)
    try:
        tfidf = vectorizer.fit_transform([str(t) for t in texts])
    except ValueError:   # empty vocabulary: every word is a stop word or said once
        return None
    dims = min(dims, tfidf.shape[1] - 1, len(texts) - 1)
    if dims < 1:
        return None
    reduced = TruncatedSVD(dims, random_state=seed).fit_transform(tfidf)
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    return (reduced / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def refine(X: np.ndarray, lexical: np.ndarray, labels: np.ndarray, weight: float,
           max_iter: int = MAX_ITER) -> np.ndarray:
    """`labels` (ints >= 0) of the rows of `X` (L2-normalised embeddings) after spherical k-means iterations in
    the joint space [X, weight x lexical] (each row scaled to unit length), until no unit moves or `max_iter`.

    Units keep the ids of `labels`; a cluster that loses every unit stays empty (its id is no longer used).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if weight <= 0 or len(labels) == 0 or len(np.unique(labels)) < 2:
        return labels.copy()
    joint = np.hstack([np.asarray(X, np.float32), np.float32(weight) * np.asarray(lexical, np.float32)])
    joint /= np.maximum(np.linalg.norm(joint, axis=1, keepdims=True), 1e-12)
    k = int(labels.max()) + 1
    for _ in range(max_iter):
        members = sparse.csr_matrix((np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))),
                                    shape=(k, len(labels)))
        centers = np.asarray(members @ joint, dtype=np.float32)
        norms = np.linalg.norm(centers, axis=1)
        sims = joint @ (centers / np.maximum(norms, 1e-12)[:, None]).T
        sims[:, norms == 0] = -np.inf   # an emptied cluster takes no unit back
        moved = np.argmax(sims, axis=1)
        if np.array_equal(moved, labels):
            break
        labels = moved
    return labels
