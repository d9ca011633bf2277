"""Sentiment protocol: texts in, (label, score in [-1, 1], confidence in [0, 1]) out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SentimentScore:
    label: str         # "negative" | "neutral" | "positive"
    score: float       # [-1, 1]
    confidence: float  # [0, 1]


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
