"""Embedder protocol: texts in, L2-normalised float32 vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    model_id: str   # part of the embedding cache key: changing the model never reuses old vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32 array, each row L2-normalised."""
        ...
