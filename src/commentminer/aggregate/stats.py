"""Interval helpers for aggregates: Wilson intervals for shares, a clustered bootstrap for mean scores.

Shares (negative, positive, neutral): the 95% Wilson score interval for a binomial proportion k/n over the scored
rows of a cell. Unlike the normal ("Wald") interval it stays inside [0, 1] and is sensible for 0/n and n/n.

Mean score: a 95% percentile bootstrap **clustered by commenter**. One commenter often writes several sentences
(and several comments) that sound alike, so rows are not independent; resampling whole commenters (quoted
speakers count as commenters; article sentences are clustered by article) keeps that dependence and gives wider,
honest intervals where a t-interval over sentences would be too narrow. Each resample draws as many clusters as
the cell has, with replacement, and takes the pooled mean of their rows. The generator is seeded from a
configured seed plus the cell's key, so repeated calls give identical intervals and a cell's interval does not
depend on which other cells the query returns.
A cell with fewer than 2 clusters has no interval.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054  # standard normal quantile 0.975

SHARE_METHOD = "Wilson score interval (95%) for the negative / positive shares of scored rows"
MEAN_METHOD = ("percentile bootstrap (95%, {resamples} resamples, seed {seed}) of the mean score, resampling "
               "whole commenters (a quoted speaker counts as one; article sentences by article), because one "
               "commenter's sentences are not independent; no interval with fewer than 2 commenters")


def interval_method(resamples: int = 1000, seed: int = 0) -> str:
    """One sentence naming both interval methods, as shown in the report and the CLI."""
    return f"Mean: {MEAN_METHOD.format(resamples=resamples, seed=seed)}. Shares: {SHARE_METHOD}."


INTERVAL_METHOD = interval_method()


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """(low, high) Wilson score interval for k successes out of n; (None, None) when n == 0."""
    if not n:
        return None, None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def cell_seed(seed: int, key: str) -> list[int]:
    """Seed material for one cell: the configured seed plus 64 bits of sha256(key) (stable across processes)."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return [int(seed), int.from_bytes(digest[:8], "little")]


def cluster_bootstrap(sums: Sequence[float], counts: Sequence[int], resamples: int = 1000, seed: int = 0,
                      key: str = "", level: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile bootstrap interval of a pooled mean, resampling clusters.

    sums[i], counts[i]: the sum of scores and number of scored rows of cluster i (one commenter). Each resample
    draws len(sums) cluster indices uniformly with replacement and computes sum(sums[drawn]) / sum(counts[drawn]).
    Returns (None, None) with fewer than 2 clusters or no resamples.
    """
    s = np.asarray(sums, dtype=float)
    c = np.asarray(counts, dtype=float)
    n = len(s)
    if n < 2 or resamples < 1:
        return None, None
    rng = np.random.default_rng(cell_seed(seed, key))
    # Drawing indices and gathering is the same resampling as multinomial weights but 3-5x faster (numpy's
    # multinomial draws one binomial per cluster per resample); it matters for reports with thousands of cells.
    block = max(1, min(resamples, 2_000_000 // n))   # bound memory: block × n indices at a time
    means = []
    for start in range(0, resamples, block):
        drawn = rng.integers(0, n, size=(min(block, resamples - start), n))
        means.append(s[drawn].sum(axis=1) / c[drawn].sum(axis=1))
    alpha = (1 - level) / 2
    low, high = np.quantile(np.concatenate(means), [alpha, 1 - alpha])
    return float(low), float(high)
