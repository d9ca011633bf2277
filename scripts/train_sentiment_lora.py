"""Train the minilm_lora.v1 sentiment backend: LoRA adapters on the top layers of all-MiniLM-L6-v2 + a linear head.

Training data (never evaluation data), as for minilm_mlp.v1 (see scripts/train_sentiment.py):
  - SST-5 train (../shared/data/sst/stsa.fine.train.txt, 5 classes: NLL of the class);
  - MPQA opinion polarity (mpqa.all.txt) and customer reviews (custrev.all.txt), binary: -log P(their side), i.e.
    of classes 0+1 or 3+4;
  - minus every sentence that also occurs (letters and digits compared) in SST-2/SST-5 dev or test or in the VADER
    tweets, NYT or Amazon sets. The VADER movie set is scored by the benchmark only on snippets not in these files.
  - a seeded 1,000 MPQA sentences are held out of training (model selection only, see below).
Model selection (training side only, never the evaluation sets): the epoch with the best SST-2 dev accuracy
(stsa.binary.dev); the VADER blend weight w = argmax over 0, 0.05, ..., 0.8 of the mean Pearson r of the blended
score with the gold on SST-5 dev (class -1..1) and on the held-out MPQA sentences (0/1) -- MPQA is news text, the
genre closest to comments that we may train on; the neutral band = argmax 3-class macro-F1 on SST-5 dev.

How: the bottom layers stay frozen, so their token states are computed once (no dropout) and kept in memory; each
step runs only the top `--layers` transformer layers (with rank-`--rank` adapters on their query, key, value,
attention-output, intermediate and output linears) + mean pooling + the head, forward and backward. Batches are
formed from texts of similar length (seeded shuffle). Seeded (numpy and torch generators, fixed thread count):
a re-run reproduced the shipped npz byte for byte (same SHA-256). About 4 minutes on 2 idle cores (65 s caching
the bottom layers' states of 20,591 sentences, 83 s per epoch at about 250 sentences/s, then the selection);
the shipped run took 46 minutes because three other jobs shared the cores (its recipe records that time).

Writes src/commentminer/sentiment/data/minilm_lora_sentiment.npz (adapters and head in float16, metadata; no
pickle) and minilm_lora_sentiment.json (recipe: files, rows, hyperparameters, dev metrics, licences, sha256s).

    .venv/bin/python scripts/train_sentiment_lora.py
    .venv/bin/python scripts/train_sentiment_lora.py --epochs 1 --limit 2000 --out /tmp/w.npz   # a quick try
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_sentiment import LICENCES, choose_band, evaluation_keys, mixed_loss, write_npz  # noqa: E402

from commentminer.sentiment.datasets import overlap_key, read_labelled  # noqa: E402
from commentminer.sentiment.lora_model import (  # noqa: E402
    DEFAULT_WEIGHTS, NAME, TARGETS, LoraSentiment, add_lora, load_base, mean_pool, reference_probabilities,
    sha256_file,
)

DATA_DIR = ROOT.parent / "shared" / "data"
MODEL_PATH = ROOT / "models" / "all-MiniLM-L6-v2"
CLASS_VALUES = [-1.0, -0.5, 0.0, 0.5, 1.0]
HELDOUT_MPQA = 1000


def load_training(data_dir: Path, seed: int, limit: int | None):
    """(texts, y5, ybin, heldout MPQA (texts, labels), recipe rows): y5 = 0..4 or -1; ybin = 0/1 or -1."""
    banned = evaluation_keys(data_dir)
    texts, y5, ybin, files = [], [], [], []
    heldout: tuple[list[str], list[int]] = ([], [])
    rng = np.random.default_rng(seed)
    for name in ["stsa.fine.train", "mpqa.all", "custrev.all"]:
        rows, labels = read_labelled(data_dir / "sst" / f"{name}.txt")
        keep = [i for i, t in enumerate(rows) if overlap_key(t) not in banned]
        held = set()
        if name == "mpqa.all":
            held = set(rng.choice(keep, size=HELDOUT_MPQA, replace=False).tolist())
            heldout = ([rows[i] for i in sorted(held)], [labels[i] for i in sorted(held)])
        used = [i for i in keep if i not in held]
        if limit:
            used = sorted(rng.choice(used, size=min(limit, len(used)), replace=False).tolist())
        texts += [rows[i] for i in used]
        if name == "stsa.fine.train":
            y5 += [labels[i] for i in used]; ybin += [-1] * len(used)
        else:
            y5 += [-1] * len(used); ybin += [labels[i] for i in used]
        files.append({"file": f"sst/{name}.txt", "rows": len(rows), "used": len(used),
                      "dropped_as_in_evaluation_sets": len(rows) - len(keep),
                      "held_out_for_model_selection": len(held),
                      "labels": "5 classes" if name == "stsa.fine.train" else "binary", "licence": LICENCES[name]})
    return texts, np.asarray(y5), np.asarray(ybin), heldout, files


class Encoder:
    """Frozen bottom layers (token states cached) + trainable top layers with adapters + head."""

    def __init__(self, model_path: Path, top: int, rank: int, alpha: float, dropout: float, seed: int):
        import torch

        self.tokenizer, self.model = load_base(model_path)
        n = len(self.model.encoder.layer)
        self.split = n - top
        self.layers = list(range(self.split, n))
        self.adapters = add_lora(self.model, self.layers, rank, alpha, seed)
        torch.manual_seed(seed)
        self.head = torch.nn.Linear(self.model.config.hidden_size, 5)
        self.dropout = torch.nn.Dropout(dropout)
        self.rank, self.alpha = rank, alpha

    def parameters(self):
        return [p for m in self.adapters.values() for p in (m.A, m.B)] + list(self.head.parameters())

    def bottom_states(self, texts: list[str], batch: int = 128) -> list[np.ndarray]:
        """Token states after the frozen layers, one (tokens, 384) float16 array per text."""
        import torch

        enc = self.tokenizer(texts, truncation=True, max_length=128)["input_ids"]
        order = np.argsort([len(x) for x in enc], kind="stable")
        out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
        self.model.eval()
        with torch.inference_mode():
            for start in range(0, len(order), batch):
                idx = order[start:start + batch]
                b = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=128,
                                   return_tensors="pt")
                h = self.model(**b, output_hidden_states=True).hidden_states[self.split]
                for j, i in enumerate(idx):
                    out[i] = h[j, : int(b["attention_mask"][j].sum())].to(torch.float16).numpy()
        return out

    def top(self, states: list[np.ndarray], train: bool):
        """Logits (n, 5) from cached bottom states, through the adapted top layers and the head."""
        import torch
        from transformers.masking_utils import create_bidirectional_mask

        width = max(len(s) for s in states)
        h = torch.zeros(len(states), width, states[0].shape[1])
        mask = torch.zeros(len(states), width, dtype=torch.long)
        for j, s in enumerate(states):
            h[j, : len(s)] = torch.from_numpy(s.astype(np.float32))
            mask[j, : len(s)] = 1
        attn = create_bidirectional_mask(config=self.model.config, inputs_embeds=h, attention_mask=mask)
        for i in self.layers:
            layer = self.model.encoder.layer[i]
            layer.train(train)
            out = layer(h, attention_mask=attn)
            h = out[0] if isinstance(out, tuple) else out
        pooled = mean_pool(h, mask)
        return self.head(self.dropout(pooled) if train else pooled)

    def probabilities(self, states: list[np.ndarray], batch: int = 128) -> np.ndarray:
        import torch

        order = np.argsort([len(s) for s in states], kind="stable")
        out = np.zeros((len(states), 5))
        with torch.inference_mode():
            for start in range(0, len(order), batch):
                idx = order[start:start + batch]
                out[idx] = torch.softmax(self.top([states[i] for i in idx], train=False), 1).double().numpy()
        return out


def length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar length: sort by length + noise, chunk, shuffle the chunks (all seeded)."""
    order = np.argsort(lengths + rng.uniform(0, 4, len(lengths)), kind="stable")
    chunks = [order[i:i + batch] for i in range(0, len(order), batch)]
    return [chunks[i] for i in rng.permutation(len(chunks))]


def train(enc: Encoder, states: list[np.ndarray], y5: np.ndarray, ybin: np.ndarray, dev: tuple, args) -> dict:
    import torch

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    params = enc.parameters()
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    lengths = np.array([len(s) for s in states])
    steps = args.epochs * int(np.ceil(len(states) / args.batch))
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / warmup) * max(0.0, (steps - k) / max(1, steps - warmup)))
    Y5 = torch.from_numpy(y5.astype(np.int64))
    YB = torch.from_numpy(ybin.astype(np.int64))
    dev_states, dev_y = dev
    best: dict = {"acc": -1.0}
    history = []
    for epoch in range(args.epochs):
        start, seen = time.perf_counter(), 0
        for k, idx in enumerate(length_batches(lengths, args.batch, rng)):
            logp = torch.log_softmax(enc.top([states[i] for i in idx], train=True), dim=1)
            t = torch.from_numpy(idx)
            loss = mixed_loss(logp, Y5[t], YB[t], args.binary_weight)
            opt.zero_grad()
            (loss / len(idx)).backward()
            opt.step()
            sched.step()
            seen += len(idx)
            if k % 100 == 0:
                print(f"# epoch {epoch + 1} step {k}: {seen / (time.perf_counter() - start):.0f} sentences/s, "
                      f"loss {float(loss.detach()) / len(idx):.3f}", file=sys.stderr, flush=True)
        probs = enc.probabilities(dev_states)
        acc = float(np.mean(((probs @ np.asarray(CLASS_VALUES)) > 0) == (np.asarray(dev_y) == 1)))
        history.append({"epoch": epoch + 1, "sst2_dev_accuracy": round(acc, 4),
                        "seconds": round(time.perf_counter() - start, 1)})
        print(f"# epoch {epoch + 1}: SST-2 dev accuracy {acc:.4f} ({history[-1]['seconds']} s)", file=sys.stderr,
              flush=True)
        if acc > best["acc"]:
            best = {"acc": acc, "epoch": epoch + 1,
                    "adapters": {n: (m.A.detach().numpy().copy(), m.B.detach().numpy().copy())
                                 for n, m in enc.adapters.items()},
                    "head": (enc.head.weight.detach().numpy().copy(), enc.head.bias.detach().numpy().copy())}
    best["history"] = history
    return best


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--model-path", type=Path, default=MODEL_PATH)
    parser.add_argument("--layers", type=int, default=3, help="top transformer layers that get adapters")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--binary-weight", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="at most N training sentences per file (quick tries)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    texts, y5, ybin, (held_texts, held_y), files = load_training(args.data, args.seed, args.limit)
    fine_texts, fine_y = read_labelled(args.data / "sst" / "stsa.fine.dev.txt")
    bin_texts, bin_y = read_labelled(args.data / "sst" / "stsa.binary.dev.txt")
    enc = Encoder(args.model_path, args.layers, args.rank, args.alpha, args.dropout, args.seed)
    states = enc.bottom_states(texts)
    dev_states = enc.bottom_states(bin_texts)
    print(f"# cached bottom-layer states of {len(texts)} training sentences in {time.perf_counter() - start:.0f} s",
          file=sys.stderr, flush=True)
    best = train(enc, states, y5, ybin, (dev_states, bin_y), args)
    train_seconds = time.perf_counter() - start

    names = sorted(best["adapters"])
    meta = {"backend": NAME, "base_model": args.model_path.name,
            "base_model_sha256": sha256_file(args.model_path / "model.safetensors"),
            "adapters": names, "lora_rank": args.rank, "lora_alpha": args.alpha, "targets": list(TARGETS),
            "layers": enc.layers, "pooling": "mean over tokens", "class_values": CLASS_VALUES,
            "classes": ["very negative", "negative", "neutral", "positive", "very positive"],
            "vader_weight": 0.0, "neutral_band": 0.0}
    arrays = {"head.w": best["head"][0].astype(np.float16), "head.b": best["head"][1].astype(np.float16)}
    for n in names:
        arrays[f"lora.{n}.A"] = best["adapters"][n][0].astype(np.float16)
        arrays[f"lora.{n}.B"] = best["adapters"][n][1].astype(np.float16)

    def save(meta: dict) -> None:
        write_npz(args.out, {"meta": np.array(json.dumps(meta, sort_keys=True)), **arrays})
        args.out.with_suffix(".json").write_text(json.dumps({"weights_sha256": sha256_file(args.out)}) + "\n",
                                                 encoding="utf-8")

    # Blend weight and neutral band from the merged float16 weights the pipeline runs (computed by torch: the
    # pipeline's ONNX graph for new weights is exported afterwards, by scripts/export_onnx.py, and equals it).
    save(meta)
    model = LoraSentiment(weights_path=str(args.out), model_path=str(args.model_path), threads=args.threads)
    fine_p = reference_probabilities(args.out, args.model_path, fine_texts, args.threads)
    held_p = reference_probabilities(args.out, args.model_path, held_texts, args.threads)
    bin_p = reference_probabilities(args.out, args.model_path, bin_texts, args.threads)
    values = np.asarray(CLASS_VALUES)
    fine_gold = values[np.asarray(fine_y)]
    fine_v, held_v = model._vader(fine_texts), model._vader(held_texts)
    grid = []
    for w in np.round(np.arange(0.0, 0.81, 0.05), 2):
        r_fine = pearson((1 - w) * fine_p @ values + w * fine_v, fine_gold)
        r_held = pearson((1 - w) * held_p @ values + w * held_v, np.asarray(held_y, dtype=float))
        grid.append({"w": float(w), "sst5_dev_r": round(r_fine, 4), "mpqa_heldout_r": round(r_held, 4),
                     "mean": round((r_fine + r_held) / 2, 4)})
    choice = max(grid, key=lambda g: (g["mean"], -g["w"]))
    w = choice["w"]
    fine_s = np.clip((1 - w) * fine_p @ values + w * fine_v, -1, 1)
    band, f1 = choose_band(fine_s, np.asarray(fine_y))
    bin_s = (1 - w) * bin_p @ values + w * model._vader(bin_texts)
    meta.update(vader_weight=w, neutral_band=band)
    save(meta)
    dev = {"sst2_dev_accuracy_model": round(float(np.mean(((bin_p @ values) > 0) == (np.asarray(bin_y) == 1))), 4),
           "sst2_dev_accuracy_blend": round(float(np.mean((bin_s > 0) == (np.asarray(bin_y) == 1))), 4),
           "sst5_dev_accuracy": round(float(np.mean(fine_p.argmax(1) == np.asarray(fine_y))), 4),
           "sst5_dev_3class_macro_f1": round(f1, 4), "blend_selection": choice}
    digest = sha256_file(args.out)
    recipe = {
        "weights": args.out.name, "weights_sha256": digest, "backend_id": f"{NAME}+{digest[:12]}",
        "size_bytes": args.out.stat().st_size,
        "command": "python scripts/train_sentiment_lora.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "base_model": args.model_path.name, "base_model_sha256": meta["base_model_sha256"],
        "base_model_licence": "sentence-transformers/all-MiniLM-L6-v2, Apache-2.0",
        "training_data": files, "rows_total": len(texts),
        "excluded": "every training sentence also found in SST-2/SST-5 dev or test or in the VADER tweets, NYT or "
                    "Amazon sets; the VADER movie set is evaluated only on snippets not in the training files",
        "evaluation_data_not_used_for_training_or_selection": [
            "sst/stsa.binary.test.txt", "sst/stsa.fine.test.txt", "vader_groundtruth/*_GroundTruth.txt"],
        "model_selection": {
            "epoch": "best SST-2 dev accuracy (sst/stsa.binary.dev.txt)",
            "vader_weight": "argmax of mean Pearson r on SST-5 dev and the held-out MPQA sentences",
            "neutral_band": "argmax 3-class macro-F1 on SST-5 dev (sst/stsa.fine.dev.txt)"},
        "hyperparameters": {"layers_adapted": enc.layers, "targets": list(TARGETS), "rank": args.rank,
                            "alpha": args.alpha, "epochs": args.epochs, "chosen_epoch": best["epoch"],
                            "batch": args.batch, "lr": args.lr, "schedule": "linear warm-up 5% then linear decay",
                            "weight_decay": args.weight_decay, "head_dropout": args.dropout,
                            "binary_weight": args.binary_weight, "seed": args.seed, "threads": args.threads,
                            "optimizer": "AdamW", "limit": args.limit, "stored_as": "float16",
                            "loss": "5-class NLL (SST-5 rows) + binary_weight * -log P(side) (MPQA/custrev rows)"},
        "score": "(1 - vader_weight) * expected class value over (-1, -0.5, 0, 0.5, 1) + vader_weight * VADER "
                 "compound; label by neutral band; confidence = model P(label)",
        "vader_weight": w, "neutral_band": band, "dev_metrics": dev, "epochs": best["history"],
        "blend_grid": grid,
        "licence_note": "The adapters are derived from all-MiniLM-L6-v2 (Apache-2.0) and the training sets above; "
                        "those are research data sets (SST has no explicit licence). commentminer is Apache-2.0.",
        "train_seconds": round(train_seconds, 1), "seconds": round(time.perf_counter() - start, 1),
    }
    args.out.with_suffix(".json").write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"out": str(args.out), "size_bytes": args.out.stat().st_size, "vader_weight": w,
                      "neutral_band": band, **{k: v for k, v in dev.items() if k != "blend_selection"},
                      "seconds": recipe["seconds"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
