"""Theme-clustering benchmark on the labelled short-text sets (issue 4).

Runs, on the same cached MiniLM embeddings of each labelled set in ../shared/data/short_text_clustering/
(StackOverflow, SearchSnippets, Biomedical, AgNews), side by side:

  (a) commentminer's default clustering (BertopicThemeModel's corpus-size-aware cluster model, k not given);
  (b) BERTopic with its default settings (UMAP 5-d cosine, seeded for reproducibility, + HDBSCAN
      min_cluster_size=10) on the same embeddings; its outlier topic (-1) counts as one more cluster;
  (c) KMeans (scikit-learn defaults, seeded) on the same embeddings, told the gold number of classes k.

and prints a Markdown table of NMI, ARI and ACC against gold, number of themes, outlier share and fit time, with
the (a)-vs-(b) NMI delta and the (a)/(c) ACC ratio. For (a) it also gives the "other" share the themes stage
would report for that partition per level (leaves: units far from their theme, [themes] other_threshold and
other_spread defaults; parents: those plus units in leaves no parent takes) and the number of parents. ACC is the Hungarian (one-to-one) accuracy: with more
clusters than classes, units of unmatched clusters count as wrong.

Embeddings are computed once per dataset and cached in benchmarks/.cache/ (git-ignored; about 2 minutes per
20k texts on 2 cores). Usage:

    .venv/bin/python benchmarks/themes.py                       # all four sets (about 10 min once cached)
    .venv/bin/python benchmarks/themes.py --datasets agnews --limit 2000
    .venv/bin/python benchmarks/themes.py --synthetic --limit 600   # no data or model needed (smoke run)
    .venv/bin/python benchmarks/themes.py --sweep                # (a) at every k + (c) over seeds, see below
    .venv/bin/python benchmarks/themes.py --fit-time 100000 --store C3.duckdb   # fit time at scale, no gold

--sweep is a diagnostic of the k choice instead of the comparison: it fits (a)'s UMAP once per set, scores (a)'s
pipeline at every k it considers (CH, silhouette, their rank sum, the silhouette in the original space, and
NMI/ACC against gold for the same dissolve-small-themes + nearest-centroid steps), marks the k (a)'s search picks
(ksearch.search_k, with its finer level), and reruns (c) KMeans at the gold k with seeds 0..9, once with a single
k-means++ start and once with n_init=10, to show how much (c)'s ACC depends on the seed.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data next to the checkout; COMMENTMINER_DATA overrides it (a worktree sits one level deeper)
DATA_DIR = Path(__import__("os").environ.get("COMMENTMINER_DATA", ROOT.parent / "shared" / "data")) / "short_text_clustering"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
MODEL_PATH = ROOT / "models" / "all-MiniLM-L6-v2"

DATASETS = {
    "stackoverflow": "stackoverflow_true_text.txt",
    "searchsnippets": "search_snippets_true_text.txt",
    "biomedical": "biomedical_true_text.txt",
    "agnews": "agnewsdataraw-8000.txt",
}


# -- data -----------------------------------------------------------------------------------------------------
def load_dataset(path: Path) -> tuple[list[str], np.ndarray]:
    """(texts, gold labels) from a `<label> TAB <text> [TAB]` file; CRLF/LF and a trailing TAB are handled."""
    texts, gold = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.rstrip("\r")
        if not line.strip():
            continue
        label, _, rest = line.partition("\t")
        texts.append(rest.split("\t")[0].strip())
        gold.append(int(label))
    return texts, np.asarray(gold, dtype=np.int64)


def cached_embeddings(name: str, texts: list[str], model_path: Path = MODEL_PATH, precision: str = "fp32") -> np.ndarray:
    """Embeddings of `texts`, computed once and kept in benchmarks/.cache/<name>-<hash>.npy.

    The pipeline's embedder (`onnx.v1`) at `precision`: fp32 gives sentence-transformers' vectors (cosine >=
    0.9999), int8 the `--fast` graph's (`--precision int8`, its quality gate)."""
    tag = "" if precision == "fp32" else f"|{precision}"
    key = hashlib.sha256(("\n".join(texts) + f"|{model_path.name}{tag}").encode("utf-8")).hexdigest()[:12]
    path = CACHE_DIR / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    from commentminer.embed.onnx_embedder import OnnxEmbedder

    start = time.perf_counter()
    vectors = OnnxEmbedder(model_path=str(model_path), precision=precision).embed(texts)
    print(f"# embedded {name}: {len(texts)} texts in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def synthetic_dataset(n: int, k: int = 6, dim: int = 384, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """`n` unit vectors in `k` Gaussian blobs on the sphere (+ dummy texts): a smoke run without data or model."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    gold = np.arange(n) % k
    vecs = centres[gold] + 0.6 * rng.normal(size=(n, dim))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return [f"text {i} of blob {g}" for i, g in enumerate(gold)], vecs.astype(np.float32), gold


def subsample(n: int, limit: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded random subset of size `limit` (all of range(n) when no limit)."""
    if not limit or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def merged_dataset(limit: int = 20_000, seed: int = 0, precision: str = "fp32"):
    """The many-class set: the four dev sets merged (52 gold classes: each set's labels kept apart), a seeded
    random `limit` of them. Returns (texts, vectors, gold)."""
    texts, vectors, gold, offset = [], [], [], 0
    for name, file in DATASETS.items():
        t, g = load_dataset(DATA_DIR / file)
        texts += t
        vectors.append(cached_embeddings(name, t, precision=precision))
        g = np.unique(g, return_inverse=True)[1] + offset
        gold.append(g)
        offset = int(g.max()) + 1
    vectors, gold = np.concatenate(vectors), np.concatenate(gold)
    keep = subsample(len(texts), limit, seed)
    return [texts[i] for i in keep], vectors[keep], gold[keep]


# StackOverflow's 20 gold classes, in label order (Xu et al. 2015), and the words that name each in a label.
STACKOVERFLOW_TAGS = ["wordpress", "oracle", "svn", "apache", "excel", "matlab", "visual-studio", "cocoa", "osx",
                      "bash", "spring", "hibernate", "scala", "sharepoint", "ajax", "qt", "drupal", "linq",
                      "haskell", "magento"]
TAG_FORMS = {"svn": ("svn", "subversion"), "visual-studio": ("visual studio", "visual-studio"),
             "osx": ("osx", "os x", "mac"), "bash": ("bash", "shell")}


def names_tag(label: str, tag: str) -> bool:
    """Whether a theme label names a StackOverflow tag (or its obvious form: "Visual Studio" for visual-studio)."""
    import re

    text = f" {re.sub(r'[^a-z0-9+#-]+', ' ', label.lower())} "
    return any(f" {form} " in text or f" {form}s " in text for form in TAG_FORMS.get(tag, (tag,)))


def label_quality_stackoverflow(texts: list[str], vectors: np.ndarray, gold: np.ndarray, seed: int) -> dict:
    """Themes of (a) labelled as the themes stage labels them (labels.describe_themes with the spaCy tagger):
    the share of themes whose label names their majority gold tag."""
    from commentminer.themes.labels import describe_themes
    from commentminer.themes.pos import SpacyTagger

    pred, _ = run_commentminer(vectors, seed, texts)
    described = describe_themes(texts, pred, (1, 3), 10, 0.2, tagger=SpacyTagger())
    rows = []
    for theme, (label, _) in sorted(described.items()):
        members = gold[pred == theme]
        tag = STACKOVERFLOW_TAGS[int(np.bincount(members).argmax()) - 1]
        rows.append((theme, label, tag, names_tag(label, tag)))
    return {"themes": len(rows), "named": sum(r[3] for r in rows), "rows": rows}


def label_quality_store(db: Path, run_id: str | None = None) -> dict:
    """On a themed store (e.g. SFU C3): the share of leaf labels that are multi-word phrases (and the share that
    are, or are a one-word proper name in at least NAME_COVER of the theme's members), and grounding:
    the mean share of a theme's members whose text contains its label phrase (as a candidate phrase), for the
    leaves and, separately, for the parents (a parent's members are its leaves' members)."""
    from commentminer.store import Store
    from commentminer.themes.labels import phrase_occurs
    from commentminer.themes.phrases import NAME_COVER

    with Store(db, read_only=True) as store:
        run_id = run_id or str(store.query("SELECT run_id FROM themes ORDER BY run_id DESC LIMIT 1").iloc[0, 0])
        themes = store.query("SELECT theme_id, label, kind, n_units, parent_id, loose FROM themes WHERE run_id = ?",
                             [run_id])
        members = store.query("SELECT ut.theme_id, u.text FROM unit_themes ut JOIN units u USING (unit_id) "
                              "WHERE ut.run_id = ?", [run_id])
    leaves = themes[themes.kind.isin(["guided", "discovered"])]
    parents = themes[themes.kind == "parent"]
    loose = leaves.loose.fillna(False).astype(bool)   # themes/focus.py; null in runs stored before the column

    def grounded(label: str, texts) -> float:
        return float(np.mean([phrase_occurs(label.lower(), t) for t in texts])) if len(texts) else 0.0

    grounding = [grounded(row.label, members.text[members.theme_id == row.theme_id]) for row in leaves.itertuples()]
    # the rule: a phrase of several words, unless the single word is a proper name (written capitalised,
    # as the members write it) that covers the theme (phrases.NAME_COVER of its members)
    by_rule = [" " in row.label or (row.label[:1].isupper() and share >= NAME_COVER)
               for row, share in zip(leaves.itertuples(), grounding)]
    parent_of = dict(zip(leaves.theme_id, leaves.parent_id))
    under = members.theme_id.map(parent_of)
    parent_grounding = [grounded(row.label, members.text[under == row.theme_id]) for row in parents.itertuples()]
    other = int(themes.loc[themes.kind == "other", "n_units"].sum())
    return {"run_id": run_id, "leaves": len(leaves), "parents": len(parents),
            "multi_word": float(np.mean([" " in label for label in leaves.label])) if len(leaves) else 0.0,
            "phrase_or_covering_name": float(np.mean(by_rule)) if by_rule else 0.0,
            "grounding": float(np.mean(grounding)) if grounding else 0.0,
            "parent_grounding": float(np.mean(parent_grounding)) if parent_grounding else 0.0,
            "parent_labels": parents.sort_values("n_units", ascending=False).label.tolist(),
            "other_share": other / max(int(themes.loc[themes.kind != "parent", "n_units"].sum()), 1),
            "labels": leaves.sort_values("n_units", ascending=False).label.tolist(),
            "loose": leaves[loose].sort_values("n_units", ascending=False).label.tolist(),
            "loose_share": float(leaves.loc[loose, "n_units"].sum() / max(int(leaves.n_units.sum()), 1))}


# -- metrics --------------------------------------------------------------------------------------------------
def cluster_accuracy(gold: np.ndarray, pred: np.ndarray) -> float:
    """Hungarian accuracy: the best one-to-one map of clusters to classes; unmatched clusters count as wrong."""
    from scipy.optimize import linear_sum_assignment

    gold, pred = np.asarray(gold), np.asarray(pred)
    if len(gold) == 0:
        return 0.0
    _, g = np.unique(gold, return_inverse=True)
    _, p = np.unique(pred, return_inverse=True)
    table = np.zeros((p.max() + 1, g.max() + 1), dtype=np.int64)
    np.add.at(table, (p, g), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(gold))


def scores(gold: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """NMI (arithmetic normalisation, scikit-learn's default), ARI and Hungarian ACC of `pred` against `gold`."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"nmi": float(normalized_mutual_info_score(gold, pred)), "ari": float(adjusted_rand_score(gold, pred)),
            "acc": cluster_accuracy(gold, pred)}


# -- the three methods ----------------------------------------------------------------------------------------
def other_shares(vectors: np.ndarray, pred: np.ndarray, threshold: float = 0.35, spread: float = 1.5) -> dict:
    """What the themes stage would report for partition `pred` ([themes] other_threshold and other_spread
    defaults): the share of units in "other" at the leaf level (far from their theme's centroid,
    `clustering.far_from_theme`) and at the parent level (in "other" or in a leaf no parent takes,
    `hierarchy.group_leaves`), and the number of parents."""
    from commentminer.themes.clustering import far_from_theme
    from commentminer.themes.hierarchy import group_leaves
    from commentminer.themes.quotes import centroid

    X = np.asarray(vectors, dtype=np.float32)
    other = np.zeros(len(X), dtype=bool)
    ids = sorted(int(t) for t in np.unique(pred) if t != -1)
    cents = []
    for t in ids:
        members = np.flatnonzero(pred == t)
        cents.append(centroid(X[members]))
        other[members[far_from_theme(X[members] @ cents[-1], threshold, spread)]] = True
    groups = group_leaves(np.stack(cents)) if cents else []
    parented = np.isin(pred, [ids[i] for g in groups for i in g])
    return {"other_leaves": float(np.mean(other | (pred == -1))),
            "other_parents": float(np.mean(other | ~parented)) if groups else None, "parents": len(groups)}


def run_commentminer(vectors: np.ndarray, seed: int, texts: list[str] | None = None) -> tuple[np.ndarray, str]:
    """(a) The cluster model BertopicThemeModel picks for this corpus size (labels are not needed here), given the
    texts as the themes stage gives them (their words refine the partition, themes/lexical.py)."""
    from commentminer.themes.bertopic_model import BertopicThemeModel

    fit = BertopicThemeModel(seed=seed).cluster(vectors, texts=texts)   # the themes stage's own call
    return np.asarray(fit.assignments), fit.strategy


def warm_up(seed: int) -> None:
    """Pay numba's one-off compilation of UMAP/HDBSCAN (about 40 s per process) before anything is timed."""
    import warnings

    from umap import UMAP

    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        UMAP(n_components=5, metric="cosine", random_state=seed).fit_transform(rng.normal(size=(300, 16)))


def run_bertopic_default(texts: list[str], vectors: np.ndarray, seed: int) -> tuple[np.ndarray, str]:
    """(b) BERTopic() defaults on precomputed embeddings; UMAP seeded (BERTopic's own UMAP settings otherwise)."""
    from bertopic import BERTopic
    from umap import UMAP

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed,
                      low_memory=False)
    topics, _ = BERTopic(embedding_model=None, umap_model=umap_model, verbose=False).fit_transform(
        texts, embeddings=vectors)
    return np.asarray(topics), "umap+hdbscan(mcs=10)"


def run_kmeans_gold_k(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, str]:
    """(c) KMeans told the gold k, on the same embeddings, best of n_init=10 starts (the fair reference: a single
    seed's result depends on its luck, see --sweep)."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors), f"kmeans(k={k}, n_init=10)"


def evaluate(name: str, texts: list[str], vectors: np.ndarray, gold: np.ndarray, seed: int,
             methods: tuple[str, ...] = ("commentminer", "bertopic", "kmeans")) -> list[dict]:
    """One row per method: scores, themes, outlier share, fit seconds, strategy."""
    k = len(np.unique(gold))
    rows = []
    for method in methods:
        start = time.perf_counter()
        if method == "commentminer":
            pred, how = run_commentminer(vectors, seed, texts)
        elif method == "bertopic":
            pred, how = run_bertopic_default(texts, vectors, seed)
        else:
            pred, how = run_kmeans_gold_k(vectors, k, seed)
        seconds = time.perf_counter() - start
        pred = np.asarray(pred)
        rows.append({"dataset": name, "n": len(gold), "k_gold": k, "method": method, "how": how,
                     **scores(gold, pred), "themes": int(len(np.unique(pred[pred != -1]))),
                     "outliers": float(np.mean(pred == -1)), "seconds": seconds,
                     **(other_shares(vectors, pred) if method == "commentminer" else {})})
        print(f"# {name} {method}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


# -- k sweep (diagnostic) -------------------------------------------------------------------------------------
def k_sweep(vectors: np.ndarray, gold: np.ndarray, seed: int) -> tuple[list[dict], int | None]:
    """(a)'s pipeline forced to every k it considers: one row per k with CH, silhouette, rank sum, the silhouette
    in the original space (what `ksearch.finer_peak` looks at), the gap statistic (3 uniform references), NMI
    and ACC.

    Uses the same UMAP, KMeans (select_k's n_init and seed) and dissolve + nearest-centroid steps as
    SelectedKClusterer.fit; returns (rows, k select_k chose), or ([], None) for a corpus (a) clusters with Ward.
    """
    import warnings

    from sklearn.cluster import KMeans

    from commentminer.themes.bertopic_model import BertopicThemeModel
    from commentminer.themes.clustering import SampleSilhouette, SelectedKClusterer, select_k
    from commentminer.themes.ksearch import search_k

    clusterer, _, _ = BertopicThemeModel(seed=seed).cluster_model(len(vectors))
    if not isinstance(clusterer, SelectedKClusterer):
        return [], None
    X = np.asarray(vectors, dtype=np.float32)
    sample = clusterer.sample_indices(len(X))
    Z = clusterer._reduce(X[sample])
    k_hi = clusterer.k_high(len(sample), len(X))
    # what (a) picks, coarse-to-fine, with the finer level it may take (the original space's silhouette)
    chosen, _, _ = search_k(Z, clusterer.k_min, k_hi, seed, clusterer.n_init, X=X[sample])
    _, _, internal = select_k(Z, clusterer.k_min, k_hi, seed, clusterer.n_init)   # every k, for the table
    part = np.random.default_rng(seed).choice(len(Z), min(3000, len(Z)), replace=False)   # search_k's sample
    in_x = SampleSilhouette(X[sample][part])
    ks = sorted(internal)
    rank_sum = {k: 0 for k in ks}
    for index in range(2):
        for rank, k in enumerate(sorted(ks, key=lambda k: (-internal[k][index], k))):
            rank_sum[k] += rank
    references = gap_references(Z, n_refs=3, seed=seed)
    rows = []
    for k in ks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labels = KMeans(n_clusters=k, n_init=clusterer.n_init, random_state=seed).fit_predict(Z)
            log_ref = np.log([KMeans(n_clusters=k, n_init=1, random_state=seed).fit(r).inertia_ for r in references])
        full, _ = clusterer.spread(X, sample, labels)
        rows.append({"k": k, "ch": internal[k][0], "silhouette": internal[k][1], "rank_sum": rank_sum[k],
                     "silhouette_x": in_x.score(labels[part]),
                     "gap": float(log_ref.mean() - np.log(within_dispersion(Z, labels))),
                     "gap_sd": float(log_ref.std() * np.sqrt(1 + 1 / len(references))),
                     **scores(gold, full), "themes": int(len(np.unique(full)))})
    return rows, chosen


def within_dispersion(Z: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the points of `Z` to their cluster means (KMeans' inertia)."""
    return float(sum(((Z[labels == c] - Z[labels == c].mean(axis=0)) ** 2).sum() for c in np.unique(labels)))


def gap_references(Z: np.ndarray, n_refs: int, seed: int) -> list[np.ndarray]:
    """`n_refs` uniform samples over the box of `Z`'s principal axes (Tibshirani, Walther & Hastie 2001)."""
    rng = np.random.default_rng(seed)
    mean = Z.mean(axis=0)
    _, _, axes = np.linalg.svd(Z - mean, full_matrices=False)
    projected = (Z - mean) @ axes.T
    low, high = projected.min(axis=0), projected.max(axis=0)
    return [rng.uniform(low, high, size=projected.shape) @ axes + mean for _ in range(n_refs)]


def gap_choice(rows: list[dict]) -> int:
    """The gap statistic's k: the smallest k with gap(k) >= gap(k+1) - s(k+1) (the last k when none is)."""
    for row, after in zip(rows, rows[1:]):
        if row["gap"] >= after["gap"] - after["gap_sd"]:
            return row["k"]
    return rows[-1]["k"]


def kmeans_seed_spread(vectors: np.ndarray, gold: np.ndarray, n_seeds: int = 10) -> dict[str, list[float]]:
    """ACC of (c) KMeans at the gold k for seeds 0..n_seeds-1, with (c)'s n_init (1) and with n_init=10."""
    from sklearn.cluster import KMeans

    k = len(np.unique(gold))
    return {f"n_init={n_init}": [cluster_accuracy(gold, KMeans(n_clusters=k, n_init=n_init, random_state=s)
                                                  .fit_predict(vectors)) for s in range(n_seeds)]
            for n_init in (1, 10)}


def sweep_report(name: str, vectors: np.ndarray, gold: np.ndarray, seed: int, n_seeds: int = 10) -> str:
    """Markdown for one set: the per-k table of (a) (every k tried) and (c)'s seed spread at the gold k."""
    k_gold = len(np.unique(gold))
    rows, chosen = k_sweep(vectors, gold, seed)
    lines = [f"### {name} (n={len(gold):,}, gold k={k_gold})", ""]
    if not rows:
        lines.append("(a) uses Ward for a corpus this small: no k is selected.")
    else:
        best = max(rows, key=lambda r: (r["acc"], -r["k"]))
        by_gap = gap_choice(rows)
        acc_of = {r["k"]: r["acc"] for r in rows}
        lines += [f"(a) chose k={chosen}; best ACC over every k tried: {best['acc']:.3f} at k={best['k']}; "
                  f"the gap statistic would choose k={by_gap} (ACC {acc_of[by_gap]:.3f}).", "",
                  "| k | CH (UMAP) | silhouette (UMAP) | rank sum | silhouette (original) | gap (s) | NMI | ACC | themes |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            mark = " (chosen)" if r["k"] == chosen else ""
            lines.append(f"| {r['k']}{mark} | {r['ch']:.0f} | {r['silhouette']:.3f} | {r['rank_sum']} | "
                         f"{r['silhouette_x']:.3f} | "
                         f"{r['gap']:.3f} ({r['gap_sd']:.3f}) | {r['nmi']:.3f} | {r['acc']:.3f} | {r['themes']} |")
    lines.append("")
    for how, accs in kmeans_seed_spread(vectors, gold, n_seeds).items():
        lines.append(f"(c) KMeans k={k_gold}, {how}, seeds 0..{n_seeds - 1}: ACC mean {np.mean(accs):.3f}, "
                     f"min {min(accs):.3f}, max {max(accs):.3f} ({', '.join(f'{a:.3f}' for a in accs)})")
    return "\n".join(lines + [""])


# -- output ---------------------------------------------------------------------------------------------------
def markdown_table(rows: list[dict]) -> str:
    """Side-by-side table: one line per dataset and method, plus the deltas/ratios of (a) vs (b) and (c)."""
    head = ("| dataset (n, gold k) | method | NMI | ARI | ACC | themes | outliers | \"other\" leaves / parents "
            "(parents) | fit s | NMI vs (b) | ACC vs (c) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    by_set: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_set.setdefault(row["dataset"], {})[row["method"]] = row
    tag = {"commentminer": "(a) commentminer", "bertopic": "(b) BERTopic defaults", "kmeans": "(c) KMeans, gold k"}
    for name, methods in by_set.items():
        base_b, base_c = methods.get("bertopic"), methods.get("kmeans")
        for method, row in methods.items():
            d_nmi = f"{row['nmi'] - base_b['nmi']:+.3f}" if base_b and method != "bertopic" else ""
            r_acc = f"{row['acc'] / base_c['acc']:.2f}×" if base_c and method != "kmeans" and base_c["acc"] else ""
            parents = "-" if row.get("other_parents") is None else f"{row['other_parents']:.1%}"
            other = f"{row['other_leaves']:.1%} / {parents} ({row['parents']})" if "other_leaves" in row else ""
            lines.append(
                f"| {name} ({row['n']:,}, {row['k_gold']}) | {tag[method]}: {row['how']} | {row['nmi']:.3f} | "
                f"{row['ari']:.3f} | {row['acc']:.3f} | {row['themes']} | {row['outliers']:.1%} | {other} | "
                f"{row['seconds']:.1f} | {d_nmi} | {r_acc} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=[*DATASETS, "merged"], default=[*DATASETS, "merged"],
                        help="dev sets; merged = all four merged (52 classes), a seeded 20,000 of them")
    parser.add_argument("--labels", action="store_true",
                        help="label quality instead: StackOverflow labels naming their majority tag (and --store)")
    parser.add_argument("--store", type=Path, default=None,
                        help="with --labels: a themed store (e.g. SFU C3) for the multi-word share and grounding")
    parser.add_argument("--limit", type=int, default=None, help="seeded random subset of N texts per dataset")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--methods", nargs="+", choices=["commentminer", "bertopic", "kmeans"],
                        default=["commentminer", "bertopic", "kmeans"])
    parser.add_argument("--synthetic", action="store_true", help="synthetic blobs instead of the data sets")
    parser.add_argument("--precision", choices=["fp32", "int8"], default="fp32",
                        help="embed with the pipeline's fp32 or int8 graph (int8: the `run --fast` quality gate)")
    parser.add_argument("--fit-time", type=int, default=0, metavar="N",
                        help="fit time of (a) and (b) on N real vectors (the four sets unsampled, 60,340, plus "
                             "--store's unit vectors), no gold: themes, outliers / other, seconds")
    parser.add_argument("--sweep", action="store_true",
                        help="diagnose the k choice: (a) at every k, (c) over 10 seeds (instead of the comparison)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    if args.labels:
        return print_label_quality(args)
    if args.fit_time:
        return print_fit_time(args)
    rows = []
    warm_up(args.seed)
    if args.synthetic:
        sets = [("synthetic", *synthetic_dataset(args.limit or 600, seed=args.seed))]
    else:
        sets = []
        for name in args.datasets:
            if name == "merged":
                texts, vectors, gold = merged_dataset(precision=args.precision)
                keep = subsample(len(texts), args.limit)
                sets.append((name, [texts[i] for i in keep], vectors[keep], gold[keep]))
                continue
            texts, gold = load_dataset(DATA_DIR / DATASETS[name])
            vectors = cached_embeddings(name, texts, precision=args.precision)
            keep = subsample(len(texts), args.limit)
            sets.append((name, [texts[i] for i in keep], vectors[keep], gold[keep]))
    for name, texts, vectors, gold in sets:
        if args.sweep:
            print(sweep_report(name, vectors, gold, args.seed), flush=True)
        else:
            rows += evaluate(name, texts, vectors, gold, args.seed, tuple(args.methods))
    if not args.sweep:
        print(markdown_table(rows))
    return 0


def print_label_quality(args) -> int:
    """--labels: StackOverflow's tag-naming share, and a themed store's multi-word share and grounding."""
    texts, gold = load_dataset(DATA_DIR / DATASETS["stackoverflow"])
    vectors = cached_embeddings("stackoverflow", texts, precision=args.precision)
    keep = subsample(len(texts), args.limit)
    found = label_quality_stackoverflow([texts[i] for i in keep], vectors[keep], gold[keep], args.seed)
    print(f"StackOverflow: {found['named']}/{found['themes']} theme labels name their majority tag")
    for theme, label, tag, ok in found["rows"]:
        print(f"  {theme}: {label!r} (majority tag {tag}){'' if ok else '  <- misses'}")
    if args.store:
        store = label_quality_store(args.store)
        print(f"{args.store} (run {store['run_id']}): {store['leaves']} leaf themes, {store['parents']} parents; "
              f"multi-word labels {store['multi_word']:.0%} (or a name covering its theme: "
              f"{store['phrase_or_covering_name']:.0%}); grounding {store['grounding']:.0%} "
              f"(parents {store['parent_grounding']:.1%}); other {store['other_share']:.1%}")
        print("  labels, largest first: " + "; ".join(store["labels"][:40]))
        print("  parent labels, largest first: " + "; ".join(store["parent_labels"]))
        print(f"  loose leaves: {len(store['loose'])} ({store['loose_share']:.1%} of themed units): "
              + "; ".join(store["loose"]))
    return 0


def store_vectors(db: Path) -> tuple[list[str], np.ndarray]:
    """(texts, float32 vectors) of the units a store's themes stage would theme (default unit kinds)."""
    from commentminer.config import ThemesConfig
    from commentminer.store import Store
    from commentminer.store.vectors import iter_vector_chunks
    from commentminer.themes.units import units_sql

    kinds = list(ThemesConfig().unit_kinds)
    sql = units_sql(kinds, "u.text, e.vector", "JOIN embeddings e ON e.text_hash = u.text_hash")
    texts, blocks = [], []
    with Store(db, read_only=True) as store:
        models = store.query("SELECT DISTINCT model_id FROM embeddings").model_id.tolist()
        if len(models) != 1:
            raise SystemExit(f"{db}: --fit-time needs a store with one embedding model, found {models}")
        for frame, matrix, _ in iter_vector_chunks(store, sql, kinds):
            texts += frame.text.tolist()
            blocks.append(np.asarray(matrix, np.float32))
    return texts, np.concatenate(blocks)


def print_fit_time(args) -> int:
    """--fit-time N: (a) and (b) fitted on the same N real vectors in one warm process, no gold labels."""
    texts, blocks = [], []
    for name, file in DATASETS.items():
        t, _ = load_dataset(DATA_DIR / file)
        texts += t
        blocks.append(cached_embeddings(name, t, precision=args.precision))
    if args.store:
        t, v = store_vectors(args.store)
        texts += t
        blocks.append(v)
    vectors = np.concatenate(blocks)
    keep = subsample(len(texts), min(args.fit_time, len(texts)), args.seed)
    texts, vectors = [texts[i] for i in keep], vectors[keep]
    warm_up(args.seed)
    print(f"| method ({len(texts):,} real vectors) | themes | outliers / other (leaves) | fit s |\n|---|---|---|---|")
    for method in args.methods:
        if method == "kmeans":
            continue
        start = time.perf_counter()
        pred, how = (run_commentminer(vectors, args.seed, texts) if method == "commentminer"
                     else run_bertopic_default(texts, vectors, args.seed))
        seconds = time.perf_counter() - start
        pred = np.asarray(pred)
        share = (other_shares(vectors, pred)["other_leaves"] if method == "commentminer" else float(np.mean(pred == -1)))
        print(f"| {method}: {how} | {len(np.unique(pred[pred != -1]))} | {share:.1%} | {seconds:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
