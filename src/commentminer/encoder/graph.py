"""Build MiniLM's forward graph with torch and export it to ONNX (a build step; needs torch and onnx).

The sentiment backend `minilm_lora.v1` adapts only the top layers of the same all-MiniLM-L6-v2 the embed stage
uses (LoRA adapters on layers 3-5), so the bottom layers' token states are the same for both. The *joint* graph
runs them once and branches:

    tokens -> embeddings -> layers 0..2 (shared) -+-> base layers 3..5    -> mean pool -> L2 norm -> `embedding`
                                                  +-> adapted layers 3..5 -> mean pool -> head    -> `sentiment_logits`

which costs 1.5 passes instead of 2. The *embed* graph is the plain model (one pass, `embedding` only), used when
the configured sentiment backend does not branch off the encoder.

The layers are written out here (BERT post-LayerNorm encoder, exact GELU, as in the model's config.json) from the
weights in model.safetensors rather than traced through transformers' classes: the exported graph then has no
dependence on a transformers version, and the adapters are merged into plain weight matrices (W + scale * B @ A),
so the sentiment branch costs what a base layer costs.

`export_all` writes every graph (fp32, and int8 by per-channel dynamic quantisation) plus `manifest.json` with the
SHA-256 of each graph file and of the weights it was built from; `runtime.py` checks those before it runs a graph.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..ids import sha256_file

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
MAX_TOKENS = 256          # sentence-transformers' max_seq_length for all-MiniLM-L6-v2 (sentence_bert_config.json)
OPSET = 17
GRAPH_FILES = {           # (graph kind, precision) -> file name inside the onnx folder
    ("embed", "fp32"): "minilm_embed.fp32.onnx",
    ("embed", "int8"): "minilm_embed.int8.onnx",
    ("joint", "fp32"): "minilm_joint.fp32.onnx",
    ("joint", "int8"): "minilm_joint.int8.onnx",
}


def _build_module(model_folder: Path, adapters: dict[str, Any] | None) -> Any:
    """A torch Module: (input_ids, attention_mask) -> embedding [, sentiment_logits].

    `adapters` is None for the embed graph, else {"layers": [3, 4, 5], "deltas": {"<layer>.<target>": W delta},
    "head_w": (5, 384), "head_b": (5,)} for the joint graph.
    """
    import torch
    from safetensors.numpy import load_file

    config = json.loads((model_folder / "config.json").read_text(encoding="utf-8"))
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{model_folder}: not a BERT encoder with exact GELU and absolute positions")
    weights = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
               for k, v in load_file(str(model_folder / "model.safetensors")).items() if v.dtype != np.int64}
    heads = int(config["num_attention_heads"])
    eps = float(config["layer_norm_eps"])
    n_layers = int(config["num_hidden_layers"])

    def linear(prefix: str, delta: Any = None) -> torch.nn.Linear:
        weight = weights[f"{prefix}.weight"]
        layer = torch.nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            layer.weight.copy_(weight if delta is None else weight + delta)
            layer.bias.copy_(weights[f"{prefix}.bias"])
        return layer

    def layer_norm(prefix: str) -> torch.nn.LayerNorm:
        norm = torch.nn.LayerNorm(weights[f"{prefix}.weight"].shape[0], eps=eps)
        with torch.no_grad():
            norm.weight.copy_(weights[f"{prefix}.weight"])
            norm.bias.copy_(weights[f"{prefix}.bias"])
        return norm

    class Layer(torch.nn.Module):
        def __init__(self, index: int, deltas: dict[str, Any]):
            super().__init__()
            p = f"encoder.layer.{index}"
            d = {t: deltas.get(f"{index}.{t}") for t in ("attention.self.query", "attention.self.key",
                                                          "attention.self.value", "attention.output.dense",
                                                          "intermediate.dense", "output.dense")}
            self.query = linear(f"{p}.attention.self.query", d["attention.self.query"])
            self.key = linear(f"{p}.attention.self.key", d["attention.self.key"])
            self.value = linear(f"{p}.attention.self.value", d["attention.self.value"])
            self.attention_out = linear(f"{p}.attention.output.dense", d["attention.output.dense"])
            self.attention_norm = layer_norm(f"{p}.attention.output.LayerNorm")
            self.intermediate = linear(f"{p}.intermediate.dense", d["intermediate.dense"])
            self.out = linear(f"{p}.output.dense", d["output.dense"])
            self.out_norm = layer_norm(f"{p}.output.LayerNorm")
            self.head_dim = self.query.out_features // heads
            self.scale = 1.0 / math.sqrt(self.head_dim)

        def split(self, x: Any) -> Any:
            return x.reshape(x.shape[0], x.shape[1], heads, self.head_dim).transpose(1, 2)

        def forward(self, h: Any, mask_bias: Any) -> Any:
            q, k, v = self.split(self.query(h)), self.split(self.key(h)), self.split(self.value(h))
            scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale + mask_bias
            context = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2)
            context = context.reshape(h.shape[0], h.shape[1], heads * self.head_dim)
            h = self.attention_norm(self.attention_out(context) + h)
            return self.out_norm(self.out(torch.nn.functional.gelu(self.intermediate(h))) + h)

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.word = torch.nn.Embedding.from_pretrained(weights["embeddings.word_embeddings.weight"])
            self.position = torch.nn.Embedding.from_pretrained(weights["embeddings.position_embeddings.weight"])
            self.register_buffer("token_type", weights["embeddings.token_type_embeddings.weight"][0].clone())
            self.embed_norm = layer_norm("embeddings.LayerNorm")
            branch_from = min(adapters["layers"]) if adapters else n_layers
            self.shared = torch.nn.ModuleList(Layer(i, {}) for i in range(branch_from))
            self.base_top = torch.nn.ModuleList(Layer(i, {}) for i in range(branch_from, n_layers))
            self.adapted_top = torch.nn.ModuleList(Layer(i, adapters["deltas"]) for i in range(branch_from, n_layers)) \
                if adapters else None
            if adapters:
                self.head = torch.nn.Linear(adapters["head_w"].shape[1], adapters["head_w"].shape[0])
                with torch.no_grad():
                    self.head.weight.copy_(torch.from_numpy(adapters["head_w"].astype(np.float32)))
                    self.head.bias.copy_(torch.from_numpy(adapters["head_b"].astype(np.float32)))

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            h = self.embed_norm(self.word(input_ids) + self.position(positions)[None] + self.token_type)
            mask = attention_mask.to(h.dtype)
            mask_bias = ((1.0 - mask) * -1e9)[:, None, None, :]
            weights_ = mask[:, :, None]
            count = weights_.sum(1).clamp(min=1e-9)
            for layer in self.shared:
                h = layer(h, mask_bias)
            top = h
            for layer in self.base_top:
                top = layer(top, mask_bias)
            embedding = torch.nn.functional.normalize((top * weights_).sum(1) / count, p=2.0, dim=1)
            if self.adapted_top is None:
                return embedding
            branch = h
            for layer in self.adapted_top:
                branch = layer(branch, mask_bias)
            return embedding, self.head((branch * weights_).sum(1) / count)

    module = Encoder()
    module.eval()
    return module


def adapter_deltas(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> dict[str, Any]:
    """The joint graph's branch from a minilm_lora weights file: merged weight deltas (scale * B @ A) and the head."""
    import torch

    scale = float(meta["lora_alpha"]) / int(meta["lora_rank"])
    deltas = {name: scale * (torch.from_numpy(arrays[f"lora.{name}.B"].astype(np.float32))
                             @ torch.from_numpy(arrays[f"lora.{name}.A"].astype(np.float32)))
              for name in meta["adapters"]}
    return {"layers": [int(i) for i in meta["layers"]], "deltas": deltas,
            "head_w": arrays["head.w"], "head_b": arrays["head.b"]}


def export_graph(module: Any, path: Path, joint: bool) -> None:
    """torch.onnx.export with dynamic batch and token axes."""
    import torch

    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2178, 102, 0, 0, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    outputs = ["embedding", "sentiment_logits"] if joint else ["embedding"]
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            **{name: {0: "batch"} for name in outputs}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=outputs, dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def quantize(source: Path, target: Path) -> None:
    """int8 weights, per output channel, activations quantised on the fly (onnxruntime's dynamic quantiser).

    Only the MatMuls are quantised (the word-embedding lookup stays fp32): per-channel scales keep the vectors
    within cosine ~0.99 of fp32 on this CPU, where the default per-tensor scales lose much more.
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs a generic "consider pre-processing" warning per call
    try:
        quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)


def export_all(model_folder: Path, branch_weights: Path | None, out_folder: Path,
               precisions: tuple[str, ...] = ("fp32", "int8")) -> dict[str, Any]:
    """Export the embed graph (and the joint graph when `branch_weights` is given) at each precision into
    `out_folder`, then write the manifest. Returns the manifest."""
    import torch

    from ..sentiment.lora_model import MAX_TOKENS as BRANCH_MAX_TOKENS, read_weights

    torch.manual_seed(0)
    out_folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT, "max_tokens": MAX_TOKENS, "opset": OPSET,
        "base_model_sha256": sha256_file(model_folder / "model.safetensors"),
        "torch": torch.__version__, "graphs": {},
    }
    kinds: list[tuple[str, dict[str, Any] | None]] = [("embed", None)]
    if branch_weights is not None:
        meta, arrays = read_weights(branch_weights)
        if meta["base_model_sha256"] != manifest["base_model_sha256"]:
            raise ValueError(f"{branch_weights}: adapters trained on another base model than {model_folder}")
        kinds.append(("joint", adapter_deltas(arrays, meta)))
        manifest["branch"] = {"backend": meta.get("backend", "minilm_lora.v1"), "weights": branch_weights.name,
                              "weights_sha256": sha256_file(branch_weights), "layers": meta["layers"],
                              "max_tokens": BRANCH_MAX_TOKENS}
    for kind, adapters in kinds:
        fp32 = out_folder / GRAPH_FILES[(kind, "fp32")]
        export_graph(_build_module(model_folder, adapters), fp32, joint=adapters is not None)
        for precision in precisions:
            path = out_folder / GRAPH_FILES[(kind, precision)]
            if precision == "int8":
                quantize(fp32, path)
            manifest["graphs"][f"{kind}.{precision}"] = {"file": path.name, "sha256": sha256_file(path)}
        if "fp32" not in precisions:
            fp32.unlink()
    (out_folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest
