"""Segment stage: comments and article bodies -> sentence `units` with character offsets into their parent.

Incremental: a parent already segmented by the configured segmenter is skipped, so adding 50 comments costs
50 comments of work. Switching segmenter replaces the parents' units.
"""

from __future__ import annotations

import pandas as pd

from .. import registry
from ..context import StageContext
from ..ids import content_id, sha256_text
from ..schema import UNITS

BATCH_SIZE = 200


def build_segmenter(ctx: StageContext):
    cfg = ctx.config.segment
    return registry.create("segment", cfg.backend, model=cfg.model, min_chars=cfg.min_chars)


def _pending_parents(ctx: StageContext, segmenter_id: str) -> pd.DataFrame:
    """Parents (comments, article bodies) that have no units from this segmenter yet."""
    return ctx.store.query(
        """
        SELECT 'comment' AS kind, c.article_id, c.comment_id, c.text
        FROM comments c
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.comment_id = c.comment_id AND u.segmenter_id = ?)
        UNION ALL
        SELECT 'article' AS kind, a.article_id, NULL AS comment_id, a.body AS text
        FROM articles a
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.article_id = a.article_id AND u.kind = 'article'
                          AND u.segmenter_id = ?)
        ORDER BY kind, article_id, comment_id
        """,
        [segmenter_id, segmenter_id],
    )


def units_for(parents: pd.DataFrame, spans: list[list[tuple[int, int]]], segmenter_id: str) -> pd.DataFrame:
    """Unit rows for `parents` given each parent's sentence spans."""
    rows = []
    for parent, parent_spans in zip(parents.itertuples(index=False), spans):
        parent_id = parent.comment_id if parent.kind == "comment" else parent.article_id
        for position, (start, end) in enumerate(parent_spans):
            text = parent.text[start:end]
            rows.append({
                "unit_id": content_id("unit", parent_id, parent.kind, start, end),
                "kind": parent.kind,
                "article_id": parent.article_id,
                "comment_id": parent.comment_id if parent.kind == "comment" else None,
                "position": position,
                "text": text,
                "char_start": start,
                "char_end": end,
                "text_hash": sha256_text(text),
                "speaker": None,
                "place": None,
                "segmenter_id": segmenter_id,
            })
    return pd.DataFrame(rows, columns=UNITS.column_names)


def run(ctx: StageContext) -> dict:
    """Segment every parent not yet segmented by the configured segmenter; returns counts."""
    segmenter = build_segmenter(ctx)
    parents = _pending_parents(ctx, segmenter.segmenter_id)
    n_units = 0
    for batch in ctx.batches(parents, BATCH_SIZE, desc="segment", unit="text"):
        spans = segmenter.split(batch["text"].fillna("").tolist())
        units = units_for(batch, spans, segmenter.segmenter_id)
        _drop_stale_units(ctx, batch, segmenter.segmenter_id)
        ctx.store.upsert("units", units)
        n_units += len(units)
    return {"parents_segmented": len(parents), "units_written": n_units, "units_total": ctx.store.count("units")}


def _drop_stale_units(ctx: StageContext, batch: pd.DataFrame, segmenter_id: str) -> None:
    """Units of these parents from another segmenter are replaced, not kept beside the new ones."""
    comment_ids = batch.loc[batch["kind"] == "comment", "comment_id"].tolist()
    article_ids = batch.loc[batch["kind"] == "article", "article_id"].tolist()
    ctx.store.delete(
        "units",
        "segmenter_id <> ? AND ((kind = 'comment' AND list_contains(?, comment_id))"
        " OR (kind = 'article' AND list_contains(?, article_id)))",
        [segmenter_id, comment_ids, article_ids],
    )
