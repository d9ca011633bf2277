"""Extractive theme summaries: 2-3 member sentences that together stand for the theme.

Greedy facility location on cosine similarity: each step adds the member sentence that most raises
sum over members of (similarity to the closest chosen sentence). The first pick is the most central sentence;
later picks cover members the first one does not (coverage), so the summary is not three paraphrases.
Very short sentences ("They should not be ignored") are used only when the theme has nothing longer.
`sampled_summary` gives the themes stage a theme's summary text and unit ids from its label sample.
"""

from __future__ import annotations

import numpy as np

from .units import ThemeSample, Units, float32_rows

MIN_WORDS = 8          # sentences shorter than this are poor summary material
NEAR_DUPLICATE = 0.9   # never pick a sentence this similar to one already chosen


def summary_size(n_members: int, max_sentences: int = 3) -> int:
    """Sentences per summary: 3 for themes of 6+ units, 2 for smaller ones (never more than the members)."""
    want = max_sentences if n_members >= 6 else min(2, max_sentences)
    return max(0, min(want, n_members))


def pick_summary(
    embeddings: np.ndarray, members: np.ndarray, texts: list[str] | None = None, max_sentences: int = 3,
    block: int = 512,
) -> list[int]:
    """Indices (into `embeddings`) of the summary sentences, in the order they were picked (most central first).

    Each pick takes the allowed member j with the largest coverage sum_i max(cos(j, i), covered_i) (lowest
    position on ties), computed in float64, as if from the full (members x members) similarity matrix, but
    without building it (a parent theme of 15,000 sentences needed 1.8 GB for it and as much again for
    temporaries) and without computing most of it in float64:

    - first pick: with nothing covered, the coverage is the sum of cosines: a dot product with the sum of the
      member vectors;
    - later picks: lazy greedy on upper bounds of each member's gain over what is covered. The gain can only
      shrink as picks are added (coverage is submodular), and it is at most its gain over the last pick b
      alone: sum_i max(0, x_i) = (sum_i x_i + sum_i |x_i|) / 2 with x_i = cos(j, i) - cos(b, i), where sum_i x_i
      comes from the first pick's sums and sum_i |x_i| <= sqrt(n * |V (v_j - v_b)|^2) (Cauchy-Schwarz; V^T V is
      384 x 384). Members are scored `block` at a time, highest bound first, until no bound left can reach the
      best score; the scoring uses float32 products, whose error is bounded (`_float32_margin`), and only the
      members whose float32 score comes within that margin of the best are scored again in float64.
    """
    members = np.asarray(members, dtype=np.int64)
    k = summary_size(len(members), max_sentences)
    if k == 0:
        return []
    vecs = np.asarray(embeddings[members], np.float64)
    n = len(members)
    allowed = np.ones(n, dtype=bool)
    if texts is not None:
        long_enough = np.array([len(str(texts[i]).split()) >= MIN_WORDS for i in members])
        if long_enough.sum() >= k:
            allowed = long_enough
    sums = vecs @ vecs.sum(axis=0)             # coverage of each member while nothing is covered
    live = np.flatnonzero(allowed)
    best = int(live[np.argmax(sums[live])])    # argmax: lowest position on ties
    chosen = [best]
    covered = np.full(n, -1.0)
    bound = np.full(n, np.inf)                 # upper bound of each member's gain over `covered`
    if k > 1:
        vecs32 = vecs.astype(np.float32)
        gram = vecs.T @ vecs
        quad = np.einsum("ij,ij->i", vecs @ gram, vecs)   # |V v_j|^2
    slack = _SLACK * n
    while True:
        sims = vecs @ vecs[best]
        covered = np.maximum(covered, sims)
        allowed &= ~(sims > NEAR_DUPLICATE)    # never a near-duplicate of a chosen sentence (nor itself again)
        allowed[best] = False
        if len(chosen) == k:
            break
        w = gram @ vecs[best]
        spread = np.maximum(quad - 2.0 * (vecs @ w) + vecs[best] @ w + slack, 0.0)   # |V (v_j - v_best)|^2
        bound = np.minimum(bound, (sums - sums[best] + np.sqrt(n * spread)) / 2.0 + slack)
        best = _lazy_best(vecs, vecs32, covered, bound, allowed, block)
        if best is None:
            break
        chosen.append(best)
    return [int(members[c]) for c in chosen]


# Rounding allowance (times the number of members) when float64 gains are compared with bounds.
_SLACK = 1e-9


def _float32_margin(n: int, dim: int) -> float:
    """Bound on |float32 score - float64 gain| of one member: n terms, each off by at most a float32 dot
    product's error for unit vectors (gamma_dim = dim * u / (1 - dim * u), u = 2^-24) plus the rounding of the
    covered value to float32; doubled as an allowance for vectors a little off unit length."""
    u = 2.0 ** -24
    return 2.0 * n * (dim * u / (1.0 - dim * u) + u) + _SLACK * n


def _lazy_best(vecs: np.ndarray, vecs32: np.ndarray, covered: np.ndarray, bound: np.ndarray,
               allowed: np.ndarray, block: int) -> int | None:
    """The allowed member with the largest float64 coverage gain over `covered` (lowest position on ties).

    `bound` holds an upper bound of each member's gain and is tightened in place. None when nothing is allowed.
    """
    live = np.flatnonzero(allowed)
    if not len(live):
        return None
    order = live[np.lexsort((live, -bound[live]))]     # highest bound first, then by position
    n = len(covered)
    margin = _float32_margin(n, vecs.shape[1])
    base = covered.sum()
    covered32 = covered.astype(np.float32)
    scored, scores = [], []
    best_score = -np.inf
    for start in range(0, len(order), block):
        rows = order[start : start + block]
        if bound[rows[0]] < best_score - margin:
            break                                       # no member left can reach the best gain
        approx = np.maximum(vecs32[rows] @ vecs32.T, covered32[None, :]).sum(axis=1, dtype=np.float64) - base
        bound[rows] = np.minimum(bound[rows], approx + margin)
        scored.append(rows)
        scores.append(approx)
        best_score = max(best_score, float(approx.max()))
    rows, approx = np.concatenate(scored), np.concatenate(scores)
    close = rows[approx >= best_score - 2.0 * margin]  # the only members whose float64 gain can be the largest
    exact = np.maximum(vecs[close] @ vecs.T, covered[None, :]).sum(axis=1) - base
    bound[close] = exact
    top = exact.max()
    return int(close[exact == top].min())


def sampled_summary(units: Units, sampled: np.ndarray, sample: ThemeSample, texts: list[str],
                    k: int) -> tuple[str | None, list]:
    """(summary text, its unit ids) of the theme whose sampled units are at `sampled` (pick_summary)."""
    where = np.searchsorted(sample.positions, sampled)          # into `texts`
    picked = pick_summary(float32_rows(units.vectors[sampled]), np.arange(len(sampled)), [texts[i] for i in where], k)
    return (" ".join(texts[where[i]] for i in picked) or None), [str(units.unit_ids[sampled[i]]) for i in picked]
