"""all-MiniLM-L6-v2 run by ONNX Runtime (`onnx.v1`, the default embedder): the graph exported by
`scripts/export_onnx.py`, no torch at run time.

With `branch_weights` set (the sentiment adapters of `minilm_lora.v1`), it runs the joint graph: the shared
bottom layers once, then the base top layers for the sentence vector and the adapted ones for the sentiment
logits (see commentminer/encoder/graph.py), so the embed stage can hand the sentiment stage its logits and no
unit is run through the model twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..encoder.runtime import PRECISIONS, OnnxEncoder, model_id_for
from ..errors import ConfigError
from ..ids import sha256_file


class OnnxEmbedder:
    """Vectors (n, 384) float32, L2-normalised, in input order; `precision` "fp32" (the same vectors as
    sentence-transformers) or "int8" (per-channel quantised weights: faster, vectors move slightly)."""

    supports_branch = True

    def __init__(self, model_path: str = "models/all-MiniLM-L6-v2", batch_size: int = 64, threads: int = 0,
                 precision: str = "fp32", branch_weights: str | Path | None = None, processes: int = 1):
        if precision not in PRECISIONS:
            raise ConfigError(f"[embed] precision '{precision}': expected one of {', '.join(PRECISIONS)}")
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self.threads = threads
        self.precision = precision
        self.branch_weights = Path(branch_weights) if branch_weights else None
        self.processes = processes
        self._encoder: OnnxEncoder | None = None
        self._model_id: str | None = None

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            self._model_id = model_id_for(self.model_path, self.precision)
        return self._model_id

    @property
    def encoder(self) -> OnnxEncoder:
        if self._encoder is None:
            branch_sha = sha256_file(self.branch_weights) if self.branch_weights else None
            self._encoder = OnnxEncoder(self.model_path, "joint" if branch_sha else "embed", self.precision,
                                        self.batch_size, self.threads, branch_sha256=branch_sha,
                                        processes=self.processes)
        return self._encoder

    def close(self) -> None:
        """Release the graph (and stop its worker processes, if any)."""
        if self._encoder is not None:
            self._encoder.close()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, rows L2-normalised, in the order of `texts`."""
        return self.embed_with_branch(texts)[0]

    def embed_with_branch(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """(vectors, branch logits or None without a branch) from one pass."""
        if not len(texts):
            return np.zeros((0, 384), np.float32), (np.zeros((0, 5), np.float32) if self.branch_weights else None)
        out = self.encoder.encode(texts)
        return out["embedding"], out.get("sentiment_logits")
