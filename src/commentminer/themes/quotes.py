"""Representative quotes per theme: central member units, preferring attributed reader voices, no near-duplicates.

Plain functions on arrays; the stage decides the priorities from unit kinds and signatures.
"""

from __future__ import annotations

import numpy as np

# Two quotes this similar (cosine) say the same thing; showing both wastes one of the n slots.
NEAR_DUPLICATE = 0.95

# Priority tiers (lower is better). Readers trust a quote they can attribute, so a signed comment or a named
# quoted voice comes first, then unsigned comments/quotes, then article sentences (the journalist's framing).
PRIORITY_ATTRIBUTED = 0
PRIORITY_VOICE = 1
PRIORITY_ARTICLE = 2


def centroid(embeddings: np.ndarray) -> np.ndarray:
    """L2-normalised mean of (already normalised) vectors; zeros stay zeros."""
    mean = embeddings.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


def unit_priority(kinds: list[str], attributed: list[bool]) -> np.ndarray:
    """Priority tier per unit from its kind ("article"/"comment"/"quote") and whether it has a name attached."""
    out = np.full(len(kinds), PRIORITY_ARTICLE, dtype=np.int64)
    for i, (kind, named) in enumerate(zip(kinds, attributed)):
        if kind in ("comment", "quote"):
            out[i] = PRIORITY_ATTRIBUTED if named else PRIORITY_VOICE
    return out


def pick_quotes(
    embeddings: np.ndarray,
    members: np.ndarray,
    n: int,
    priority: np.ndarray | None = None,
    near_duplicate: float = NEAR_DUPLICATE,
) -> list[int]:
    """Up to `n` indices (into `embeddings`) of member units to quote, best first.

    Members are ranked by priority tier, then by cosine similarity to the theme centroid (closest = most
    typical); a unit with cosine > `near_duplicate` to an already chosen quote is skipped. Ties break on index,
    so the result is deterministic.
    """
    members = np.asarray(members, dtype=np.int64)
    if n <= 0 or members.size == 0:
        return []
    vecs = embeddings[members]
    sims = vecs @ centroid(vecs)
    tiers = np.zeros(members.size, dtype=np.int64) if priority is None else np.asarray(priority)[members]
    order = np.lexsort((members, -sims, tiers))  # last key is primary: tier, then similarity, then index
    return take_distinct(members[order], lambda i: embeddings[i], n, near_duplicate)


def take_distinct(candidates, vector_of, n: int, near_duplicate: float = NEAR_DUPLICATE) -> list[int]:
    """The first `n` of `candidates` (indices, best first) whose vector (`vector_of(index)`) has cosine at most
    `near_duplicate` to every one taken before it. Reads vectors only until `n` are taken."""
    chosen: list[int] = []
    taken: list[np.ndarray] = []
    for index in candidates:
        vec = vector_of(int(index))
        if taken and float(np.max(np.stack(taken) @ vec)) > near_duplicate:
            continue
        chosen.append(int(index))
        taken.append(vec)
        if len(chosen) >= n:
            break
    return chosen


def quotes_by_theme(
    embeddings: np.ndarray, assignments: np.ndarray, n: int, priority: np.ndarray | None = None,
    skip: tuple[int, ...] = (-1,),
) -> dict[int, list[int]]:
    """theme id -> quote indices for every theme in `assignments` except those in `skip` (the outliers)."""
    assignments = np.asarray(assignments)
    return {
        int(t): pick_quotes(embeddings, np.flatnonzero(assignments == t), n, priority)
        for t in np.unique(assignments) if int(t) not in skip
    }


def ranked_quotes(
    vector_of, assignments: np.ndarray, similarity: np.ndarray, n: int, priority: np.ndarray | None = None,
    skip: tuple[int, ...] = (-1,), near_duplicate: float = NEAR_DUPLICATE,
) -> dict[int, list[int]]:
    """`quotes_by_theme` when each unit's cosine to its theme centroid is already known (`similarity`, computed
    by the caller chunk by chunk): only per-unit scalars are ranked, and the vectors of the few candidates each
    theme looks at come from `vector_of(index)` (so the vectors need not be one float32 matrix in memory)."""
    assignments = np.asarray(assignments)
    tiers = np.zeros(len(assignments), dtype=np.int64) if priority is None else np.asarray(priority)
    order = np.lexsort((np.arange(len(assignments)), -np.asarray(similarity), tiers, assignments))
    themes, starts = np.unique(assignments[order], return_index=True)
    ends = [*starts[1:], len(order)]
    return {int(t): take_distinct(order[lo:hi], vector_of, n, near_duplicate)
            for t, lo, hi in zip(themes, starts, ends) if int(t) not in skip and n > 0}
