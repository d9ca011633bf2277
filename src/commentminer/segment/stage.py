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

# Parents per store write (one transaction each): a crash loses at most this many parents' units.
BATCH_SIZE = 2000


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
          AND (? OR NOT coalesce(c.truncated, FALSE))  -- cut off by the page: kept, analysed only if asked
        UNION ALL
        SELECT 'article' AS kind, a.article_id, NULL AS comment_id, a.body AS text
        FROM articles a
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.article_id = a.article_id AND u.kind = 'article'
                          AND u.segmenter_id = ?)
        ORDER BY kind, article_id, comment_id
        """,
        [segmenter_id, ctx.config.segment.analyse_truncated, segmenter_id],
    )


def units_for(parents: pd.DataFrame, spans: list[list[tuple[int, int]]], segmenter_id: str) -> pd.DataFrame:
    """Unit rows for `parents` given each parent's sentence spans (built column by column, not row dicts)."""
    kinds: list[str] = []
    article_ids: list[str] = []
    comment_ids: list[str | None] = []
    positions: list[int] = []
    texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    unit_ids: list[str] = []
    for kind, article_id, comment_id, text, parent_spans in zip(
            parents["kind"].tolist(), parents["article_id"].tolist(), parents["comment_id"].tolist(),
            parents["text"].tolist(), spans):
        if not parent_spans:
            continue
        is_comment = kind == "comment"
        parent_id = comment_id if is_comment else article_id
        n = len(parent_spans)
        kinds.extend([kind] * n)
        article_ids.extend([article_id] * n)
        comment_ids.extend([comment_id if is_comment else None] * n)
        positions.extend(range(n))
        for start, end in parent_spans:
            texts.append(text[start:end])
            starts.append(start)
            ends.append(end)
            unit_ids.append(content_id("unit", parent_id, kind, start, end))
    columns = {
        "unit_id": unit_ids,
        "kind": kinds,
        "article_id": article_ids,
        "comment_id": comment_ids,
        "position": positions,
        "text": texts,
        "char_start": starts,
        "char_end": ends,
        "text_hash": [sha256_text(text) for text in texts],
        "speaker": [None] * len(texts),
        "role": [None] * len(texts),
        "place": [None] * len(texts),
        "segmenter_id": [segmenter_id] * len(texts),
    }
    return pd.DataFrame(columns, columns=UNITS.column_names)


def pending_parents(ctx: StageContext, segmenter_id: str) -> tuple[pd.DataFrame, bool]:
    """(parents not yet segmented by `segmenter_id`, whether units of another segmenter may need replacing)."""
    parents = _pending_parents(ctx, segmenter_id)
    # Units of another segmenter exist only after a change of segmenter; without any, nothing can be stale.
    stale = len(parents) > 0 and ctx.store.count(
        "units", "kind IN ('comment', 'article') AND segmenter_id <> ?", [segmenter_id]) > 0
    return parents, stale


def write_units(ctx: StageContext, parents: pd.DataFrame, spans: list[list[tuple[int, int]]], segmenter_id: str,
                stale: bool) -> int:
    """Store the units of one batch of `parents` from their sentence spans; returns the units written.

    The one write path of this stage, whichever engine split the sentences (see commentminer.engine)."""
    units = units_for(parents, spans, segmenter_id)
    if stale:
        _drop_stale_units(ctx, parents, segmenter_id)
    ctx.store.upsert("units", units)
    return len(units)


def run(ctx: StageContext) -> dict:
    """Segment every parent not yet segmented by the configured segmenter; returns counts."""
    segmenter = build_segmenter(ctx)
    parents, stale = pending_parents(ctx, segmenter.segmenter_id)
    n_units = 0
    for batch in ctx.batches(parents, BATCH_SIZE, desc="segment", unit="text"):
        spans = segmenter.split(batch["text"].fillna("").tolist())
        n_units += write_units(ctx, batch, spans, segmenter.segmenter_id, stale)
    return finish(ctx, len(parents), n_units)


def finish(ctx: StageContext, n_parents: int, n_units: int) -> dict:
    """The stage's counts."""
    return {"parents_segmented": n_parents, "units_written": n_units, "units_total": ctx.store.count("units")}


def _drop_stale_units(ctx: StageContext, batch: pd.DataFrame, segmenter_id: str) -> None:
    """Units of these parents from another segmenter are replaced, not kept beside the new ones.

    The id lists are semi-joined (IN over unnest) rather than scanned per row with list_contains (which costs
    units x batch size; measured small at 49k units, about 0.02 s per batch of 2,000, but it need not grow).
    """
    comment_ids = batch.loc[batch["kind"] == "comment", "comment_id"].tolist()
    article_ids = batch.loc[batch["kind"] == "article", "article_id"].tolist()
    ctx.store.delete(
        "units",
        "segmenter_id <> ? AND ((kind = 'comment' AND comment_id IN (SELECT unnest(?::VARCHAR[])))"
        " OR (kind = 'article' AND article_id IN (SELECT unnest(?::VARCHAR[]))))",
        [segmenter_id, comment_ids, article_ids],
    )
