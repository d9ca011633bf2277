"""Model-based sentiment from MiniLM fine-tuned with LoRA adapters (`minilm_lora.v1`).

The same all-MiniLM-L6-v2 the embed stage uses, with low-rank adapters (LoRA, Hu et al. 2021) on the linear layers
of its top transformer layers and a linear head on the mean-pooled token states, trained by
scripts/train_sentiment_lora.py (recipe, data and licences in `data/minilm_lora_sentiment.json`). Only the adapters
and the head ship (`data/minilm_lora_sentiment.npz`, float16, no pickle); the base model comes from the local model
folder (`[embed] model_path`), and the weights' recipe records the base model's SHA-256, which is checked on load.

Unlike minilm_mlp.v1 it cannot use the stored sentence vectors (the fine-tuned layers change them). The adapters
touch only layers 3-5, so it runs as a branch of the embedding model's pass: `scripts/export_onnx.py` exports one
ONNX graph with the adapters merged into the top layers' weights, sharing layers 0-2 with the plain model (see
commentminer/encoder/graph.py). The embed stage runs that graph and stores the branch's logits; the sentiment stage
scores from them, and runs the graph itself only for texts whose logits are not stored. The branch reads the first
128 tokens of a text, as in training. From the head's probabilities over SST-5's five classes:

- model score = expected class value on (-1, -0.5, 0, 0.5, 1);
- score = (1 - w) * model score + w * VADER compound, with the blend weight w stored with the weights (chosen on
  training-side held-out data, never on the evaluation sets; the shipped weights chose w = 0, the model alone),
  so in [-1, 1];
- label = negative / neutral / positive by the neutral band stored with the weights (learnt on SST-5 dev);
- confidence = the model's probability of that label (classes 0+1, 2 or 3+4 summed), in [0, 1].

The backend id carries a hash of the weights file. Before loading, the file's SHA-256 must equal the one in its
recipe (`<weights>.json` next to it): a truncated or edited file is an error, not silently different scores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError
from ..ids import sha256_file
from .base import SentimentScore, label_for, weights_backend_id
from .embedding_model import LABEL_GROUPS

NAME = "minilm_lora.v1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "minilm_lora_sentiment.npz"
DEFAULT_MODEL_PATH = "models/all-MiniLM-L6-v2"
# The linear layers of a BertLayer that get adapters, by their path inside the layer.
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")
MAX_TOKENS = 128
INFER_BATCH = 64


def _get(module: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _set(module: Any, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        module = getattr(module, part)
    setattr(module, last, value)


def load_base(model_path: str | Path, threads: int = 0):
    """(tokenizer, BertModel) from the local sentence-transformers folder, eval mode, no hub access."""
    from ..encoder.runtime import check_model_folder

    folder = Path(model_path)
    check_model_folder(folder)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    if threads:
        torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager")
    model.eval()
    return tokenizer, model


def add_lora(model: Any, layers: Sequence[int], rank: int, alpha: float, seed: int) -> dict[str, Any]:
    """Wrap the TARGETS linears of `layers` in trainable LoRA modules (base weights frozen); returns them by name
    `"<layer>.<target>"`. A is Kaiming-uniform-like (seeded), B zero, so training starts at the base model."""
    import torch

    for p in model.parameters():
        p.requires_grad_(False)

    class LoRALinear(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear, generator: torch.Generator):
            super().__init__()
            self.base = base
            bound = 1.0 / base.in_features ** 0.5
            self.A = torch.nn.Parameter((torch.rand(rank, base.in_features, generator=generator) * 2 - 1) * bound)
            self.B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            self.scale = alpha / rank

        def forward(self, x):
            return self.base(x) + (x @ self.A.t()) @ self.B.t() * self.scale

    generator = torch.Generator().manual_seed(seed)
    wrapped = {}
    for i in layers:
        layer = model.encoder.layer[i]
        for target in TARGETS:
            module = LoRALinear(_get(layer, target), generator)
            _set(layer, target, module)
            wrapped[f"{i}.{target}"] = module
    return wrapped


def merge_lora(model: Any, adapters: dict[str, tuple[np.ndarray, np.ndarray]], scale: float) -> None:
    """W += scale * B @ A for every adapter (plain linears stay plain: inference costs what the base model costs)."""
    import torch

    with torch.no_grad():
        for name, (a, b) in adapters.items():
            index, target = name.split(".", 1)
            linear = _get(model.encoder.layer[int(index)], target)
            delta = torch.from_numpy(b.astype(np.float32)) @ torch.from_numpy(a.astype(np.float32))
            linear.weight += scale * delta


def reference_probabilities(weights_path: Path, model_path: str | Path, texts: Sequence[str], threads: int = 0,
                            batch_size: int = INFER_BATCH) -> np.ndarray:
    """(n, 5) class probabilities computed by torch: the base model with the adapters merged, texts cut at
    MAX_TOKENS. The training script selects the blend weight and neutral band with it (the ONNX graph for new
    weights is exported only afterwards), and tests check the exported graph against it."""
    import torch

    meta, arrays = read_weights(Path(weights_path))
    tokenizer, model = load_base(model_path, threads)
    merge_lora(model, {n: (arrays[f"lora.{n}.A"], arrays[f"lora.{n}.B"]) for n in meta["adapters"]},
               float(meta["lora_alpha"]) / int(meta["lora_rank"]))
    head_w = torch.from_numpy(arrays["head.w"].astype(np.float32))
    head_b = torch.from_numpy(arrays["head.b"].astype(np.float32))
    texts = list(texts)
    out = np.zeros((len(texts), 5), dtype=np.float64)
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]]
    order = np.argsort(lengths, kind="stable")
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=MAX_TOKENS,
                              return_tensors="pt")
            logits = mean_pool(model(**batch).last_hidden_state, batch["attention_mask"]) @ head_w.t() + head_b
            out[idx] = softmax(logits.double().numpy())
    return out


def mean_pool(hidden: Any, mask: Any) -> Any:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def read_weights(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a weights file after checking its SHA-256 against the recipe next to it."""
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"{path}: sentiment weights not found; run `.venv/bin/python scripts/train_sentiment_lora.py`")
    recipe_path = path.with_suffix(".json")
    if not recipe_path.is_file():
        raise BackendError(f"{path}: its recipe {recipe_path.name} (with the weights' sha256) is missing")
    try:
        expected = json.loads(recipe_path.read_text(encoding="utf-8"))["weights_sha256"]
    except (ValueError, KeyError) as exc:
        raise BackendError(f"{recipe_path}: not a weights recipe with a weights_sha256 ({exc})") from None
    actual = sha256_file(path)
    if actual != expected:
        raise BackendError(f"{path}: sha256 {actual[:12]}… does not match {expected[:12]}… in {recipe_path.name}; "
                           "the weights file is corrupt or was changed without its recipe (re-train or restore it)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same error for the user
        raise BackendError(f"{path}: unreadable sentiment weights ({type(exc).__name__}: {exc})") from None
    return meta, arrays


class LoraSentiment:
    """MiniLM + LoRA adapters + linear head (+ VADER blend); see the module docstring.

    Runs as the sentiment branch of the exported joint MiniLM graph (commentminer/encoder): when the embed stage
    ran that graph, the stage hands this backend the stored logits (`score_logits`) and no model runs here;
    otherwise `score` runs the graph itself. `precision` is [embed] precision ("int8" changes the backend id, so
    int8 scores never mix with fp32 ones). `neutral_threshold` from the config is not used (the band comes with
    the weights); `weights_path` "" means the packaged weights; `model_path` is the base model folder (the stage
    passes `[embed] model_path`).
    """

    needs_embeddings = False
    encoder_branch = True   # the embed stage can compute this backend's logits in its own pass

    def __init__(self, neutral_threshold: float = 0.05, weights_path: str = "", model_path: str = DEFAULT_MODEL_PATH,
                 batch_size: int = INFER_BATCH, threads: int = 0, precision: str = "fp32"):
        self.weights_path = Path(weights_path) if weights_path else DEFAULT_WEIGHTS
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self.threads = threads
        self.precision = precision
        self._meta: dict[str, Any] | None = None
        self._arrays: dict[str, np.ndarray] = {}
        self._encoder: Any = None
        self._analyzer: Any = None
        self._backend_id: str | None = None

    @property
    def backend_id(self) -> str:
        if self._backend_id is None:
            base = weights_backend_id(NAME, self.weights_path, "scripts/train_sentiment_lora.py")
            self._backend_id = base if self.precision == "fp32" else f"{base}+{self.precision}"
        return self._backend_id

    @property
    def meta(self) -> dict[str, Any]:
        """Metadata stored with the weights (checked against the recipe's sha256 first)."""
        if self._meta is None:
            self._meta, self._arrays = read_weights(self.weights_path)
        return self._meta

    @property
    def neutral_threshold(self) -> float:
        return float(self.meta["neutral_band"])

    @property
    def vader_weight(self) -> float:
        return float(self.meta["vader_weight"])

    def _load(self) -> None:
        if self._encoder is not None:
            return
        meta = self.meta
        from ..encoder.runtime import OnnxEncoder, check_model_folder, file_sha256

        check_model_folder(self.model_path)
        base_sha = file_sha256(self.model_path / "model.safetensors")  # the graph check reuses this hash
        if base_sha != meta["base_model_sha256"]:
            raise BackendError(f"{NAME}: the adapters were trained on {meta['base_model']} with model.safetensors "
                               f"sha256 {meta['base_model_sha256'][:12]}…, but {self.model_path} has {base_sha[:12]}…; "
                               "set [embed] model_path to that model")
        self._encoder = OnnxEncoder(self.model_path, "joint", self.precision, self.batch_size, self.threads,
                                    branch_sha256=sha256_file(self.weights_path))

    def _vader(self, texts: Sequence[str]) -> np.ndarray:
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        return np.array([self._analyzer.polarity_scores(t)["compound"] for t in texts], dtype=np.float64)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 5) head logits over SST-5's classes from one pass of the joint graph."""
        self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, 5), dtype=np.float32)
        return self._encoder.encode(texts)["sentiment_logits"]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 5) probabilities over SST-5's classes from the fine-tuned model alone."""
        return softmax(np.asarray(self.logits(texts), dtype=np.float64)) if len(texts) else np.zeros((0, 5))

    def _scores(self, texts: Sequence[str], probs: np.ndarray) -> list[SentimentScore]:
        model_score = probs @ np.asarray(self.meta["class_values"], dtype=np.float64)
        w = self.vader_weight
        scores = np.clip((1 - w) * model_score + (w * self._vader(texts) if w else 0.0), -1.0, 1.0)
        band = self.neutral_threshold
        results = []
        for p, s in zip(probs, scores):
            label = label_for(float(s), band) if band > 0 else ("positive" if s > 0 else "negative")
            confidence = float(min(1.0, max(0.0, sum(p[i] for i in LABEL_GROUPS[label]))))
            results.append(SentimentScore(label=label, score=round(float(s), 6), confidence=round(confidence, 4)))
        return results

    def score_with_probabilities(self, texts: Sequence[str]) -> tuple[list[SentimentScore], np.ndarray]:
        """The scores and the model's (n, 5) class probabilities from one pass."""
        if not len(texts):
            return [], np.zeros((0, 5))
        probs = self.probabilities(texts)
        return self._scores(texts, probs), probs

    def score_logits(self, texts: Sequence[str], logits: np.ndarray) -> list[SentimentScore]:
        """Scores from logits the embed stage already computed for `texts` (the joint graph's branch output)."""
        if not len(texts):
            return []
        return self._scores(texts, softmax(np.asarray(logits, dtype=np.float64)))

    def score(self, texts: Sequence[str], vectors: Any = None) -> list[SentimentScore]:
        """`vectors` is accepted and ignored (this backend embeds with its own fine-tuned layers)."""
        return self.score_with_probabilities(texts)[0]
