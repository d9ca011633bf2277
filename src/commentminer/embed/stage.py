"""Embed stage: unit texts -> `embeddings`, cached by (text hash, model id).

Only texts without a vector for the current model are embedded, so a second run embeds nothing (and does not
even load the model).
"""

from __future__ import annotations

import pandas as pd

from .. import registry
from ..context import StageContext

BATCH_SIZE = 512  # texts per store write: a crash loses at most this many embeddings


def build_embedder(ctx: StageContext):
    cfg = ctx.config.embed
    return registry.create("embed", cfg.backend, model_path=cfg.model_path, batch_size=cfg.batch_size, threads=cfg.threads)


def run(ctx: StageContext) -> dict:
    """Embed every distinct unit text that has no cached vector for the configured model."""
    embedder = build_embedder(ctx)
    model_id = embedder.model_id
    pending = ctx.store.query(
        """
        SELECT text_hash, any_value(text) AS text FROM units u
        WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.text_hash = u.text_hash AND e.model_id = ?)
        GROUP BY text_hash ORDER BY text_hash
        """,
        [model_id],
    )
    for batch in ctx.batches(pending, BATCH_SIZE, desc="embed", unit="sentence"):
        vectors = embedder.embed(batch["text"].tolist())
        ctx.store.upsert("embeddings", pd.DataFrame({
            "text_hash": batch["text_hash"].to_numpy(),
            "model_id": model_id,
            "dim": vectors.shape[1],
            "vector": list(vectors),
        }))
    return {"embedded": len(pending), "cached_total": ctx.store.count("embeddings", "model_id = ?", [model_id]),
            "model_id": model_id}

