"""themes stage: units + their embeddings from the store -> `themes` and `unit_themes` rows for this run.

Reads: units, embeddings, comments. Writes: themes, unit_themes (both keyed by run_id; a re-run of the stage in
the same run replaces that run's rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from ..context import StageContext
from ..errors import CommentminerError
from .base import OUTLIER_THEME, ThemeFit
from .quotes import quotes_by_theme, unit_priority

STAGE = "themes"


def embedding_model_id(ctx: StageContext, unit_kinds: list[str]) -> str:
    """The embedding model_id to theme with: the only one stored for these units' texts.

    Taking it from the data keeps this stage independent of how the embed stage names its models. When vectors
    of several models are stored (the embed model was changed), pass `model_id` to `run` explicitly.
    """
    found = ctx.store.query(
        "SELECT e.model_id, count(DISTINCT u.unit_id) AS n FROM units u "
        "JOIN embeddings e ON e.text_hash = u.text_hash "
        f"WHERE u.kind IN ({_placeholders(unit_kinds)}) GROUP BY e.model_id ORDER BY e.model_id",
        list(unit_kinds),
    )
    if found.empty:
        raise CommentminerError(
            "themes: no embeddings found for the units (kinds "
            f"{', '.join(unit_kinds)}); run the embed stage first (`commentminer run` runs every stage)"
        )
    if len(found) > 1:
        listing = ", ".join(f"{m} ({n} units)" for m, n in zip(found.model_id, found.n))
        raise CommentminerError(
            f"themes: embeddings of several models are stored ({listing}); pass the embed model_id to the themes stage"
        )
    return str(found.model_id.iloc[0])


def load_units(ctx: StageContext, unit_kinds: list[str], model_id: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Units of `unit_kinds` ordered by unit_id with commenter info, and their (n, dim) float32 vectors.

    Raises CommentminerError when some units have no vector for `model_id` (themes on a subset would silently
    undercount).
    """
    frame = ctx.store.query(
        "SELECT u.unit_id, u.kind, u.text, u.comment_id, u.speaker, c.name AS commenter_name, "
        "c.commenter_id, e.vector "
        "FROM units u LEFT JOIN comments c ON c.comment_id = u.comment_id "
        "LEFT JOIN embeddings e ON e.text_hash = u.text_hash AND e.model_id = ? "
        f"WHERE u.kind IN ({_placeholders(unit_kinds)}) ORDER BY u.unit_id",
        [model_id, *unit_kinds],
    )
    missing = int(frame.vector.isna().sum()) if len(frame) else 0
    if missing:
        raise CommentminerError(
            f"themes: {missing} of {len(frame)} units have no embedding for model '{model_id}'; "
            "run the embed stage first"
        )
    vectors = np.stack([np.asarray(v, dtype=np.float32) for v in frame.vector]) if len(frame) else None
    return frame.drop(columns=["vector"]), vectors


def run(ctx: StageContext, model_id: str | None = None) -> dict:
    """Fit themes on the stored units and write this run's `themes` and `unit_themes` rows.

    Returns stats: units, themes (excluding the outlier theme), outlier_share, strategy, model_id.
    """
    if not ctx.run_id:
        raise CommentminerError("themes: no run id in the stage context (themes are stored per run)")
    cfg = ctx.config.themes
    kinds = list(cfg.unit_kinds)
    n_units = ctx.store.count("units", f"kind IN ({_placeholders(kinds)})", kinds)
    if n_units == 0:  # nothing to theme is not an error (e.g. an empty ingest); still clear stale rows
        ctx.store.delete("unit_themes", "run_id = ?", [ctx.run_id])
        ctx.store.delete("themes", "run_id = ?", [ctx.run_id])
        return {"units": 0, "themes": 0, "outlier_share": 0.0, "strategy": "empty"}
    model_id = model_id or embedding_model_id(ctx, kinds)
    units, vectors = load_units(ctx, kinds, model_id)
    model = registry.resolve("themes", cfg.backend).from_config(cfg)
    fit = model.fit(units.text.tolist(), vectors if vectors is not None else np.zeros((0, 0), np.float32))
    themes, unit_themes = to_rows(ctx.run_id, units, vectors, fit, cfg.n_quotes)
    # Replace, not merge: a re-fit can produce fewer themes, and stale theme rows must not survive.
    ctx.store.delete("unit_themes", "run_id = ?", [ctx.run_id])
    ctx.store.delete("themes", "run_id = ?", [ctx.run_id])
    ctx.store.upsert("themes", themes)
    ctx.store.upsert("unit_themes", unit_themes)
    return {
        "units": len(units),
        "themes": int(sum(1 for t in fit.themes if t.theme_id != OUTLIER_THEME)),
        "outlier_share": float(fit.details.get("outlier_share", 0.0)),
        "strategy": fit.strategy,
        "theme_model_id": model.model_id,
        "embedding_model_id": model_id,
    }


def to_rows(
    run_id: str, units: pd.DataFrame, vectors: np.ndarray | None, fit: ThemeFit, n_quotes: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`themes` and `unit_themes` frames (schema columns) for one fit over `units` (in fit order)."""
    if len(units) == 0:
        return pd.DataFrame(), pd.DataFrame()
    assignments = fit.assignments
    attributed = (units.commenter_name.notna() | units.speaker.notna()).tolist()
    priority = unit_priority(units.kind.tolist(), attributed)
    quote_rank = np.full(len(units), np.nan)
    for quotes in quotes_by_theme(vectors, assignments, n_quotes, priority, skip=(OUTLIER_THEME,)).values():
        quote_rank[quotes] = np.arange(1, len(quotes) + 1)
    unit_themes = pd.DataFrame({
        "run_id": run_id,
        "unit_id": units.unit_id.to_numpy(),
        "theme_id": assignments.astype(np.int32),
        "probability": fit.probabilities.astype(np.float64),
        "quote_rank": pd.array(quote_rank, dtype="Int32"),
    })
    rows = []
    for info in fit.themes:
        members = units[assignments == info.theme_id]
        rows.append({
            "run_id": run_id,
            "theme_id": int(info.theme_id),
            "label": info.label,
            "keywords": list(info.keywords),
            "kind": "other" if info.theme_id == OUTLIER_THEME else "discovered",
            "n_units": int(len(members)),
            "n_comments": int(members.comment_id.dropna().nunique()),
            "n_commenters": int(members.commenter_id.dropna().nunique()),
        })
    return pd.DataFrame(rows), unit_themes


def _placeholders(values: list) -> str:
    return ", ".join("?" for _ in values)
