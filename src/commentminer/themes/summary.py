"""Extractive theme summaries: 2-3 member sentences that together stand for the theme.

Greedy facility location on cosine similarity: each step adds the member sentence that most raises
sum over members of (similarity to the closest chosen sentence). The first pick is the most central sentence;
later picks cover members the first one does not (coverage), so the summary is not three paraphrases.
Very short sentences ("They should not be ignored") are used only when the theme has nothing longer.
"""

from __future__ import annotations

import numpy as np

MIN_WORDS = 8          # sentences shorter than this are poor summary material
NEAR_DUPLICATE = 0.9   # never pick a sentence this similar to one already chosen


def summary_size(n_members: int, max_sentences: int = 3) -> int:
    """Sentences per summary: 3 for themes of 6+ units, 2 for smaller ones (never more than the members)."""
    want = max_sentences if n_members >= 6 else min(2, max_sentences)
    return max(0, min(want, n_members))


def pick_summary(
    embeddings: np.ndarray, members: np.ndarray, texts: list[str] | None = None, max_sentences: int = 3
) -> list[int]:
    """Indices (into `embeddings`) of the summary sentences, in the order they were picked (most central first)."""
    members = np.asarray(members, dtype=np.int64)
    k = summary_size(len(members), max_sentences)
    if k == 0:
        return []
    vecs = np.asarray(embeddings[members], np.float64)
    sims = vecs @ vecs.T
    allowed = np.ones(len(members), dtype=bool)
    if texts is not None:
        long_enough = np.array([len(str(texts[i]).split()) >= MIN_WORDS for i in members])
        if long_enough.sum() >= k:
            allowed = long_enough
    covered = np.full(len(members), -1.0)
    chosen: list[int] = []
    for _ in range(k):
        gains = np.maximum(sims, covered[None, :]).sum(axis=1)  # coverage if row j were added
        gains[~allowed] = -np.inf
        for c in chosen:
            gains[sims[c] > NEAR_DUPLICATE] = -np.inf
        if not np.isfinite(gains).any():
            break
        best = int(np.argmax(gains))  # ties: lowest position, i.e. deterministic
        chosen.append(best)
        covered = np.maximum(covered, sims[best])
    return [int(members[c]) for c in chosen]
