"""Guided themes: named themes with seed phrases from a TOML file that users edit (configs/themes.toml).

    [[theme]]
    name = "Lip service"
    seeds = ["lip service", "paying lip service", "a token gesture"]

A unit joins the guided theme it is most similar to when that similarity reaches the threshold. Similarity is
the mean cosine between the unit and its `top_k` most similar seed phrases (seeds are embedded with the same
embedder as the units), plus `lexical_bonus` when the unit contains one of the seed phrases word for word
(case-insensitive, a trailing plural "s" allowed): a short idiom like "lip service" embeds poorly on its own,
but a sentence that says it is about it. Units below the threshold are left for the discovered themes.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError

NOT_GUIDED = -1


@dataclass(frozen=True)
class GuidedTheme:
    name: str
    seeds: tuple[str, ...]


def load_guided(path: str | Path | None) -> list[GuidedTheme]:
    """Guided themes from a TOML file. No path ("" or None) gives no guided themes (they are opt-in); a path that
    is not a file, not valid TOML or has a malformed [[theme]] entry raises ConfigError naming the file and the
    problem (a user who asked for guided themes must not silently get none)."""
    if not path:
        return []
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: guided themes file not found ([themes] guided_path / --themes)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"theme"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; expected [[theme]] tables with name and seeds")
    entries = data.get("theme", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'theme' must be an array of tables ([[theme]])")
    themes: list[GuidedTheme] = []
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: theme {i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a table with name and seeds")
        extra = set(entry) - {"name", "seeds"}
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {sorted(extra)} (allowed: name, seeds)")
        name, seeds = entry.get("name"), entry.get("seeds")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: 'name' must be a non-empty string")
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, str) and s.strip() for s in seeds):
            raise ConfigError(f"{where} ('{name}'): 'seeds' must be a non-empty list of non-empty strings")
        if any(t.name == name.strip() for t in themes):
            raise ConfigError(f"{where}: duplicate theme name '{name.strip()}'")
        themes.append(GuidedTheme(name=name.strip(), seeds=tuple(s.strip() for s in seeds)))
    return themes


def _seed_pattern(seed: str) -> re.Pattern:
    words = re.findall(r"[a-z0-9]+", seed.lower())
    return re.compile(r"\b" + r"\W+".join(re.escape(w) for w in words) + r"s?\b")


def lexical_matches(texts: Sequence[str], themes: Sequence[GuidedTheme]) -> np.ndarray:
    """(n, G) bool: unit i contains a seed phrase of guided theme g word for word."""
    out = np.zeros((len(texts), len(themes)), dtype=bool)
    lowered = [str(t).lower().replace("’", "'") for t in texts]
    for g, theme in enumerate(themes):
        patterns = [_seed_pattern(s).pattern for s in theme.seeds if re.search(r"[a-z0-9]", s.lower())]
        if not patterns:
            continue
        either = re.compile("|".join(f"(?:{p})" for p in patterns))  # one search per text: matches when any does
        out[:, g] = [either.search(text) is not None for text in lowered]
    return out


def guided_similarity(
    unit_vectors: np.ndarray, seed_vectors: Sequence[np.ndarray], top_k: int = 2,
    lexical: np.ndarray | None = None, lexical_bonus: float = 0.0,
) -> np.ndarray:
    """(n, G) similarity of each unit to each guided theme: mean cosine to its `top_k` closest seeds (+ bonus)."""
    n = len(unit_vectors)
    sims = np.zeros((n, len(seed_vectors)), dtype=np.float64)
    units = np.asarray(unit_vectors, np.float64)
    for g, seeds in enumerate(seed_vectors):
        s = units @ np.asarray(seeds, np.float64).T  # (n, seeds)
        k = max(1, min(top_k, s.shape[1]))
        sims[:, g] = np.sort(s, axis=1)[:, -k:].mean(axis=1) if n else 0.0
    if lexical is not None and lexical_bonus:
        sims = sims + lexical_bonus * lexical
    return sims


def assign_guided(similarity: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(assignment per unit: guided index or NOT_GUIDED, the winning similarity). Ties go to the first theme."""
    if similarity.size == 0:
        return np.full(len(similarity), NOT_GUIDED, np.int64), np.zeros(len(similarity))
    best = np.argmax(similarity, axis=1)
    score = similarity[np.arange(len(similarity)), best]
    return np.where(score >= threshold, best, NOT_GUIDED).astype(np.int64), score
