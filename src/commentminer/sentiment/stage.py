"""Sentiment stage: a score per unit from the configured backend, and per comment aggregated from its units.

A comment's score is the length-weighted mean of its sentence scores (not the backend re-run on the whole
comment: long comments mix praise and complaint, and one blob score hides that). Incremental per backend.

A backend that declares `needs_embeddings = True` (the model-based one) gets each unit's vector from the
`embeddings` table (units.text_hash + the configured embedding model's id): the embed stage runs first, so nothing
is embedded twice. A unit whose vector is not stored yet stays unscored (counted in the stats as
`units_without_vector`) and is scored by the next run after embed has stored it. A backend that is a branch of
the embedding model (minilm_lora.v1, `encoder_branch = True`: adapters on MiniLM's top layers) gets `[embed]
model_path`, `threads` and `precision`, and scores from the logits the embed stage stored for it in
`encoder_outputs` (counted as `units_from_embed_pass`); units without them are run through its graph here.

Per theme (mean over member units) and per quoted voice (units of kind 'quote') need no rows of their own: they
read the unit rows (see aggregate.queries.theme_summary and units_table).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import registry
from ..context import StageContext
from ..errors import ConfigError
from ..store.vectors import iter_vector_chunks
from .base import label_for

BATCH_SIZE = 2000


def build_model(ctx: StageContext):
    cfg = ctx.config.sentiment
    params = {"neutral_threshold": cfg.neutral_threshold}
    accepted = inspect.signature(registry.resolve("sentiment", cfg.backend)).parameters
    if cfg.weights_path:  # only model-based backends take weights
        if "weights_path" not in accepted:
            raise ConfigError(f"[sentiment] weights_path is set but backend '{cfg.backend}' takes no weights")
        params["weights_path"] = str(ctx.config.path("sentiment.weights_path"))
    if "model_path" in accepted:  # a backend that runs the embedding model itself (minilm_lora.v1)
        params["model_path"] = str(ctx.config.path("embed.model_path"))
        params["threads"] = ctx.config.embed.threads
        params["precision"] = ctx.config.embed.precision
    return registry.create("sentiment", cfg.backend, **params)


def embedding_model_id(ctx: StageContext) -> str:
    """The configured embedder's model id (a hash of its weights file; the model itself is not loaded)."""
    from ..embed.stage import build_embedder

    return build_embedder(ctx).model_id


def _pending_sql(backend_id: str, model_id: str | None, branch: bool = False) -> tuple[str, list]:
    """SQL (and params) of the units with no score from this backend: unit_id, text, and the unit's stored vector
    (`model_id` given) or the logits the embed stage stored for this backend (`branch`) as column "vector"."""
    missing = """NOT EXISTS (SELECT 1 FROM sentiment s WHERE s.target_kind = 'unit' AND s.target_id = u.unit_id
                             AND s.backend_id = ?)"""
    if branch:
        return (f"""SELECT u.unit_id, u.text, o.output AS vector FROM units u
                    LEFT JOIN encoder_outputs o ON o.text_hash = u.text_hash AND o.output_id = ?
                    WHERE {missing} ORDER BY u.unit_id""", [backend_id, backend_id])
    if model_id is None:
        return (f"SELECT u.unit_id, u.text, NULL::FLOAT[] AS vector FROM units u WHERE {missing} ORDER BY u.unit_id",
                [backend_id])
    return (f"""SELECT u.unit_id, u.text, e.vector FROM units u
                LEFT JOIN embeddings e ON e.text_hash = u.text_hash AND e.model_id = ?
                WHERE {missing} ORDER BY u.unit_id""", [model_id, backend_id])


@dataclass
class Plan:
    """What the stage will score and how its backend reads the units (their vectors, or stored logits)."""

    backend_id: str
    needs_vectors: bool
    branch: bool
    model_id: str | None   # the embedding model whose vectors are read (needs_vectors)
    total: int             # pending units


def plan(ctx: StageContext, model) -> Plan:
    """How `model` scores, and how many units have no score from it yet."""
    needs_vectors = bool(getattr(model, "needs_embeddings", False))
    branch = bool(getattr(model, "encoder_branch", False))
    model_id = embedding_model_id(ctx) if needs_vectors else None
    total = ctx.store.count("units", "NOT EXISTS (SELECT 1 FROM sentiment s WHERE s.target_kind = 'unit' "
                                     "AND s.target_id = units.unit_id AND s.backend_id = ?)", [model.backend_id])
    return Plan(model.backend_id, needs_vectors, branch, model_id, total)


def pending_chunks(ctx: StageContext, work: Plan, rows: int = BATCH_SIZE) -> Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray]]:
    """The pending units in chunks of `rows`: (unit_id + text frame, the matrix of the vectors or logits the
    backend reads as one contiguous array, one row per True in the boolean mask `has`)."""
    sql, params = _pending_sql(work.backend_id, work.model_id, work.branch)
    return iter_vector_chunks(ctx.store, sql, params, chunk_rows=rows)


def score_chunk(model, batch: pd.DataFrame, matrix: np.ndarray, has: np.ndarray, needs_vectors: bool,
                branch: bool) -> tuple[pd.DataFrame, list]:
    """(the units scored, their scores) for one chunk of `pending_chunks`; units without a vector are left out
    when the backend needs vectors (the next run scores them)."""
    texts = batch["text"].tolist()
    if needs_vectors:
        batch, texts = batch[has], [t for t, h in zip(texts, has) if h]
        return batch, (model.score(texts, vectors=matrix) if len(texts) else [])
    if branch:
        return batch, _score_branch(model, texts, matrix, has)
    return batch, model.score(texts)


def write_unit_scores(ctx: StageContext, unit_ids, backend_id: str, labels, scores, confidences) -> None:
    """Store one batch's unit scores. The one write path of this stage, whichever engine scored the units."""
    ctx.store.upsert("sentiment", pd.DataFrame({
        "target_kind": "unit",
        "target_id": np.asarray(unit_ids),
        "backend_id": backend_id,
        "label": list(labels),
        "score": list(scores),
        "confidence": list(confidences),
    }))


def run(ctx: StageContext) -> dict:
    """Score units without a score from this backend, then (re)aggregate every comment's score.

    Pending units are read in chunks of BATCH_SIZE with their vectors / logits as one contiguous matrix per
    chunk (store.vectors.iter_vector_chunks), each chunk scored and written before the next is read.
    """
    model = build_model(ctx)
    work = plan(ctx, model)
    scored = from_branch = without_vector = 0
    bar = ctx.progress(pending_chunks(ctx, work), total=-(-work.total // BATCH_SIZE), desc="sentiment", unit="batch")
    for batch, matrix, has in bar:
        if work.needs_vectors:
            without_vector += int((~has).sum())
        elif work.branch:
            from_branch += int(has.sum())
        batch, scores = score_chunk(model, batch, matrix, has, work.needs_vectors, work.branch)
        scored += len(scores)
        write_unit_scores(ctx, batch["unit_id"].to_numpy(), work.backend_id, [s.label for s in scores],
                          [s.score for s in scores], [s.confidence for s in scores])
    return finish(ctx, model, work, scored, from_branch, without_vector)


def finish(ctx: StageContext, model, work: Plan, scored: int, from_branch: int, without_vector: int) -> dict:
    """(Re)aggregate every comment's score from its units' scores; returns the stage's counts."""
    threshold = float(getattr(model, "neutral_threshold", ctx.config.sentiment.neutral_threshold))
    comments = aggregate_comments(ctx, work.backend_id, threshold)
    ctx.store.upsert("sentiment", comments)
    stats = {"units_scored": scored, "comments_scored": len(comments), "backend_id": work.backend_id}
    if work.needs_vectors:
        stats.update(units_without_vector=without_vector, embedding_model_id=work.model_id)
    if work.branch:
        stats["units_from_embed_pass"] = from_branch
    return stats


def _score_branch(model, texts: list[str], logits: np.ndarray, stored: np.ndarray) -> list:
    """Scores from the logits the embed stage stored (`logits`: one row per True in `stored`); texts without
    them are run through the model here."""
    scores: list = [None] * len(texts)
    if stored.any():
        rows = np.flatnonzero(stored)
        for i, score in zip(rows, model.score_logits([texts[i] for i in rows], logits)):
            scores[i] = score
    if not stored.all():
        rows = np.flatnonzero(~stored)
        for i, score in zip(rows, model.score([texts[i] for i in rows])):
            scores[i] = score
    return scores


def aggregate_comments(ctx: StageContext, backend_id: str, threshold: float | None = None) -> pd.DataFrame:
    """Per-comment rows: length-weighted mean of unit scores; confidence = mean unit confidence; the label by
    the backend's neutral band (`threshold`, default [sentiment] neutral_threshold) on that mean."""
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
    if threshold is None:
        threshold = ctx.config.sentiment.neutral_threshold
    frame["label"] = [label_for(score, threshold) for score in frame["score"]]
    frame["target_kind"] = "comment"
    frame["backend_id"] = backend_id
    return frame
