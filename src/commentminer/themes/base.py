"""Theme-model protocol: unit texts + their embeddings in, a theme per unit and theme descriptions out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

OUTLIER_THEME = -1


@dataclass
class ThemeInfo:
    theme_id: int              # 0..k-1; OUTLIER_THEME (-1) for "other"
    label: str                 # short human-readable phrase (1-4 words)
    keywords: list[str]        # top keywords / phrases, best first


@dataclass
class ThemeFit:
    assignments: np.ndarray    # (n,) int theme id per input text
    probabilities: np.ndarray  # (n,) float in [0, 1]: how strongly each unit belongs to its theme
    themes: list[ThemeInfo]
    strategy: str              # which clustering was used and why, recorded in the run stats
    details: dict = field(default_factory=dict)


class ThemeModel(Protocol):
    model_id: str              # version + every parameter that changes the output

    @classmethod
    def from_config(cls, cfg) -> "ThemeModel":
        """Build from the [themes] config section (the stage creates backends this way)."""
        ...

    def fit(self, texts: Sequence[str], embeddings: np.ndarray) -> ThemeFit:
        """Deterministic for a fixed seed: the same inputs give the same ThemeFit."""
        ...
