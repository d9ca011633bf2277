"""Small-corpus clustering: every unit gets a theme (no outlier topic), deterministic, no numba.

HDBSCAN on a few hundred sentence vectors puts most of them into the outlier topic, and UMAP's neighbour graph is
unreliable at that size, so small corpora use Ward agglomerative clustering directly on the L2-normalised
384-d vectors (Euclidean distance on unit vectors is monotonic in cosine distance, and Ward gives balanced
clusters where average linkage gives one giant cluster plus singletons). Ward is exact and has no random state,
so the same input always gives the same clusters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .ksearch import k_ceiling, k_floor, search_levels
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


def far_from_theme(cosine: np.ndarray, threshold: float, spread: float) -> np.ndarray:
    """(n,) bool: which members of one theme go to "other", given their `cosine` to its centroid.

    Below `threshold` and, when `spread` > 0, also more than `spread` standard deviations below the theme's mean
    cosine. One fixed cut alone sends whole loose themes to "other" (on 12,000 SFU C3 comments 19% of all
    sentences, 45% of one theme of short remarks) while a unit at cosine 0.4 in a tight theme is an outlier of
    it; the spread rule keeps what is ordinary for its theme and still never forces a far unit in.
    """
    cosine = np.asarray(cosine, dtype=np.float64)
    far = cosine < threshold
    if spread > 0 and len(cosine) > 1:
        far &= cosine < cosine.mean() - spread * cosine.std()
    return far


TOP_CHUNK = 64   # columns per chunk whose maxima bound the top-m threshold in `top_columns`


def top_columns(sims: np.ndarray, m: int) -> np.ndarray:
    """(rows, m) column indices of each row's m largest values, largest first (ties: lower column first).

    Selecting them by `np.argpartition` over whole rows cost 0.09 s per 1,024 x 10,000 block, half the k-NN
    graph's time. Instead: the m-th largest of the rows' chunk maxima (TOP_CHUNK columns each) is a lower bound
    of the m-th largest value (m chunks reach it), so only the few values at or above it are candidates, and
    those are sorted. Blocks with too many candidates (many equal values) or rows with fewer than m chunks are
    sorted whole.
    """
    n_rows, n = sims.shape
    m = min(m, n)
    whole = n // TOP_CHUNK * TOP_CHUNK
    row = ()
    if m <= -(-n // TOP_CHUNK):
        maxima = sims[:, :whole].reshape(n_rows, -1, TOP_CHUNK).max(axis=2)   # a view: no copy of the block
        if whole < n:
            maxima = np.concatenate([maxima, sims[:, whole:].max(axis=1, keepdims=True)], axis=1)
        bound = np.partition(maxima, maxima.shape[1] - m, axis=1)[:, maxima.shape[1] - m]
        row, col = np.nonzero(sims >= bound[:, None])
    if not 0 < len(row) <= 8 * m * n_rows:
        return np.argsort(-sims, axis=1, kind="stable")[:, :m]
    order = np.lexsort((col, -sims[row, col], row))           # by row, then value descending, then column
    starts = np.concatenate(([0], np.cumsum(np.bincount(row, minlength=n_rows))[:-1]))
    return col[order][starts[:, None] + np.arange(m)[None, :]]


def nearest_centroid(X: np.ndarray, centers: np.ndarray, batch: int = 50_000) -> np.ndarray:
    """Index of the most cosine-similar row of `centers` for each row of `X`, computed in batches."""
    out = np.empty(len(X), dtype=np.int64)
    for start in range(0, len(X), batch):
        out[start : start + batch] = np.argmax(X[start : start + batch] @ centers.T, axis=1)
    return out


def cosine_knn(X: np.ndarray, k: int, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours of each row of `X` (L2-normalised) by cosine: (indices, distances), (n, k).

    Each row's own index comes first (distance 0), then its k - 1 most cosine-similar other rows, closest
    first (ties: lower index first); distances are 1 - cosine, as UMAP's "cosine" metric gives them. One matrix
    product per block of `block` rows (BLAS) and a thresholded top-k (`top_columns`): about 0.8 s for 10,000 x 384
    on 2 cores (1.6 s with a full argpartition per row), so no numba code
    runs and nothing is approximate, unlike UMAP's own NN-descent (pynndescent), whose kernels compile for
    about 30 s in every new process.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    k = max(1, min(k, n))
    indices = np.empty((n, k), dtype=np.int32)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = X[start:stop] @ X.T
        rows = np.arange(stop - start)
        sims[rows, rows + start] = -np.inf  # self goes first below, whatever its rounding
        if k > 1:
            nearest = top_columns(sims, k - 1)    # k <= n, so self (-inf) is never among them
            indices[start:stop, 1:] = nearest
            distances[start:stop, 1:] = np.maximum(1.0 - np.take_along_axis(sims, nearest, axis=1), 0.0)
        indices[start:stop, 0] = rows + start
        distances[start:stop, 0] = 0.0
    return indices, distances


def select_k(Z: np.ndarray, k_min: int, k_max: int, seed: int, n_init: int = 3,
             score_sample: int = 3000, progress=None) -> tuple[int, np.ndarray, dict]:
    """KMeans on `Z` for every k in k_min..k_max; (best k, its labels, {k: (CH, silhouette)}).

    The best k has the lowest sum of its ranks under two internal indices: Calinski-Harabasz (between- over
    within-cluster dispersion) and the silhouette (on a seeded sample of at most `score_sample` points); ties go
    to the smaller k. Either index alone picks near-ties at very different k on some sets (CH chose k=4 on
    Biomedical, silhouette k=2 on AgNews); where the two agree the choice is stable. Deterministic for a fixed
    seed. With fewer than 3 points (or no valid k) everything is one cluster. `progress` (e.g. the stage
    context's) wraps the loop over k.

    Alternatives measured on the four labelled sets and not adopted (benchmarks/README.md, "Why AgNews misses"):
    Davies-Bouldin, an elbow on the within-cluster sum of squares, seed stability, silhouette or CH in the
    original cosine space, preferring the finer of near-tied k. Each did worse on at least one set, and none can
    reach gold-k KMeans' ACC on AgNews, where no k in this space does (`benchmarks/themes.py --sweep`).

    Cost: the KMeans fits run on one thread (a 10,000 x 5 KMeans is too small to gain from OpenMP's second
    thread, and on busy cores OpenMP's waiting threads made each fit up to 10 times slower); the silhouette's
    sample distances are computed once for all k (`SampleSilhouette`).
    """
    from sklearn.metrics import calinski_harabasz_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    part = np.arange(len(Z)) if len(Z) <= score_sample else rng.choice(len(Z), score_sample, replace=False)
    scores: dict[int, tuple[float, float]] = {}
    runs: dict[int, np.ndarray] = {}
    ks = range(max(k_min, 2), min(k_max, len(Z) - 1) + 1)
    silhouette = SampleSilhouette(Z[part]) if len(ks) else None
    with threadpool_limits(limits=1, user_api="openmp"):
        for k in (progress(ks, total=len(ks), desc="themes: choosing k", unit="k") if progress else ks):
            labels = kmeans_labels(Z, k, n_init, seed)
            if len(np.unique(labels)) < k or len(np.unique(labels[part])) < 2:
                break  # not k distinct groups in the data: larger k cannot do better
            scores[k] = (float(calinski_harabasz_score(Z, labels)), silhouette.score(labels[part]))
            runs[k] = labels
    if not scores:
        return 1, np.zeros(len(Z), dtype=np.int64), scores
    ks = sorted(scores)
    rank_sum = {k: 0 for k in ks}
    for index in range(2):
        for rank, k in enumerate(sorted(ks, key=lambda k: (-scores[k][index], k))):
            rank_sum[k] += rank
    best = min(ks, key=lambda k: (rank_sum[k], k))
    return best, np.asarray(runs[best], dtype=np.int64), scores


def kmeans_labels(Z: np.ndarray, k: int, n_init: int, seed: int) -> np.ndarray:
    """Seeded KMeans labels of `Z` into `k` clusters (fewer distinct labels when `Z` has duplicate points)."""
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # duplicate points: fewer distinct clusters than k, the callers check
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(Z)


class SampleSilhouette:
    """scikit-learn's `silhouette_score` (Euclidean) of many labelings of the same points, distances computed once.

    `silhouette_score` recomputes the pairwise distances and loops over the points in Python for every call;
    select_k scores about 40 labelings of one 3,000-point sample. Here the distances are computed once (the same
    `pairwise_distances` scikit-learn uses, same dtype) and each labeling's per-cluster distance sums are one
    matrix product; the rest follows `sklearn.metrics.silhouette_samples` step by step, so the score is the same
    up to the summation order of those sums (tests compare the two).
    """

    def __init__(self, X: np.ndarray):
        from sklearn.metrics import pairwise_distances

        self.D = pairwise_distances(X)
        self._D64 = self.D.astype(np.float64)

    def score(self, labels: np.ndarray) -> float:
        _, labels = np.unique(np.asarray(labels), return_inverse=True)
        n = len(labels)
        freqs = np.bincount(labels)
        if not 2 <= len(freqs) <= n - 1:
            raise ValueError(f"silhouette needs 2..{n - 1} labels, got {len(freqs)}")
        # (n, clusters) distance sums, as bincount gives: a sparse one-hot keeps this O(n^2) for any k
        onehot = sparse.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(len(freqs), n))
        dists = np.asarray((onehot @ self._D64).T).astype(self.D.dtype)
        own = (np.arange(n), labels)
        intra = dists[own]
        dists[own] = np.inf
        dists /= freqs
        inter = dists.min(axis=1)
        denom = (freqs - 1).take(labels, mode="clip")
        with np.errstate(divide="ignore", invalid="ignore"):
            intra /= denom
            sil = inter - intra
            sil /= np.maximum(intra, inter)
        return float(np.mean(np.nan_to_num(sil)))


class SelectedKClusterer:
    """UMAP + KMeans with the number of themes chosen from the data; a BERTopic-compatible cluster model.

    Used for corpora too big for Ward (see bertopic_model.py). Steps, all seeded:

    1. Fit sample: at most `fit_sample` units (a seeded random sample when the corpus is bigger; DESIGN: fit on
       a sample at scale).
    2. UMAP of the sample to `n_components` dimensions (cosine, n_neighbors=15, min_dist=0: BERTopic's settings).
       Clusters in that space are tighter and closer to topics than in the raw 384-d space (measured on the
       labelled short-text sets: KMeans at the gold k gets ACC 0.76 vs 0.68 on StackOverflow, 0.80 vs 0.77 on
       SearchSnippets). UMAP gets the exact cosine 15-nearest-neighbour graph (`cosine_knn`, one matrix product)
       instead of building an approximate one with pynndescent, whose numba kernels cost about 30 s of
       compilation in every new process; UMAP's own kernels are kept in numba's disk cache (jit.py). `n_epochs`
       200 (UMAP's own default above 10,000 points, so BERTopic's on most corpora; UMAP gives the 10,000-unit fit
       sample 500): half the UMAP time, and equal or better NMI/ACC on all five benchmark sets
       (benchmarks/README.md).
    3. KMeans in the UMAP space for k from k_min up to about sqrt(units) (at most sample / min_size, and
       `k_max` when set; 0 = no fixed ceiling), searched coarse-to-fine, the chosen k at least one per 10,000
       units (`ksearch.k_floor`); the k ranked best by Calinski-Harabasz
       and silhouette together wins, or a finer level when the original space clearly peaks there
       (`ksearch.search_levels`).
    4. With the units' texts and a `lexical_weight` (0 here by default; the themes model passes
       `[themes] lexical_weight`): the sample's partition at that k is refined by spherical k-means in the joint
       space of the embeddings and an LSA of the texts' words (lexical.py); on the labelled sets ACC 0.758 ->
       0.814 (StackOverflow), 0.463 -> 0.512 (Biomedical), merged 0.553 -> 0.590.
    5. Clusters smaller than `min_size` are dissolved into their nearest neighbours (cosine, 384-d).
    6. Every unit outside the sample goes to the nearest cluster centroid in the 384-d space, in batches.

    Every unit gets a theme (no outlier topic). `predict` assigns new vectors to the nearest centroid.
    """

    def __init__(self, seed: int = 42, k_min: int = 2, k_max: int = 0, min_size: int = 15,
                 fit_sample: int = 10_000, n_components: int = 5, n_neighbors: int = 15, n_init: int = 3,
                 n_epochs: int | None = 200, lexical_weight: float = 0.0, lexical_dims: int = 128):
        self.seed = seed
        self.k_min = k_min
        self.k_max = k_max
        self.min_size = min_size
        self.fit_sample = fit_sample
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.n_init = n_init
        self.n_epochs = n_epochs
        self.lexical_weight = lexical_weight
        self.lexical_dims = lexical_dims
        self.progress = None   # optional progress wrapper for the loop over k (set by BertopicThemeModel.cluster)
        self.texts = None      # the units' texts, for a caller that cannot pass them to `fit` (BERTopic)

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, n_units: int | None = None,
            texts: Sequence[str] | None = None) -> "SelectedKClusterer":
        """Fit on `X` (on its seeded `fit_sample` when bigger). `n_units`: the size of the corpus `X` was sampled
        from, when `X` is already that sample (the themes stage assigns the rest itself, a chunk at a time), so
        the k range is the whole corpus' (`k_high`). `texts`: the units' texts, one per row of `X`; with a
        `lexical_weight` the chosen partition is refined by their words (step 4, lexical.py)."""
        X = np.asarray(X, dtype=np.float32)
        n = len(X)
        texts = self.texts if texts is None else texts
        if texts is not None and len(texts) != n:
            raise ValueError(f"SelectedKClusterer.fit: {len(texts)} texts for {n} vectors")
        sample = self.sample_indices(n)
        self.lexical_moved_ = 0.0
        k_hi = self.k_high(len(sample), max(n, n_units or 0))
        k_lo = k_floor(max(n, n_units or 0), self.k_min, k_hi)
        self.k_range_ = (k_lo, k_hi)
        if len(sample) <= max(self.n_components + 2, self.k_min, 3):  # too few points for UMAP: one theme
            self.chosen_k_, chosen, self.ch_scores_ = 1, np.zeros(len(sample), dtype=np.int64), {}
            self.coarse_k_ = 1
        else:
            fitted = X[sample]   # one copy of the sample's vectors for UMAP, the k search and the refinement
            Z = self._reduce(fitted)
            found = search_levels(Z, self.k_min, k_hi, self.seed, self.n_init, progress=self.progress, X=fitted,
                                  k_least=k_lo)
            self.chosen_k_, chosen, self.ch_scores_ = found.k, found.labels, found.scores
            self.coarse_k_ = found.coarse_k
            chosen = self._refine_by_words(fitted, chosen, texts, sample)
        labels, self.cluster_centers_ = self.spread(X, sample, chosen)
        self.labels_ = labels
        self.sample_size_ = len(sample)
        self.probabilities_ = np.clip(np.sum(X * self.cluster_centers_[labels], axis=1), 0.0, 1.0)
        return self

    def _refine_by_words(self, X: np.ndarray, labels: np.ndarray, texts: Sequence[str] | None,
                         sample: np.ndarray) -> np.ndarray:
        """The sample's partition after the lexical refinement (lexical.py), or unchanged without texts or weight."""
        if texts is None or self.lexical_weight <= 0:
            return labels
        from .lexical import lsa_vectors, refine

        words = lsa_vectors([texts[i] for i in sample], self.lexical_dims, self.seed)
        if words is None:
            return labels
        refined = refine(X, words, labels, self.lexical_weight)
        self.lexical_moved_ = float(np.mean(refined != labels))
        return refined

    def sample_indices(self, n: int) -> np.ndarray:
        """Sorted indices of the fit sample: all of range(n), or a seeded random `fit_sample` of them."""
        if n <= self.fit_sample:
            return np.arange(n)
        return np.sort(np.random.default_rng(self.seed).choice(n, self.fit_sample, replace=False))

    def k_high(self, n_sample: int, n_units: int | None = None) -> int:
        """Largest k tried for `n_units` units fitted on `n_sample` of them (default: all): about sqrt(n_units),
        at most one theme per `min_size` sampled units, and at most `k_max` when that is set
        (`ksearch.k_ceiling`)."""
        return max(self.k_min, k_ceiling(n_units or n_sample, n_sample, self.min_size, self.k_max))

    def spread(self, X: np.ndarray, sample: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Steps 5-6 for the sample's KMeans labels `chosen`: (labels of all units, float32 centroids).

        Clusters under `min_size` are dissolved into their nearest neighbours, then every unit outside the sample
        goes to the nearest centroid. benchmarks/themes.py --sweep uses this to score every k the same way.
        """
        n = len(X)
        chosen = merge_small_clusters(X[sample], np.asarray(chosen, dtype=np.int64), self.min_size)
        centers = centroids(X[sample], chosen, sorted(set(int(x) for x in chosen))).astype(np.float32)
        labels = nearest_centroid(X, centers) if len(sample) < n else np.empty(n, np.int64)
        labels[sample] = chosen
        return labels, centers

    def _reduce(self, X: np.ndarray) -> np.ndarray:
        import warnings

        from .jit import umap_class

        UMAP = umap_class()
        n_neighbors = min(self.n_neighbors, len(X) - 1)
        knn = cosine_knn(X, n_neighbors)
        with warnings.catch_warnings():  # "n_jobs overridden to 1 by setting random_state", "... not an NNDescent
            warnings.simplefilter("ignore", UserWarning)  # object: transform unavailable": both intended
            return UMAP(n_neighbors=n_neighbors, n_components=self.n_components,
                        min_dist=0.0, metric="cosine", random_state=self.seed, low_memory=False,
                        n_epochs=self.n_epochs,
                        precomputed_knn=(*knn, None),
                        init="spectral" if len(X) > self.n_components + 1 else "random").fit_transform(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return nearest_centroid(np.asarray(X, dtype=np.float32), self.cluster_centers_)

    def describe(self, n_units: int) -> tuple[str, dict]:
        """(strategy, details) after `fit`: the chosen k and how, and whether a sample was used."""
        k = len(self.cluster_centers_)
        finer = f", finer than the rank-sum peak k={self.coarse_k_}" if self.coarse_k_ != self.chosen_k_ else ""
        words = f", refined by words: {self.lexical_moved_:.0%} moved" if self.lexical_moved_ else ""
        how = (f"umap{self.n_components}+kmeans(k={k}, CH+silhouette coarse-to-fine over k={self.k_range_[0]}.."
               f"{self.k_range_[1]}, {len(self.ch_scores_)} tried{finer}{words})")
        details = {"chosen_k": int(self.chosen_k_), "coarse_k": int(self.coarse_k_), "n_themes_after_merge": int(k),
                   "lexical_moved": round(self.lexical_moved_, 4),
                   "k_range": list(self.k_range_),
                   "min_theme_size": self.min_size, "fit_sample": int(self.sample_size_)}
        if self.sample_size_ < n_units:
            return f"large:{how} fitted on a sample of {self.sample_size_}, rest by nearest centroid", details
        return f"medium:{how}", details
