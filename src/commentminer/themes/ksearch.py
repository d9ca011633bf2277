"""Choosing the number of discovered themes from the data, with no ceiling but the data's own size.

The leaf level has as many themes as the data supports (hundreds on a big corpus is fine: reading is the parent
level's job, hierarchy.py). Trying every k up to n / min_size would be far too slow, so the search is
coarse-to-fine:

1. Coarse: KMeans at a geometric grid of k (each about COARSE_RATIO times the previous) from k_min to k_max.
2. Fine: KMeans at up to FINE_POINTS evenly spaced k between the tried neighbours of the best k so far,
   repeated (at most FINE_ROUNDS times) until no untried k is left between them.
3. The best k over everything tried has the lowest sum of its ranks under Calinski-Harabasz and the silhouette
   (on a seeded sample) in the UMAP space, ties to the smaller k (the rule `clustering.select_k` applies to
   every k of a range).
4. Leaves finer than that peak: the rank sum peaks where the clusters are best separated, and when the data has
   groups of groups that is the top level (the four source sets of the merged benchmark set, 52 classes: k = 3).
   So every tried k is also scored by the silhouette in the original space (cosine geometry, where UMAP's
   packing does not inflate it), and the k >= the peak with the best such silhouette is taken instead when it
   is a level of its own (`finer_peak`): it beats the peak's by LEAF_GAIN and falls again by PEAK_DROP towards
   the top of the range. When the coarse grid shows such a level, fine rounds refine around it as in step 2. Measured (benchmarks/README.md): merged 3 ->
   63 (NMI 0.408 -> 0.659); StackOverflow, SearchSnippets, Biomedical, AgNews and SFU C3 keep their k (their
   original-space silhouette peaks at the rank-sum k, below it, or rises steadily to the top of the range, the
   near-duplicate clumps below).

5. No peak at all: on some corpora the rank-sum peak is only the least bad of many near-equal k (SFU news
   comments: the UMAP silhouette is 0.375 at k = 12 and 0.366 at 80). When a k at least FLAT_FACTOR times the
   peak keeps FLAT_SHARE of its silhouette, the leaves are the first level that far up, FLAT_FACTOR times the
   peak (`flat_level`), refined as in step 2: SFU C3 12k gets 36-57 leaves under 12-13 parents instead of 12
   under 4; the labelled sets, whose peaks are real, keep their k.

6. Big corpora choose at least one leaf per LEAF_MAX_UNITS units (`k_floor`; the grid still starts at k_min).
   On 100,000 mixed units (the four labelled sets and SFU C3 together) the rank sum peaked at k = 3, the
   sources, at 33,000 units a theme, and neither step 4 nor 5 fired (the sources separate far better than any
   finer level). A leaf is read through its quotes and keywords, and the sources are the parent level's job:
   chosen from k >= 10, the rank-sum peak there is 73 and step 5 gives 212 leaves. Corpora up to 20,000 units
   (every labelled set) keep k_min, and so does every corpus whose rank-sum peak is above the floor.

The k chosen is in `k_floor(n)` .. `k_ceiling(n)`: about sqrt(n) themes for n units (the classic rule of thumb for the
number of clusters, growing with the data: 110 for 12,000 units, 316 for 100,000), and at most one theme per
min_size units of the fit sample. Beyond about sqrt(n), UMAP (min_dist=0) packs near-duplicate sentences into
tight clumps that both indices score ever higher: on SearchSnippets (8 classes, 12,340 snippets) the rank
sum picks k = 7 over 2..157 but k = 186 over 2..200 and 514 over 2..666 (benchmarks/README.md).

About 20-35 KMeans fits whatever the range (select_k over 2..40 made 39), each on the UMAP-reduced fit sample, so
the search costs about what HDBSCAN does in BERTopic's default pipeline on the same vectors (benchmarks/themes.py
times both). Deterministic for a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COARSE_RATIO = 1.4   # each coarse k is about this many times the previous one
FINE_POINTS = 6      # k values tried between the best k's neighbours, per fine round
FINE_ROUNDS = 3      # fine rounds at most (each around the best k so far), until the neighbours are adjacent
# A finer level than the rank-sum peak wins when its silhouette in the original space beats the peak's by this
# share, and the silhouette falls by PEAK_DROP of it again at the top of the range (see `finer_peak`).
LEAF_GAIN = 0.2
PEAK_DROP = 0.1
# A rank-sum peak that is no peak: when some k at least FLAT_FACTOR times larger separates (UMAP silhouette) within
# FLAT_SHARE of it, the data does not prefer the coarse k, and the leaves are FLAT_FACTOR times finer (`flat_level`).
FLAT_FACTOR = 3
FLAT_SHARE = 0.93
# At least one leaf per this many units: on big corpora the chosen k is at least n / LEAF_MAX_UNITS (`k_floor`).
LEAF_MAX_UNITS = 10_000


def coarse_grid(k_min: int, k_max: int, ratio: float = COARSE_RATIO) -> list[int]:
    """Increasing k values from k_min to k_max (both included), each at least `ratio` times the previous
    (but at least one more)."""
    if k_max < k_min:
        return []
    ks = [k_min]
    while ks[-1] < k_max:
        ks.append(min(k_max, max(ks[-1] + 1, int(round(ks[-1] * ratio)))))
    return ks


def fine_grid(low: int, high: int, points: int = FINE_POINTS) -> list[int]:
    """Up to `points` distinct k strictly between `low` and `high`, evenly spaced."""
    inside = np.linspace(low, high, points + 2)[1:-1]
    return sorted({int(round(k)) for k in inside} - {low, high})


def k_ceiling(n_units: int, n_sample: int, min_size: int, k_max: int = 0) -> int:
    """Largest k searched for a corpus of `n_units` fitted on `n_sample` of them (see the module docstring);
    `k_max` > 0 caps it further ([themes] max_themes)."""
    k = min(int(np.ceil(np.sqrt(max(n_units, 1)))), n_sample // max(min_size, 1))
    return min(k, k_max) if k_max else k


def k_floor(n_units: int, k_min: int, k_ceiling: int) -> int:
    """Smallest k chosen for a corpus of `n_units`: `k_min`, or one theme per LEAF_MAX_UNITS units when that is
    more (see the module docstring), never above `k_ceiling`."""
    return max(k_min, min(int(np.ceil(max(n_units, 0) / LEAF_MAX_UNITS)), k_ceiling))


def rank_sum_best(scores: dict[int, tuple[float, float]]) -> int:
    """The k with the lowest rank sum under both indices (higher is better for each); ties to the smaller k."""
    ks = sorted(scores)
    rank_sum = {k: 0 for k in ks}
    for index in range(2):
        for rank, k in enumerate(sorted(ks, key=lambda k: (-scores[k][index], k))):
            rank_sum[k] += rank
    return min(ks, key=lambda k: (rank_sum[k], k))


def search_k(Z: np.ndarray, k_min: int, k_max: int, seed: int, n_init: int = 3, score_sample: int = 3000,
             progress=None, X: np.ndarray | None = None) -> tuple[int, np.ndarray, dict]:
    """Coarse-to-fine choice of k for KMeans on `Z`: (best k, its labels, {k: (CH, silhouette)} of every k tried).

    The partitions are KMeans in `Z` (the UMAP space, where clusters are tight), scored there by Calinski-Harabasz
    and the silhouette (`rank_sum_best`). With `X` (the same points in their original space) a finer level is
    taken when the original space clearly supports it (`finer_peak`, the module docstring). Every fit uses
    `n_init` KMeans starts: with one start the coarse scores were noisy enough to pick k = 3 on Biomedical (20
    classes; k = 20 with three starts). With fewer than 3 points (or no valid k) everything is one cluster.
    `progress` (e.g. the stage context's) wraps each loop.
    """
    found = search_levels(Z, k_min, k_max, seed, n_init, score_sample, progress, X)
    return found.k, found.labels, found.scores


@dataclass
class KSearch:
    """What `search_levels` found: the chosen k and its labels, the coarse k (the rank-sum peak in the UMAP space;
    equal to k unless a finer level won), every tried k's (CH, silhouette) in the UMAP space, and the silhouette
    in the original space of every tried k (empty without `X`)."""

    k: int
    labels: np.ndarray
    coarse_k: int
    scores: dict = field(default_factory=dict)
    silhouette_x: dict = field(default_factory=dict)


def search_levels(Z: np.ndarray, k_min: int, k_max: int, seed: int, n_init: int = 3, score_sample: int = 3000,
                  progress=None, X: np.ndarray | None = None, k_least: int = 0) -> KSearch:
    """`search_k` with everything it found (`KSearch`).

    `k_least` (`k_floor`): the chosen k is at least this. The grid still starts at `k_min`, so the k tried, and
    the choice on every corpus whose rank-sum peak is above `k_least`, are what they are without it (the flat
    level of step 5 depends on the tried k)."""
    from sklearn.metrics import calinski_harabasz_score
    from threadpoolctl import threadpool_limits

    from .clustering import SampleSilhouette, kmeans_labels

    Z = np.asarray(Z)
    n = len(Z)
    rng = np.random.default_rng(seed)
    part = np.arange(n) if n <= score_sample else rng.choice(n, score_sample, replace=False)
    k_lo, k_hi = max(k_min, 2), min(k_max, n - 1)
    scores: dict[int, tuple[float, float]] = {}
    runs: dict[int, np.ndarray] = {}
    one = KSearch(1, np.zeros(n, dtype=np.int64), 1, scores)
    if k_hi < k_lo:
        return one
    silhouette = SampleSilhouette(Z[part])
    ceiling = [k_hi + 1]   # the smallest k found to have fewer distinct groups than k: larger ones are not tried

    def evaluate(k: int, restarts: int) -> None:
        if k in scores or k >= ceiling[0]:
            return
        labels = kmeans_labels(Z, k, restarts, seed)
        if len(np.unique(labels)) < k or len(np.unique(labels[part])) < 2:
            ceiling[0] = k
            return
        scores[k] = (float(calinski_harabasz_score(Z, labels)), silhouette.score(labels[part]))
        runs[k] = labels

    def refine(best_of, desc: str) -> None:
        """Fine rounds around the k that `best_of(tried ks)` picks, until its tried neighbours are adjacent."""
        for _ in range(FINE_ROUNDS):
            best = best_of()
            tried = sorted(scores)
            at = tried.index(best)
            low = tried[at - 1] if at > 0 else best
            high = tried[at + 1] if at + 1 < len(tried) else best
            fine = [k for k in fine_grid(low, high) if k not in scores and k < ceiling[0]]
            if not fine:
                break
            for k in (progress(fine, total=len(fine), desc=desc, unit="k") if progress else fine):
                evaluate(k, n_init)

    with threadpool_limits(limits=1, user_api="openmp"):  # see select_k: one thread is faster on busy cores
        grid = coarse_grid(k_lo, k_hi)
        bar = progress(grid, total=len(grid), desc="themes: choosing k (coarse)", unit="k") if progress else grid
        for k in bar:
            evaluate(k, n_init)
        if hasattr(bar, "close"):
            bar.close()
        if not scores:
            return one

        def eligible() -> dict[int, tuple[float, float]]:
            return {k: v for k, v in scores.items() if k >= k_least} or scores

        refine(lambda: rank_sum_best(eligible()), "themes: choosing k (fine)")
        coarse = rank_sum_best(eligible())
        sil_x: dict[int, float] = {}
        best = coarse
        if X is not None:
            in_x = SampleSilhouette(np.asarray(X, dtype=np.float32)[part])

            def peak() -> int:
                for k in scores:
                    if k not in sil_x:
                        sil_x[k] = in_x.score(runs[k][part])
                return max((k for k in scores if k >= coarse), key=lambda k: (sil_x[k], -k))

            if finer_peak(sil_x, coarse, peak()):   # refined only when the coarse grid already shows such a level
                refine(peak, "themes: choosing k (leaves)")
                best = peak() if finer_peak(sil_x, coarse, peak()) else coarse
        if best == coarse and flat_level(scores, coarse) is not None:
            # refining only adds tried k, so the curve found flat here stays flat; the level moves down to the
            # first k at FLAT_FACTOR x the peak
            refine(lambda: flat_level(scores, coarse), "themes: choosing k (leaves)")
            best = flat_level(scores, coarse)
    return KSearch(best, np.asarray(runs[best], dtype=np.int64), coarse, scores, sil_x)


def flat_level(scores: dict[int, tuple[float, float]], coarse: int, factor: int = FLAT_FACTOR,
               share: float = FLAT_SHARE) -> int | None:
    """The finer k to take when the rank-sum peak `coarse` is no peak, else None.

    Some corpora have no preferred granularity: on 12,000 SFU news comments (C3, 49k sentences) the UMAP
    silhouette is 0.375 at the peak k = 12 and still 0.366 at k = 80 and 0.365 at 220, so 12 themes are as
    arbitrary as 80 and far coarser than an editor reads ("Harper" held most Trudeau sentences). On the labelled
    sets the peak is real: the best silhouette at k >= 3 x the peak is 0.59 (StackOverflow), 0.90 (Biomedical),
    0.88 (SearchSnippets) and 0.78 (AgNews) of the peak's (benchmarks/README.md); on another machine (other
    floating-point paths through UMAP) 0.61, 0.90, 0.91 and 0.77, and C3's 0.949 (peak k = 20). So when some
    tried k >= `factor` x `coarse` keeps `share` of the peak's silhouette, the leaves are the smallest tried
    k >= `factor` x `coarse`. `share` (0.93) sits midway between the labelled sets' highest ratio and C3's
    lowest: at 0.95 C3 missed by 0.0004 on that machine and got 20 leaves ("Canada", "party") instead of 80.
    Which k past that point keeps `share` is noise on a flat curve: taking the smallest one that did gave C3 53
    leaves, and 160 when a change of comment ids drew another fit sample (the curve between 57 and 157 stayed
    0.3-1.5 points under the line). Every extra leaf also costs labelling time, and the parent level
    (hierarchy.py) is what a reader takes in first.
    """
    finer = [k for k in scores if k >= factor * coarse]
    if not any(scores[k][1] >= share * scores[coarse][1] for k in finer):
        return None
    return min(finer)


def finer_peak(sil_x: dict[int, float], coarse: int, finer: int, gain: float = LEAF_GAIN,
               drop: float = PEAK_DROP) -> bool:
    """Whether `finer` (the k > `coarse` with the best silhouette in the original space, `sil_x`) is a level of
    its own: its silhouette beats the coarse k's by `gain` (a share of the coarse one's magnitude) and the
    silhouette falls again by `drop` (a share of the peak) at the largest k tried, so it is a peak, not the
    steady rise near-duplicate clumps give towards the top of the range."""
    if finer <= coarse:
        return False
    top = sil_x[max(sil_x)]
    return (sil_x[finer] - sil_x[coarse] >= gain * max(abs(sil_x[coarse]), 1e-6)
            and top <= (1.0 - drop) * sil_x[finer])
