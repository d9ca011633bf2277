"""Embed stage: unit texts -> `embeddings`, cached by (text hash, model id).

Only texts without a vector for the current model are embedded, so a second run embeds nothing (and does not
even load the model).

When the configured sentiment backend is a branch of the encoder (`minilm_lora.v1`: adapters on MiniLM's top
layers) and the embedder can run it (`onnx.v1`), the same pass also yields the branch's logits; they go to
`encoder_outputs` keyed by (text hash, sentiment backend id), and the sentiment stage reads them instead of
running the model again.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from .. import registry
from ..context import StageContext
from ..errors import ConfigError

BATCH_SIZE = 2048  # texts per store write: a crash loses at most this many embeddings


def build_embedder(ctx: StageContext, branch_weights: Path | None = None):
    """The configured embedder (with the sentiment branch when `branch_weights` is given and it supports one)."""
    cfg = ctx.config.embed
    params: dict = {"model_path": str(ctx.config.path("embed.model_path")), "batch_size": cfg.batch_size, "threads": cfg.threads}
    accepted = inspect.signature(registry.resolve("embed", cfg.backend)).parameters
    if "precision" in accepted:
        params["precision"] = cfg.precision
        params["processes"] = cfg.processes
    elif cfg.precision != "fp32":
        raise ConfigError(f"[embed] precision = \"{cfg.precision}\" needs backend \"onnx.v1\" (not '{cfg.backend}')")
    if branch_weights is not None and "branch_weights" in accepted:
        params["branch_weights"] = branch_weights
    return registry.create("embed", cfg.backend, **params)


def sentiment_branch(ctx: StageContext) -> tuple[Path, str] | None:
    """(adapter weights file, output id) when the configured sentiment backend branches off the encoder."""
    cfg = ctx.config.sentiment
    backend_class = registry.resolve("sentiment", cfg.backend)
    if not getattr(backend_class, "encoder_branch", False):
        return None
    backend = backend_class(weights_path=str(ctx.config.path("sentiment.weights_path")) if cfg.weights_path else "",
                            model_path=str(ctx.config.path("embed.model_path")),
                            precision=ctx.config.embed.precision)
    return backend.weights_path, backend.backend_id


def embedder_for_run(ctx: StageContext):
    """(the configured embedder, the sentiment branch's output id when the same pass yields its logits, else None).

    Building it loads nothing: the model loads on first use (so the ray engine's driver can ask its model id)."""
    branch = sentiment_branch(ctx)
    embedder = build_embedder(ctx, branch[0] if branch else None)
    output_id = branch[1] if branch is not None and getattr(embedder, "supports_branch", False) else None
    return embedder, output_id


def embed_texts(embedder, texts: list[str], with_branch: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(vectors, the sentiment branch's logits or None) of `texts`: one model pass either way."""
    if with_branch:
        return embedder.embed_with_branch(texts)
    return embedder.embed(texts), None


def pending_texts(ctx: StageContext, model_id: str):
    """Distinct unit texts (text_hash, text) with no vector for `model_id`, shortest first (ties by text hash).

    By length because the stage embeds and stores them BATCH_SIZE at a time, and the embedder pads each forward
    batch to its longest text: in hash order every chunk of 2,048 held the corpus' whole spread of lengths, and its
    few long sentences padded their batches. Chunks of similar length embedded SFU C3 units 27% faster (225 ->
    287 units/s, joint fp32 graph, benchmarks/README.md)."""
    return ctx.store.query(
        """
        SELECT text_hash, any_value(text) AS text FROM units u
        WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.text_hash = u.text_hash AND e.model_id = ?)
        GROUP BY text_hash ORDER BY length(any_value(text)), text_hash
        """,
        [model_id],
    )


def write_vectors(ctx: StageContext, hashes, model_id: str, vectors: np.ndarray, logits: np.ndarray | None = None,
                  output_id: str | None = None) -> None:
    """Store one batch's vectors (and the sentiment branch's logits under `output_id`) in one transaction.

    The one write path of this stage, whichever engine ran the model (see commentminer.engine)."""
    with ctx.store.transaction():  # vectors and logits of a batch land together or not at all
        ctx.store.upsert_vectors("embeddings", {"text_hash": hashes, "model_id": model_id,
                                                "dim": vectors.shape[1]}, "vector", vectors, transaction=False)
        if logits is not None:
            ctx.store.upsert_vectors("encoder_outputs", {"text_hash": hashes, "output_id": output_id},
                                     "output", np.asarray(logits, np.float32), transaction=False)


def run(ctx: StageContext) -> dict:
    """Embed every distinct unit text that has no cached vector for the configured model."""
    embedder, output_id = embedder_for_run(ctx)
    model_id = embedder.model_id
    pending = pending_texts(ctx, model_id)
    try:
        for batch in ctx.batches(pending, BATCH_SIZE, desc="embed", unit="sentence"):
            vectors, logits = embed_texts(embedder, batch["text"].tolist(), output_id is not None)
            write_vectors(ctx, batch["text_hash"].to_numpy(), model_id, vectors, logits, output_id)
    finally:
        if hasattr(embedder, "close"):
            embedder.close()
    return finish(ctx, len(pending), model_id, output_id)


def finish(ctx: StageContext, n_embedded: int, model_id: str, output_id: str | None) -> dict:
    """The stage's counts (`output_id`: the sentiment branch's, when the pass produced its logits)."""
    stats = {"embedded": n_embedded, "cached_total": ctx.store.count("embeddings", "model_id = ?", [model_id]),
             "model_id": model_id}
    if output_id is not None:
        stats["branch_output_id"] = output_id
    return stats
