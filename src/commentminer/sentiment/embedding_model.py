"""Model-based sentiment on the sentence embeddings the embed stage already stored.

A small classifier (a numpy MLP; weights in `data/minilm_sentiment.npz`, trained by scripts/train_sentiment.py,
recipe and data licence in `data/minilm_sentiment.json`) reads each unit's MiniLM vector, plus four VADER lexicon
features of its text when the weights ask for them, and gives probabilities over SST-5's five classes (very
negative ... very positive). From them:

- score = expected value of the class on the scale (-1, -0.5, 0, 0.5, 1), so in [-1, 1];
- label = negative / neutral / positive by the neutral band learnt in training (|score| < band is neutral), so a
  unit's label and a comment's label (from the mean of its unit scores) follow the same rule;
- confidence = the probability of the chosen label (classes 0+1, 2, or 3+4 summed), in [0, 1].

The backend never embeds: it declares `needs_embeddings = True` and the sentiment stage hands it the stored
vectors. Its backend_id carries a hash of the weights file, so new weights re-score every unit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError
from .base import SentimentScore, label_for, weights_backend_id

NAME = "minilm_mlp.v1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "minilm_sentiment.npz"
LABEL_GROUPS = {"negative": (0, 1), "neutral": (2,), "positive": (3, 4)}


def vader_features(texts: Sequence[str], analyzer: Any = None) -> np.ndarray:
    """(n, 4) float32: VADER compound, pos, neg, neu for each text."""
    if analyzer is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
    out = np.empty((len(texts), 4), dtype=np.float32)
    for i, text in enumerate(texts):
        s = analyzer.polarity_scores(text)
        out[i] = (s["compound"], s["pos"], s["neg"], s["neu"])
    return out


def mlp_forward(layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Class probabilities of a ReLU MLP with a softmax output."""
    h = x.astype(np.float32)
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            np.maximum(h, 0, out=h)
    h = h - h.max(axis=1, keepdims=True)
    e = np.exp(h)
    return e / e.sum(axis=1, keepdims=True)


class EmbeddingSentiment:
    """MLP over stored sentence vectors (+ VADER features); see the module docstring.

    `neutral_threshold` from the config is not used: the band comes with the weights (it was tuned with them);
    `weights_path` "" means the packaged weights.
    """

    needs_embeddings = True

    def __init__(self, neutral_threshold: float = 0.05, weights_path: str = ""):
        self.weights_path = Path(weights_path) if weights_path else DEFAULT_WEIGHTS
        self._layers: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._meta: dict[str, Any] = {}
        self._analyzer: Any = None
        self._backend_id: str | None = None

    @property
    def backend_id(self) -> str:
        if self._backend_id is None:
            self._backend_id = weights_backend_id(NAME, self.weights_path, "scripts/train_sentiment.py")
        return self._backend_id

    def _load(self) -> None:
        if self._layers is not None:
            return
        self.backend_id  # noqa: B018  (checks the file exists)
        with np.load(self.weights_path, allow_pickle=False) as data:
            self._meta = json.loads(str(data["meta"]))
            self._layers = [(data[f"w{i}"].astype(np.float32), data[f"b{i}"].astype(np.float32))
                            for i in range(int(self._meta["n_layers"]))]
            self._mean = data["feature_mean"].astype(np.float32)
            self._scale = data["feature_scale"].astype(np.float32)

    @property
    def meta(self) -> dict[str, Any]:
        """The weights' metadata: embedding model, dimension, features, class values, neutral band, recipe."""
        self._load()
        return self._meta

    @property
    def embedding_dim(self) -> int:
        return int(self.meta["embedding_dim"])

    @property
    def neutral_threshold(self) -> float:
        """|score| below this is neutral (learnt in training, stored with the weights)."""
        return float(self.meta["neutral_band"])

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(n, 5) probabilities over SST-5's classes."""
        self._load()
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise BackendError(f"{NAME}: expected one vector per text, got {vectors.shape} for {len(texts)} texts")
        if vectors.shape[1] != self.embedding_dim:
            raise BackendError(f"{NAME}: the weights expect {self.embedding_dim}-d vectors from "
                               f"{self._meta['embedding_model']}, got {vectors.shape[1]}-d; set [embed] back to that model")
        parts = [vectors]
        if "vader" in self._meta["features"]:
            if self._analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                self._analyzer = SentimentIntensityAnalyzer()
            parts.append(vader_features(texts, self._analyzer))
        x = (np.hstack(parts) - self._mean) / self._scale
        assert self._layers is not None
        return mlp_forward(self._layers, x)

    def score(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> list[SentimentScore]:
        if vectors is None:
            raise BackendError(f"{NAME} scores stored sentence embeddings: pass `vectors` (the sentiment stage "
                               "reads them from the embeddings table)")
        if not len(texts):
            return []
        probs = self.probabilities(texts, vectors)
        values = np.asarray(self._meta["class_values"], dtype=np.float64)
        scores = np.clip(probs @ values, -1.0, 1.0)
        band = self.neutral_threshold
        results = []
        for p, s in zip(probs, scores):
            label = label_for(float(s), band) if band > 0 else ("positive" if s > 0 else "negative")
            confidence = float(sum(p[i] for i in LABEL_GROUPS[label]))
            results.append(SentimentScore(label=label, score=round(float(s), 6), confidence=round(confidence, 4)))
        return results
