"""Embedding speed and fidelity (issue 11): every MiniLM path against the CPU's own matmul ceiling, in one run.

Paths, each on the same sentences (real SFU C3 news-comment sentences, split by spaCy's rule-based sentencizer):
  - sentence-transformers   `SentenceTransformer.encode(batch_size=64)`, what a user would write (the baseline);
  - onnx fp32 / int8         commentminer's `onnx.v1` embedder (the embed graph);
  - onnx joint fp32 / int8   the graph the default run uses: sentence vector + minilm_lora.v1 sentiment logits
                             from one pass (shared layers 0-2); its sentences/s count both outputs.
The ceiling is measured in the same run: torch fp32 matmuls of the model's own shapes (Q, K, V, attention
output, the two feed-forward matrices over the same tokens), as GFLOP/s, divided by MiniLM-L6's FLOPs per token
(2 x 1.77 M multiply-adds per layer x 6 layers + attention scores) times the sentences' mean token count.
Fidelity: cosine of each path's vectors to sentence-transformers' (mean, min) and top-10 neighbour overlap.

Rounds alternate the paths (A B C ... A B C ...) and the table gives each path's median. Run it on an idle machine.

    .venv/bin/python benchmarks/embed.py                 # 5,000 sentences, 3 rounds
    .venv/bin/python benchmarks/embed.py --limit 1000 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MODEL_PATH = ROOT / "models" / "all-MiniLM-L6-v2"
C3 = ROOT.parent / "shared" / "data" / "sfu_news_comments" / "C3_anonymized.csv"
HIDDEN, FFN, LAYERS, HEADS = 384, 1536, 6, 12
PATHS = ("sentence-transformers", "onnx fp32", "onnx int8", "onnx joint fp32", "onnx joint int8")
BASELINE = "sentence-transformers"


def flops_per_token(mean_tokens: float) -> float:
    """Multiply-adds x 2 per token: the six dense matrices of a layer, plus attention scores and mixing."""
    dense = 4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN
    attention = 2 * mean_tokens * HIDDEN
    return 2.0 * LAYERS * (dense + attention)


def load_sentences(path: Path, limit: int, seed: int = 0) -> list[str]:
    """`limit` sentences (12+ characters) of the C3 comments, seeded sample, split by spaCy's sentencizer."""
    import pandas as pd
    import spacy

    comments = pd.read_csv(path, usecols=["comment_text"])["comment_text"].dropna().astype(str).tolist()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    sentences = [s.text.strip() for doc in nlp.pipe(comments, batch_size=256) for s in doc.sents
                 if len(s.text.strip()) >= 12]
    keep = np.random.default_rng(seed).choice(len(sentences), size=min(limit, len(sentences)), replace=False)
    return [sentences[i] for i in np.sort(keep)]


def matmul_ceiling(tokens: int, repeats: int = 5) -> float:
    """GFLOP/s of torch fp32 matmuls shaped like one MiniLM layer over `tokens` tokens (best of `repeats`)."""
    import torch

    torch.manual_seed(0)
    x = torch.randn(tokens, HIDDEN)
    h = torch.randn(tokens, FFN)
    square = [torch.randn(HIDDEN, HIDDEN) for _ in range(4)]
    up, down = torch.randn(HIDDEN, FFN), torch.randn(FFN, HIDDEN)
    flops = 2.0 * tokens * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats + 1):
            start = time.perf_counter()
            for w in square:
                x @ w
            x @ up
            h @ down
            best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def embedders(batch_size: int) -> dict:
    """Path name -> callable(texts) -> (n, 384) vectors (joint paths compute the sentiment logits too)."""
    from sentence_transformers import SentenceTransformer

    from commentminer.encoder.runtime import OnnxEncoder
    from commentminer.ids import sha256_file
    from commentminer.sentiment.lora_model import DEFAULT_WEIGHTS

    st = SentenceTransformer(str(MODEL_PATH), device="cpu")
    branch = sha256_file(DEFAULT_WEIGHTS)
    graphs = {
        "onnx fp32": OnnxEncoder(MODEL_PATH, "embed", "fp32", batch_size),
        "onnx int8": OnnxEncoder(MODEL_PATH, "embed", "int8", batch_size),
        "onnx joint fp32": OnnxEncoder(MODEL_PATH, "joint", "fp32", batch_size, branch_sha256=branch),
        "onnx joint int8": OnnxEncoder(MODEL_PATH, "joint", "int8", batch_size, branch_sha256=branch),
    }
    paths = {BASELINE: lambda texts: st.encode(texts, batch_size=64, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False)}
    for name, encoder in graphs.items():
        paths[name] = lambda texts, encoder=encoder: encoder.encode(texts)["embedding"]
    return paths


def top_k_overlap(a: np.ndarray, b: np.ndarray, k: int = 10, sample: int = 1000) -> float:
    """Mean share of each sampled row's k nearest neighbours (cosine) that two vector sets agree on."""
    rows = np.arange(min(sample, len(a)))
    def neighbours(v):
        sims = v[rows] @ v.T
        sims[np.arange(len(rows)), rows] = -np.inf
        return np.argsort(-sims, axis=1)[:, :k]
    na, nb = neighbours(a), neighbours(b)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb)]))


def measure(texts: list[str], rounds: int, batch_size: int) -> tuple[dict, dict, float, float]:
    """(seconds per path over rounds, vectors per path, ceiling GFLOP/s median, mean tokens)."""
    from commentminer.encoder.runtime import OnnxEncoder

    paths = embedders(batch_size)
    tokens = [len(ids) for ids in OnnxEncoder(MODEL_PATH).token_ids(texts)]
    mean_tokens = float(np.mean(tokens))
    for fn in paths.values():  # load and warm every path outside the timings
        fn(texts[:64])
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    vectors: dict[str, np.ndarray] = {}
    ceilings = []
    for round_ in range(rounds):
        ceilings.append(matmul_ceiling(int(sum(tokens[:batch_size * 4]) // 4) or 1))
        for name, fn in paths.items():
            start = time.perf_counter()
            vectors[name] = fn(texts)
            seconds[name].append(time.perf_counter() - start)
            print(f"# round {round_ + 1}: {name} {len(texts) / seconds[name][-1]:.0f} sentences/s",
                  file=sys.stderr, flush=True)
    return seconds, vectors, statistics.median(ceilings), mean_tokens


def table(texts: list[str], seconds: dict, vectors: dict, gflops: float, mean_tokens: float) -> str:
    ceiling = gflops * 1e9 / (flops_per_token(mean_tokens) * mean_tokens)
    base = vectors[BASELINE]
    base_rate = len(texts) / statistics.median(seconds[BASELINE])
    lines = [f"{len(texts):,} sentences, {mean_tokens:.1f} tokens on average; matmul ceiling {gflops:.0f} GFLOP/s "
             f"(torch fp32, {os.cpu_count()} cores) = {ceiling:,.0f} sentences/s for one pass", "",
             "| path | sentences/s (median) | % of ceiling | vs sentence-transformers | cosine to ST mean / min "
             "| top-10 overlap |", "|---|---|---|---|---|---|"]
    for name, runs in seconds.items():
        rate = len(texts) / statistics.median(runs)
        cos = np.sum(vectors[name] * base, axis=1)
        overlap = top_k_overlap(vectors[name], base) if name != BASELINE else 1.0
        lines.append(f"| {name} | {rate:,.0f} | {100 * rate / ceiling:.0f}% | {rate / base_rate:.2f}x | "
                     f"{cos.mean():.5f} / {cos.min():.5f} | {overlap:.2f} |")
    lines.append("")
    lines.append("Joint paths also compute the minilm_lora.v1 sentiment logits (1.5 passes of work); their % of "
                 "ceiling is against one pass.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=5000, help="sentences to embed (default 5,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    if not C3.is_file():
        print(f"skipped: needs {C3} (../shared/data, only in the dev workspace)")
        return 0
    if not (MODEL_PATH / "onnx" / "manifest.json").is_file():
        print(f"skipped: needs the model and its ONNX graphs in {MODEL_PATH} (make model)")
        return 0
    texts = load_sentences(C3, args.limit)
    seconds, vectors, gflops, mean_tokens = measure(texts, args.rounds, args.batch_size)
    print(table(texts, seconds, vectors, gflops, mean_tokens))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
