"""Readers for the labelled sentiment sets (training and evaluation), used by scripts/train_sentiment.py and
benchmarks/sentiment.py. Not used at analysis time.

- SST (`stsa.{binary,fine}.{train,dev,test}.txt`, `mpqa.all.txt`, `custrev.all.txt`): `<label> <sentence>`,
  lower-cased and PTB-tokenised. `detokenise` turns them back into ordinary text ("wo n't" -> "won't",
  "-lrb-" -> "("), because the backend scores ordinary sentences.
- VADER ground truth (`*_GroundTruth.txt`): `id TAB mean_rating TAB text`, CRLF, mean of human ratings on -4..+4.

`overlap_key` normalises a sentence (lower case, letters and digits only) so that the same sentence in two sets
is found: SST and the VADER movie snippets both come from the Rotten Tomatoes snippets of Pang & Lee, and
custrev and the VADER Amazon snippets both from Hu & Liu 2004.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

VADER_SETS = {
    "tweets": "tweets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
}

_DETOK = [
    (re.compile(r"-lrb-"), "("), (re.compile(r"-rrb-"), ")"), (re.compile(r"-lsb-"), "["), (re.compile(r"-rsb-"), "]"),
    (re.compile(r"-lcb-"), "{"), (re.compile(r"-rcb-"), "}"),
    (re.compile(r"``\s*"), '"'), (re.compile(r"\s*''"), '"'),
    (re.compile(r"\b(ca|wo|do|does|did|is|are|was|were|have|has|had|could|should|would|ai|need|must) n't\b"), r"\1n't"),
    (re.compile(r" (n't|'s|'re|'ve|'m|'ll|'d)\b"), r"\1"),
    (re.compile(r"\( "), "("), (re.compile(r" \)"), ")"),
    (re.compile(r" ([,.;:!?%])"), r"\1"),
    (re.compile(r"\$ (\d)"), r"$\1"),
    (re.compile(r"\s+"), " "),
]


def detokenise(text: str) -> str:
    """Undo PTB tokenisation well enough for an embedding model ("it 's a movie , is n't it ?" -> "it's a movie,
    isn't it?"). Lower case stays (the embedding model is uncased)."""
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text.strip()


def overlap_key(text: str) -> str:
    """Lower-cased letters and digits only: equal keys = the same sentence, whatever the tokenisation."""
    text = text.lower().replace("-lrb-", " ").replace("-rrb-", " ")
    return re.sub(r"[^a-z0-9]+", "", text)


def read_labelled(path: Path) -> tuple[list[str], list[int]]:
    """(texts, integer labels) from an SST-style `<label> <sentence>` file; texts are detokenised."""
    texts, labels = [], []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        label, _, text = line.partition(" ")
        texts.append(detokenise(text))
        labels.append(int(label))
    return texts, labels


def read_vader(path: Path) -> tuple[list[str], list[str], list[float]]:
    """(ids, texts, mean human ratings on -4..+4) from a VADER `*_GroundTruth.txt` file."""
    ids, texts, means = [], [], []
    for line in Path(path).read_text(encoding="utf-8-sig", errors="replace").splitlines():
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        ids.append(parts[0].strip())
        means.append(float(parts[1]))
        texts.append("\t".join(parts[2:]).strip())
    return ids, texts, means


def cached_embeddings(name: str, texts: list[str], cache_dir: Path, model_path: Path) -> "np.ndarray":
    """MiniLM vectors of `texts` (the pipeline's embedder), computed once and kept in
    `cache_dir/sentiment-<name>-<hash>.npy` (the hash covers the texts and the model folder name)."""
    import hashlib
    import sys
    import time

    import numpy as np

    key = hashlib.sha256(("\n".join(texts) + f"|{Path(model_path).name}").encode("utf-8")).hexdigest()[:12]
    path = Path(cache_dir) / f"sentiment-{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    from ..embed.st_embedder import SentenceTransformerEmbedder

    start = time.perf_counter()
    vectors = SentenceTransformerEmbedder(model_path=str(model_path)).embed(texts)
    print(f"# embedded {name}: {len(texts)} texts in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors
