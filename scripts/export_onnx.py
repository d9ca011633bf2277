#!/usr/bin/env python3
"""Export all-MiniLM-L6-v2 (and the minilm_lora.v1 sentiment branch) to ONNX graphs for the `onnx.v1` embedder.

Writes into MODEL/onnx/: the embed graph and the joint graph (shared bottom layers, sentence vector + sentiment
logits; see src/commentminer/encoder/graph.py), each at fp32 and int8, and manifest.json with the SHA-256 of every
graph and of the weights they were built from. commentminer checks those hashes before it runs a graph.
Re-running is a no-op while the manifest still matches the weights and the graph files. Needs torch and onnx
(installed by `make setup`); `make model` runs it.

Usage: python scripts/export_onnx.py [--model models/all-MiniLM-L6-v2] [--branch-weights FILE.npz] [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from commentminer.encoder.graph import GRAPH_FILES, MANIFEST, export_all  # noqa: E402
from commentminer.ids import sha256_file  # noqa: E402
from commentminer.sentiment.lora_model import DEFAULT_WEIGHTS  # noqa: E402


def up_to_date(model: Path, branch_weights: Path, out: Path) -> bool:
    """True when the manifest was built from these weights and every graph file still has its recorded hash."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("base_model_sha256") != sha256_file(model / "model.safetensors"):
        return False
    if manifest.get("branch", {}).get("weights_sha256") != sha256_file(branch_weights):
        return False
    graphs = manifest.get("graphs", {})
    if set(graphs) != {f"{kind}.{precision}" for kind, precision in GRAPH_FILES}:
        return False
    return all((out / g["file"]).is_file() and sha256_file(out / g["file"]) == g["sha256"] for g in graphs.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/all-MiniLM-L6-v2"))
    parser.add_argument("--branch-weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="minilm_lora.v1 weights (.npz with its .json recipe) for the joint graph's branch")
    parser.add_argument("--force", action="store_true", help="export even when the manifest is up to date")
    args = parser.parse_args()
    out = args.model / "onnx"
    if not (args.model / "model.safetensors").is_file():
        sys.exit(f"export_onnx: {args.model}: no model.safetensors; run `make model` (scripts/fetch_model.py) first")
    if not args.force and up_to_date(args.model, args.branch_weights, out):
        print(f"export_onnx: {out} already up to date")
        return 0
    started = time.perf_counter()
    manifest = export_all(args.model, args.branch_weights, out)
    for name, graph in sorted(manifest["graphs"].items()):
        print(f"export_onnx: {name}: {out / graph['file']} (sha256 {graph['sha256'][:12]}…)")
    print(f"export_onnx: wrote {out / MANIFEST} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
