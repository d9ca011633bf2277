"""The MiniLM encoder shared by the embed and sentiment stages: one forward pass, several heads.

`graph.py` builds the forward graph from the local model folder (and the sentiment adapters) with torch and
exports it to ONNX once, as a build step (`scripts/export_onnx.py`, run by `make model`); `runtime.py` runs the
exported graph with ONNX Runtime and the `tokenizers` library, so an analysis run never imports torch.
"""
