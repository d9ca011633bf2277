"""Run an exported MiniLM graph (see graph.py) with ONNX Runtime: texts in, vectors (and branch logits) out.

No torch here: tokenising is the `tokenizers` library on the model folder's tokenizer.json, the forward pass is
ONNX Runtime, so a run starts in a fraction of torch's import time. Texts are sorted by token count and batched,
each batch padded only to its own longest text, so almost no work is spent on padding.

Before a graph runs, its file's SHA-256 must equal the one `manifest.json` recorded at export, and the manifest
must have been built from the model folder's weights (and, for the joint graph, from the sentiment adapters in
use): a stale or edited graph is an error with the command that rebuilds it, never silently different vectors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelMissingError
from ..ids import sha256_file

MANIFEST = "manifest.json"
ONNX_SUBFOLDER = "onnx"
PRECISIONS = ("fp32", "int8")
EXPORT_HINT = "run `make model` (or `.venv/bin/python scripts/export_onnx.py`)"
_SHA_CACHE: dict[tuple[str, int, int], str] = {}
_REQUIRED = ("config.json", "modules.json", "tokenizer.json", "model.safetensors")


def check_model_folder(folder: Path) -> None:
    """Raise ModelMissingError (one line, with the fix) unless `folder` holds a complete model."""
    missing = [name for name in _REQUIRED if not (folder / name).is_file()]
    if missing:
        raise ModelMissingError(
            f"{folder}: embedding model not found (missing {', '.join(missing)}); "
            f"run `make model` (or `python scripts/fetch_model.py --dest {folder}`), or point the setting at a "
            f"model folder: --set embed.model_path=FOLDER (relative paths are looked up in the working directory, "
            f"then $COMMENTMINER_HOME, the project folder and the user data folder)"
        )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) for the life of the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(path)
    return _SHA_CACHE[key]


def model_id_for(model_folder: Path, precision: str = "fp32") -> str:
    """Embedding cache key: folder name + 12 hex of the weights' SHA-256 (+ the precision when not fp32).

    The fp32 ONNX graph and sentence-transformers compute the same vectors (cosine >= 0.99999), so they share an
    id and reuse each other's cached vectors; int8 vectors differ and are cached apart.
    """
    check_model_folder(model_folder)
    digest = file_sha256(model_folder / "model.safetensors")[:12]
    return f"st:{model_folder.name}@{digest}" + ("" if precision == "fp32" else f"+{precision}")


def read_manifest(onnx_folder: Path) -> dict[str, Any]:
    """The export manifest of `onnx_folder`, or a one-line error that says how to build it."""
    path = onnx_folder / MANIFEST
    if not path.is_file():
        raise ModelMissingError(f"{onnx_folder}: exported ONNX graphs not found (no {MANIFEST}); {EXPORT_HINT}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelMissingError(f"{path}: unreadable export manifest ({exc}); {EXPORT_HINT}") from None


def graph_path(model_folder: Path, kind: str, precision: str, branch_sha256: str | None = None) -> tuple[Path, dict]:
    """(path of the verified graph file, manifest) for graph `kind` ("embed" | "joint") at `precision`.

    Checks: the manifest was built from this folder's model.safetensors, the graph file's SHA-256 is the
    recorded one, and for the joint graph the branch was built from weights with SHA-256 `branch_sha256`.
    """
    onnx_folder = model_folder / ONNX_SUBFOLDER
    manifest = read_manifest(onnx_folder)
    entry = manifest.get("graphs", {}).get(f"{kind}.{precision}")
    if entry is None:
        raise ModelMissingError(f"{onnx_folder}: no {kind} graph at {precision} in {MANIFEST}; {EXPORT_HINT}")
    base_sha = file_sha256(model_folder / "model.safetensors")
    if manifest.get("base_model_sha256") != base_sha:
        raise ModelMissingError(f"{onnx_folder}: graphs were exported from other weights than "
                                f"{model_folder / 'model.safetensors'}; {EXPORT_HINT}")
    if kind == "joint" and manifest.get("branch", {}).get("weights_sha256") != branch_sha256:
        raise ModelMissingError(f"{onnx_folder}: the joint graph was built from other sentiment weights than the "
                                f"ones configured; {EXPORT_HINT} with --branch-weights set to them")
    path = onnx_folder / entry["file"]
    if not path.is_file():
        raise ModelMissingError(f"{path}: exported graph missing; {EXPORT_HINT}")
    if file_sha256(path) != entry["sha256"]:
        raise ModelMissingError(f"{path}: sha256 does not match {MANIFEST} (corrupt or edited); {EXPORT_HINT}")
    return path, manifest


def open_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session on `path` with `threads` intra-op threads (0 = one per core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


_WORKER_SESSION: Any = None


def _worker_start(path: str, threads: int) -> None:
    global _WORKER_SESSION
    _WORKER_SESSION = open_session(Path(path), threads)


def _worker_run(batches: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    names = [o.name for o in _WORKER_SESSION.get_outputs()]
    return [dict(zip(names, _WORKER_SESSION.run(names, feeds))) for feeds in batches]


class OnnxEncoder:
    """One exported graph, loaded on first use. `encode(texts)` -> {"embedding": (n, 384) float32 L2-normalised,
    and for the joint graph "sentiment_logits": (n, 5) float32}, rows in the order of `texts`.

    `threads` = 0 uses every core. `processes` > 1 runs the graph in that many worker processes, each with its own
    session of `threads` threads (default 1 each): on small matrices one process per core can beat one process
    with several threads, which synchronise after every operator. The constructor only stores parameters
    (nothing is read or checked); `close()` stops the workers.
    """

    def __init__(self, model_folder: str | Path, kind: str = "embed", precision: str = "fp32",
                 batch_size: int = 64, threads: int = 0, branch_sha256: str | None = None, processes: int = 1):
        self.model_folder = Path(model_folder)
        self.kind = kind
        self.precision = precision
        self.batch_size = batch_size
        self.threads = threads
        self.branch_sha256 = branch_sha256
        self.processes = processes
        self._loaded = False
        self._session: Any = None
        self._pool: Any = None
        self._tokenizer: Any = None
        self._outputs: list[str] = []

    def _load(self) -> None:
        if self._loaded:
            return
        check_model_folder(self.model_folder)
        path, manifest = graph_path(self.model_folder, self.kind, self.precision, self.branch_sha256)
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_folder / "tokenizer.json"))
        tokenizer.no_padding()  # tokenizer.json pads every text to 128 tokens; we pad per batch instead
        tokenizer.enable_truncation(int(manifest.get("max_tokens", 256)))
        if self.processes > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the parent's tokenizer and any runtime threads must not be copied mid-state
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_worker_start, initargs=(str(path), self.threads or 1))
            self._outputs = ["embedding", "sentiment_logits"] if self.kind == "joint" else ["embedding"]
        else:
            self._session = open_session(path, self.threads)
            self._outputs = [o.name for o in self._session.get_outputs()]
        self._tokenizer = tokenizer
        self._loaded = True
        # The sentiment branch was trained on texts cut at fewer tokens than the embedding reads (128 vs 256).
        self._branch_max_tokens = int(manifest.get("branch", {}).get("max_tokens", 0)) if self.kind == "joint" else 0

    @property
    def outputs(self) -> list[str]:
        self._load()
        return list(self._outputs)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text ([CLS] ... [SEP], truncated to the graph's max_tokens)."""
        self._load()
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The graph's outputs for `texts` by name ("embedding", and "sentiment_logits" for the joint graph),
        one row per text in input order."""
        self._load()
        if not len(texts):
            return {name: np.zeros((0, 0), np.float32) for name in self._outputs}
        ids = self.token_ids(texts)
        results = self._run(ids)
        limit = self._branch_max_tokens
        long_rows = [i for i, row in enumerate(ids) if limit and len(row) > limit]
        if long_rows:  # the few texts past the branch's length: its logits from the text cut as in training
            cut = [ids[i][:limit - 1] + ids[i][-1:] for i in long_rows]  # keep the closing [SEP]
            results["sentiment_logits"][long_rows] = self._run(cut)["sentiment_logits"]
        return results

    def close(self) -> None:
        """Stop the worker processes (if any); the encoder loads again on next use."""
        if self._pool is not None:
            self._pool.shutdown()
        self._pool = self._session = None
        self._loaded = False

    def _batches(self, ids: list[list[int]]) -> tuple[list[np.ndarray], list[dict[str, np.ndarray]]]:
        """Row indices and feeds of batches of similar length, each padded to its own longest row."""
        order = np.argsort(np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids)), kind="stable")
        rows, feeds = [], []
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(ids[i]) for i in idx)
            input_ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                input_ids[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            rows.append(idx)
            feeds.append({"input_ids": input_ids, "attention_mask": mask})
        return rows, feeds

    def _run(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        """The graph over token-id lists, in this process or spread over the workers (batch i to worker i mod n)."""
        rows, feeds = self._batches(ids)
        if self._pool is not None:
            n = self.processes
            parts = list(self._pool.map(_worker_run, [feeds[w::n] for w in range(n)]))
            outputs = [None] * len(feeds)
            for w, part in enumerate(parts):
                outputs[w::n] = part
        else:
            outputs = [dict(zip(self._outputs, self._session.run(self._outputs, f))) for f in feeds]
        results: dict[str, np.ndarray] = {}
        for idx, values in zip(rows, outputs):
            for name, value in values.items():
                if name not in results:
                    results[name] = np.empty((len(ids), value.shape[1]), dtype=np.float32)
                results[name][idx] = value
        return results
