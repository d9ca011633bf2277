"""VADER lexicon sentiment (the vaderSentiment package): fast, rule-based, a transparent baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import SentimentScore, label_for


class VaderSentiment:
    """Compound score in [-1, 1]; confidence = |compound| for polar labels, 1 - |compound|/t for neutral."""

    def __init__(self, neutral_threshold: float = 0.05):
        self.neutral_threshold = neutral_threshold
        self.backend_id = "vader.v1"
        self._analyzer: Any = None

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        results = []
        for text in texts:
            compound = float(self._analyzer.polarity_scores(text)["compound"])
            label = label_for(compound, self.neutral_threshold)
            if label == "neutral":
                confidence = 1.0 - abs(compound) / self.neutral_threshold if self.neutral_threshold else 1.0
            else:
                confidence = abs(compound)
            results.append(SentimentScore(label=label, score=compound, confidence=round(confidence, 4)))
        return results
