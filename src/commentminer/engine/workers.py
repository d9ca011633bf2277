"""The per-batch work of segment, embed and sentiment as Ray Data actor classes (class-based UDFs).

Each worker builds its model once, in its constructor, from the run's config (the same builders the local
stages use). Its input rows are Parquet shard paths: it reads each shard itself and yields result rows for every
[engine] batch_rows of it. (Reading inside the actor, rather than through `ray.data.read_parquet`, means no
read task competes with the actors for CPUs: on a 2-CPU node, 2 single-CPU actors would otherwise leave the
file-listing task waiting forever.) Workers never touch the store: the driver writes their results back (see
ray_engine.py). This module does not import Ray; the workers run inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config


@dataclass
class ConfigOnly:
    """What a stage's model builders read from a StageContext: only the config (a worker has no store)."""

    config: Config
    store: Any = None


def worker_config(config_json: str, threads: int) -> Config:
    """The run's config as shipped to a worker, with the model running single-process on `threads` threads."""
    cfg = Config.model_validate_json(config_json)
    cfg.embed.threads = threads
    cfg.embed.processes = 1
    cfg.run.progress = False
    return cfg


class ShardWorker:
    """Reads the shards named in a batch of `path` rows and yields `process(rows)` per `batch_rows` rows."""

    def __init__(self, batch_rows: int):
        self.batch_rows = batch_rows

    def __call__(self, batch: dict[str, np.ndarray]) -> Iterator[Any]:
        import pyarrow.parquet as pq

        for path in batch["path"]:
            frame = pq.read_table(str(path)).to_pandas()
            for start in range(0, len(frame), self.batch_rows):
                yield self.process(frame.iloc[start:start + self.batch_rows].reset_index(drop=True))

    def process(self, rows: pd.DataFrame) -> Any:
        raise NotImplementedError


class SegmentWorker(ShardWorker):
    """Parents (kind, article_id, comment_id, text) -> the same rows with their sentence spans (starts, ends)."""

    def __init__(self, config_json: str, threads: int = 1, batch_rows: int = 1024):
        from ..segment.stage import build_segmenter

        super().__init__(batch_rows)
        self.segmenter = build_segmenter(ConfigOnly(worker_config(config_json, threads)))

    def process(self, batch: pd.DataFrame) -> pd.DataFrame:
        spans = self.segmenter.split(batch["text"].fillna("").tolist())
        out = batch[["kind", "article_id", "comment_id", "text"]].copy()
        out["starts"] = [[int(s) for s, _ in parent] for parent in spans]
        out["ends"] = [[int(e) for _, e in parent] for parent in spans]
        return out


class EmbedWorker(ShardWorker):
    """Texts (text_hash, text) -> text_hash, vector (n, dim) and, with the sentiment branch, logits (n, 5)."""

    def __init__(self, config_json: str, threads: int = 1, batch_rows: int = 1024):
        from ..embed.stage import embedder_for_run

        super().__init__(batch_rows)
        self.embedder, output_id = embedder_for_run(ConfigOnly(worker_config(config_json, threads)))
        self.with_branch = output_id is not None

    def process(self, batch: pd.DataFrame) -> dict[str, np.ndarray]:
        from ..embed.stage import embed_texts

        vectors, logits = embed_texts(self.embedder, batch["text"].tolist(), self.with_branch)
        out = {"text_hash": batch["text_hash"].to_numpy(), "vector": np.asarray(vectors, np.float32)}
        if logits is not None:
            out["logits"] = np.asarray(logits, np.float32)
        return out


class SentimentWorker(ShardWorker):
    """Pending units (unit_id, text, has, stored: the vector or logits the backend reads, when `has`) ->
    unit_id, label, score, confidence of the units scored."""

    def __init__(self, config_json: str, threads: int = 1, batch_rows: int = 1024):
        from ..sentiment.stage import build_model

        super().__init__(batch_rows)
        self.model = build_model(ConfigOnly(worker_config(config_json, threads)))
        self.needs_vectors = bool(getattr(self.model, "needs_embeddings", False))
        self.branch = bool(getattr(self.model, "encoder_branch", False))

    def process(self, batch: pd.DataFrame) -> pd.DataFrame:
        from ..sentiment.stage import score_chunk

        has = batch["has"].to_numpy(dtype=bool)
        stored = [np.asarray(v, np.float32) for v in batch.loc[has, "stored"]]
        matrix = np.stack(stored) if stored else np.zeros((0, 0), np.float32)
        scored, scores = score_chunk(self.model, batch[["unit_id", "text"]], matrix, has, self.needs_vectors,
                                     self.branch)
        return pd.DataFrame({"unit_id": scored["unit_id"].to_numpy(), "label": [s.label for s in scores],
                             "score": [float(s.score) for s in scores],
                             "confidence": [float(s.confidence) for s in scores]})
