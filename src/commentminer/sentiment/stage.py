"""Sentiment stage: a score per unit from the configured backend, and per comment aggregated from its units.

A comment's score is the length-weighted mean of its sentence scores (not the backend re-run on the whole
comment: long comments mix praise and complaint, and one blob score hides that). Incremental per backend.
"""

from __future__ import annotations

import pandas as pd

from .. import registry
from ..context import StageContext
from .base import label_for

BATCH_SIZE = 2000


def build_model(ctx: StageContext):
    cfg = ctx.config.sentiment
    return registry.create("sentiment", cfg.backend, neutral_threshold=cfg.neutral_threshold)


def run(ctx: StageContext) -> dict:
    """Score units without a score from this backend, then (re)aggregate every comment's score."""
    model = build_model(ctx)
    backend_id = model.backend_id
    pending = ctx.store.query(
        """
        SELECT unit_id, text FROM units u
        WHERE NOT EXISTS (SELECT 1 FROM sentiment s WHERE s.target_kind = 'unit' AND s.target_id = u.unit_id
                          AND s.backend_id = ?)
        ORDER BY unit_id
        """,
        [backend_id],
    )
    for batch in ctx.batches(pending, BATCH_SIZE, desc="sentiment", unit="sentence"):
        scores = model.score(batch["text"].tolist())
        ctx.store.upsert("sentiment", pd.DataFrame({
            "target_kind": "unit",
            "target_id": batch["unit_id"].to_numpy(),
            "backend_id": backend_id,
            "label": [s.label for s in scores],
            "score": [s.score for s in scores],
            "confidence": [s.confidence for s in scores],
        }))
    comments = aggregate_comments(ctx, backend_id)
    ctx.store.upsert("sentiment", comments)
    return {"units_scored": len(pending), "comments_scored": len(comments), "backend_id": backend_id}


def aggregate_comments(ctx: StageContext, backend_id: str) -> pd.DataFrame:
    """Per-comment rows: length-weighted mean of unit scores; confidence = mean unit confidence."""
    frame = ctx.store.query(
        """
        SELECT u.comment_id AS target_id,
               sum(s.score * length(u.text)) / sum(length(u.text)) AS score,
               avg(s.confidence) AS confidence
        FROM units u JOIN sentiment s
          ON s.target_kind = 'unit' AND s.target_id = u.unit_id AND s.backend_id = ?
        WHERE u.kind = 'comment'
        GROUP BY u.comment_id ORDER BY u.comment_id
        """,
        [backend_id],
    )
    threshold = ctx.config.sentiment.neutral_threshold
    frame["label"] = [label_for(score, threshold) for score in frame["score"]]
    frame["target_kind"] = "comment"
    frame["backend_id"] = backend_id
    return frame
