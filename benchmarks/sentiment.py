"""Sentiment benchmark (issue 5): every sentiment backend side by side on the same evaluation data.

Evaluation data (none of it is used for training; scripts/train_sentiment.py drops any training sentence that
also occurs here):
  - VADER ground truth (../shared/data/vader_groundtruth): Pearson r of the backend's score with the mean human
    rating, on tweets (4,200), NYT editorial snippets (5,190), Amazon review snippets (3,708), and movie snippets
    *outside our training data* (the movie snippets and SST come from the same Rotten Tomatoes snippets: about
    6,800 of the 10,605 are SST train sentences, so those are left out for every backend; VADER's r on the full
    movie set is printed in a note for comparison with the paper);
  - SST-2 test (stsa.binary.test, 1,821): accuracy and macro-F1 of score > 0 = positive;
  - SST-5 test (stsa.fine.test, 2,210): accuracy and macro-F1 over 5 classes (the model: argmax; VADER: compound
    cut at -0.5, -0.05, 0.05, 0.5) and 3-class macro-F1 (very neg + neg / neutral / pos + very pos; each backend's
    own label).
Training data (only for the model backend, read by scripts/train_sentiment.py, not here): SST-5 train, MPQA,
custrev. Model selection used SST-2/SST-5 dev.

Vectors are the pipeline's MiniLM embeddings, cached in benchmarks/.cache/ (about 3 minutes per 10k texts once).
The `vs VADER` column is the model minus VADER.

    .venv/bin/python benchmarks/sentiment.py                     # everything (about 1 minute once cached)
    .venv/bin/python benchmarks/sentiment.py --limit 500         # seeded subset of each set
    .venv/bin/python benchmarks/sentiment.py --synthetic         # no data or embedding model needed (smoke run)
    .venv/bin/python benchmarks/sentiment.py --backends vader.v1 minilm_lora.v1 minilm_lora.v1@int8   # int8 gate
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from commentminer.sentiment.datasets import (  # noqa: E402
    VADER_SETS, cached_embeddings, overlap_key, read_labelled, read_vader,
)

DATA_DIR = ROOT.parent / "shared" / "data"
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
MODEL_PATH = ROOT / "models" / "all-MiniLM-L6-v2"
TRAINING_FILES = ["stsa.fine.train", "stsa.binary.train", "mpqa.all", "custrev.all"]
BACKENDS = ["vader.v1", "minilm_mlp.v1", "minilm_lora.v1"]
BASELINE = "vader.v1"


# -- data -----------------------------------------------------------------------------------------------------
class EvalSet:
    """Texts + vectors + gold of one evaluation set; kind "r" (mean rating), "sst2" or "sst5"."""

    def __init__(self, name: str, kind: str, texts: list[str], gold: np.ndarray, vectors: np.ndarray, note: str = ""):
        self.name, self.kind, self.texts, self.gold, self.vectors, self.note = name, kind, texts, gold, vectors, note

    def subset(self, keep: np.ndarray, note: str = "") -> "EvalSet":
        return EvalSet(self.name, self.kind, [self.texts[i] for i in keep], self.gold[keep], self.vectors[keep],
                       note or self.note)


def _limit(n: int, limit: int | None, seed: int) -> np.ndarray:
    if not limit or limit >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def load_sets(data_dir: Path, limit: int | None, seed: int, model_path: Path = MODEL_PATH) -> list[EvalSet]:
    """The evaluation sets; with `limit`, a seeded subset of each is taken before anything is embedded."""
    training = set()
    for name in TRAINING_FILES:
        training |= set(map(overlap_key, read_labelled(data_dir / "sst" / f"{name}.txt")[0]))
    suffix = f"-limit{limit}-seed{seed}" if limit else ""
    sets = []
    for name, file in VADER_SETS.items():
        _, texts, means = read_vader(data_dir / "vader_groundtruth" / file)
        note, index = "", np.arange(len(texts))
        if name == "movie":
            index = np.array([i for i, t in enumerate(texts) if overlap_key(t) not in training])
            note = f"those of {len(texts):,} not in our training data"
        index = index[_limit(len(index), limit, seed)]
        kept = [texts[i] for i in index]
        es = EvalSet(name, "r", kept, np.asarray(means)[index],
                     cached_embeddings(f"vader-{name}{suffix}", kept, CACHE_DIR,
                                       model_path), note)
        if name == "movie":
            es.full_texts, es.full_gold = texts, np.asarray(means)  # for VADER's full-set note
        sets.append(es)
    for name, file in (("sst2", "stsa.binary.test"), ("sst5", "stsa.fine.test")):
        texts, labels = read_labelled(data_dir / "sst" / f"{file}.txt")
        index = _limit(len(texts), limit, seed)
        kept = [texts[i] for i in index]
        sets.append(EvalSet(name, name, kept, np.asarray(labels)[index],
                            cached_embeddings(file + suffix, kept, CACHE_DIR, model_path)))
    return sets


def synthetic_sets(n: int, seed: int) -> list[EvalSet]:
    """Template sentences with known polarity and random unit vectors: exercises every code path in seconds."""
    rng = np.random.default_rng(seed)
    good = ["a wonderful, excellent result", "I love this great plan", "really good news for everyone"]
    bad = ["a terrible, awful decision", "I hate this insulting mess", "really bad news for everyone"]
    flat = ["the board meets on tuesday", "the report has ten pages", "it was published in march"]
    pools = [(bad, -2.5, 0), (flat, 0.0, 2), (good, 2.5, 4)]
    picks = [pools[i % 3] for i in range(n)]
    texts = [p[0][i % 3] for i, p in enumerate(picks)]
    rating = np.array([p[1] for p in picks]) + rng.normal(0, 0.3, n)
    fine = np.array([p[2] for p in picks])
    vecs = rng.normal(size=(n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    polar = fine != 2
    return [EvalSet("synthetic", "r", texts, rating, vecs),
            EvalSet("synthetic-sst2", "sst2", [t for t, k in zip(texts, polar) if k], (fine[polar] > 2).astype(int),
                    vecs[polar]),
            EvalSet("synthetic-sst5", "sst5", texts, fine, vecs)]


# -- scoring --------------------------------------------------------------------------------------------------
def make_backend(name: str, weights_path: str = ""):
    """A registered backend by name; "minilm_lora.v1@int8" is that backend on the int8 graph ([embed] precision)."""
    from commentminer import registry

    name, _, precision = name.partition("@")
    params = {"weights_path": weights_path} if weights_path else {}
    if name == "minilm_lora.v1":
        params["model_path"] = str(MODEL_PATH)
        params["precision"] = precision or "fp32"
    return registry.create("sentiment", name, **params)


def run_backend(model, es: EvalSet) -> tuple[np.ndarray, list[str], np.ndarray | None, float]:
    """(scores, labels, 5-class predictions or None, seconds). Seconds cover the backend's whole work on the texts
    (for minilm_lora.v1 that includes its own MiniLM pass; minilm_mlp.v1 gets the cached vectors)."""
    start = time.perf_counter()
    if hasattr(model, "score_with_probabilities"):  # runs its own encoder: one pass gives both
        results, probs = model.score_with_probabilities(es.texts)
        fine = probs.argmax(axis=1) if es.kind == "sst5" else None
    elif getattr(model, "needs_embeddings", False):
        results = model.score(es.texts, vectors=es.vectors)
        fine = model.probabilities(es.texts, es.vectors).argmax(axis=1) if es.kind == "sst5" else None
    else:
        results = model.score(es.texts)
        fine = None
    seconds = time.perf_counter() - start
    scores = np.array([r.score for r in results])
    if es.kind == "sst5" and fine is None:  # a score-only backend: cut its score into five bins
        fine = np.digitize(scores, [-0.5, -0.05, 0.05, 0.5], right=False)
        fine = np.where(scores == -0.05, 1, np.where(scores == 0.05, 3, fine))
    return scores, [r.label for r in results], fine, seconds


def metrics(es: EvalSet, scores: np.ndarray, labels: list[str], fine: np.ndarray | None) -> dict[str, float]:
    from sklearn.metrics import f1_score

    if es.kind == "r":
        return {"r": float(np.corrcoef(scores, es.gold)[0, 1])}
    if es.kind == "sst2":
        pred = (scores > 0).astype(int)
        return {"acc": float(np.mean(pred == es.gold)), "macro_f1": float(f1_score(es.gold, pred, average="macro"))}
    gold3 = np.where(es.gold <= 1, 0, np.where(es.gold == 2, 1, 2))
    pred3 = np.array([{"negative": 0, "neutral": 1, "positive": 2}[label] for label in labels])
    return {"acc": float(np.mean(fine == es.gold)), "macro_f1": float(f1_score(es.gold, fine, average="macro")),
            "3class_macro_f1": float(f1_score(gold3, pred3, average="macro"))}


def evaluate(sets: list[EvalSet], backends: list[str], weights: dict[str, str] | None = None
             ) -> tuple[list[dict], dict]:
    rows, ids = [], {}
    for name in backends:
        model = make_backend(name, (weights or {}).get(name.partition("@")[0], ""))
        ids[name] = model.backend_id
        if hasattr(model, "score_with_probabilities"):  # load the model outside the timed runs
            model.score(["warm up"])
        for es in sets:
            scores, labels, fine, seconds = run_backend(model, es)
            for metric, value in metrics(es, scores, labels, fine).items():
                rows.append({"backend": name, "set": es.name, "n": len(es.texts), "note": es.note,
                             "metric": metric, "value": value, "per_s": len(es.texts) / max(seconds, 1e-9)})
            print(f"# {name} {es.name}: n={len(es.texts)} {seconds:.1f} s", file=sys.stderr, flush=True)
    return rows, ids


# -- output ---------------------------------------------------------------------------------------------------
_SET_TITLES = {"tweets": "VADER tweets", "nyt": "VADER NYT editorial snippets", "movie": "VADER movie snippets",
               "amazon": "VADER Amazon review snippets", "sst2": "SST-2 test", "sst5": "SST-5 test"}
_METRIC_TITLES = {"r": "Pearson r with mean human rating", "acc": "accuracy", "macro_f1": "macro-F1",
                  "3class_macro_f1": "3-class macro-F1 (neg / neutral / pos)"}


def markdown_table(rows: list[dict], backends: list[str]) -> str:
    cells: dict[tuple[str, str], dict[str, dict]] = {}
    for row in rows:
        cells.setdefault((row["set"], row["metric"]), {})[row["backend"]] = row
    others = [b for b in backends if b != BASELINE] if BASELINE in backends else []
    head = ("| evaluation set (n) | metric | " + " | ".join(backends) + " |"
            + "".join(f" {b} − VADER |" for b in others))
    lines = [head, "|" + "---|" * (len(backends) + len(others) + 2)]
    for (name, metric), by_backend in cells.items():
        first = next(iter(by_backend.values()))
        title = f"{_SET_TITLES.get(name, name)} ({first['n']:,}" + (f"; {first['note']}" if first["note"] else "") + ")"
        values = [by_backend[b]["value"] if b in by_backend else None for b in backends]
        base = by_backend.get(BASELINE, {}).get("value")
        deltas = [f"{by_backend[b]['value'] - base:+.3f}" if b in by_backend and base is not None else ""
                  for b in others]
        lines.append(f"| {title} | {_METRIC_TITLES[metric]} | "
                     + " | ".join("" if v is None else f"{v:.3f}" for v in values) + " |"
                     + "".join(f" {d} |" for d in deltas))
    # speed: every set once per backend (the metric rows of one set share its timing)
    timing: dict[str, dict[str, tuple[int, float]]] = {}
    for row in rows:
        timing.setdefault(row["backend"], {})[row["set"]] = (row["n"], row["n"] / max(row["per_s"], 1e-9))
    total = {b: (sum(n for n, _ in t.values()), sum(sec for _, sec in t.values())) for b, t in timing.items()}
    if total:
        n_all = max(n for n, _ in total.values())
        lines.append(f"| speed (all sets above, {n_all:,} texts) | sentences/s, this machine | "
                     + " | ".join(f"{total[b][0] / max(total[b][1], 1e-9):,.0f}" if b in total else ""
                                  for b in backends) + " |" + " |" * len(others))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--backends", nargs="+", default=None,
                        help=f"default: {' '.join(BACKENDS)} (--synthetic: minilm_lora.v1 only with the model folder)")
    parser.add_argument("--weights", nargs="*", default=[], metavar="[BACKEND=]PATH",
                        help="a weights file instead of the packaged one; a bare PATH is for minilm_mlp.v1")
    parser.add_argument("--limit", type=int, default=None, help="seeded random subset of N items per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true", help="template sentences + random vectors (smoke run)")
    args = parser.parse_args(argv)
    sets = synthetic_sets(args.limit or 60, args.seed) if args.synthetic else load_sets(args.data, args.limit,
                                                                                         args.seed)
    backends = args.backends or [b for b in BACKENDS if not (args.synthetic and b == "minilm_lora.v1"
                                                              and not (MODEL_PATH / "model.safetensors").is_file())]
    weights = dict(item.split("=", 1) if "=" in item else ("minilm_mlp.v1", item) for item in args.weights)
    rows, ids = evaluate(sets, backends, weights)
    print(markdown_table(rows, backends))
    print()
    print("Backends: " + ", ".join(f"{name} = `{bid}`" for name, bid in ids.items()))
    movie = next((s for s in sets if s.name == "movie" and hasattr(s, "full_texts")), None)
    if movie is not None and BASELINE in backends and not args.limit:
        vader = make_backend(BASELINE)
        full = np.array([r.score for r in vader.score(movie.full_texts)])
        print(f"VADER on all {len(full):,} movie snippets (as in the paper, 0.451): "
              f"r = {np.corrcoef(full, movie.full_gold)[0, 1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
