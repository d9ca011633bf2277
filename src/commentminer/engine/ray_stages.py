"""Segment, embed and sentiment on the ray engine: the local stages' pending queries, the work on Ray workers
(workers.py), and each chunk of results stored through the local stage's own write function."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..embed import stage as embed_stage
from ..segment import stage as segment_stage
from ..sentiment import stage as sentiment_stage
from . import workers
from .shards import split

if TYPE_CHECKING:
    from ..context import StageContext
    from .ray_engine import RayEngine


def segment(engine: "RayEngine", ctx: "StageContext") -> dict:
    """Sentence spans from spaCy on the workers; units built and stored by segment.stage.write_units."""
    segmenter_id = segment_stage.build_segmenter(ctx).segmenter_id
    parents, stale = segment_stage.pending_parents(ctx, segmenter_id)
    n_units = 0
    if len(parents):
        shards = split(parents, engine.shard_rows(len(parents)))
        for chunk in engine.map_chunks(ctx, shards, len(parents), workers.SegmentWorker, "pandas", "segment", "text"):
            spans = [list(zip((int(s) for s in starts), (int(e) for e in ends)))
                     for starts, ends in zip(chunk["starts"], chunk["ends"])]
            chunk = chunk.assign(comment_id=chunk["comment_id"].astype(object).where(chunk["comment_id"].notna(), None))
            n_units += segment_stage.write_units(ctx, chunk, spans, segmenter_id, stale)
    return {**segment_stage.finish(ctx, len(parents), n_units), "engine": engine_label(engine, len(parents))}


def embed(engine: "RayEngine", ctx: "StageContext") -> dict:
    """Vectors (and the sentiment branch's logits) from the workers; stored by embed.stage.write_vectors."""
    embedder, output_id = embed_stage.embedder_for_run(ctx)  # only its model id: nothing loads
    model_id = embedder.model_id
    pending = embed_stage.pending_texts(ctx, model_id)
    if len(pending):
        shards = split(pending, engine.shard_rows(len(pending)))
        for chunk in engine.map_chunks(ctx, shards, len(pending), workers.EmbedWorker, "numpy", "embed", "sentence"):
            logits = chunk.get("logits") if output_id is not None else None
            embed_stage.write_vectors(ctx, np.asarray(chunk["text_hash"], dtype=object), model_id,
                                      np.asarray(chunk["vector"], np.float32), logits, output_id)
    return {**embed_stage.finish(ctx, len(pending), model_id, output_id), "engine": engine_label(engine, len(pending))}


def sentiment(engine: "RayEngine", ctx: "StageContext") -> dict:
    """Unit scores from the workers, stored by sentiment.stage.write_unit_scores; comments aggregated here."""
    model = sentiment_stage.build_model(ctx)
    work = sentiment_stage.plan(ctx, model)
    counts = {"from_branch": 0, "without_vector": 0}

    def shards():  # the stage's own pending chunks, each with its vectors / logits as a column for Parquet
        for batch, matrix, has in sentiment_stage.pending_chunks(ctx, work, engine.shard_rows(work.total)):
            if work.needs_vectors:
                counts["without_vector"] += int((~has).sum())
            elif work.branch:
                counts["from_branch"] += int(has.sum())
            stored: list = [None] * len(batch)
            for i, row in zip(np.flatnonzero(has), matrix):
                stored[i] = row
            yield batch.assign(has=has, stored=stored)

    scored = 0
    if work.total:
        for chunk in engine.map_chunks(ctx, shards(), work.total, workers.SentimentWorker, "pandas", "sentiment",
                                       "sentence"):
            sentiment_stage.write_unit_scores(ctx, chunk["unit_id"].to_numpy(), work.backend_id, chunk["label"],
                                              chunk["score"], chunk["confidence"])
            scored += len(chunk)
    stats = sentiment_stage.finish(ctx, model, work, scored, counts["from_branch"], counts["without_vector"])
    return {**stats, "engine": engine_label(engine, work.total)}


def engine_label(engine: "RayEngine", n_pending: int) -> str:
    """"ray" plus the worker count when the stage had work (Ray is not even started otherwise)."""
    return f"ray({engine.workers()} workers)" if n_pending else "ray"


DISTRIBUTED: dict[str, Callable[["RayEngine", "StageContext"], dict]] = {
    "segment": segment, "embed": embed, "sentiment": sentiment,
}
