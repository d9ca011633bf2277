"""Sentiment protocol: texts in, (label, score in [-1, 1], confidence in [0, 1]) out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class SentimentScore:
    label: str         # "negative" | "neutral" | "positive"
    score: float       # [-1, 1]
    confidence: float  # [0, 1]


def weights_backend_id(name: str, weights_path: Path, script: str) -> str:
    """`name+<12 hex of the weights' SHA-256>`, so new weights re-score; a clear error when the file is missing."""
    from ..errors import BackendError
    from ..ids import sha256_file

    if not Path(weights_path).is_file():
        raise BackendError(f"{weights_path}: sentiment weights not found; run `.venv/bin/python {script}`")
    return f"{name}+{sha256_file(weights_path)[:12]}"


def label_for(score: float, neutral_threshold: float) -> str:
    """VADER's convention: compound >= +t positive, <= -t negative, else neutral."""
    if score >= neutral_threshold:
        return "positive"
    if score <= -neutral_threshold:
        return "negative"
    return "neutral"


class SentimentModel(Protocol):
    backend_id: str

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        ...
