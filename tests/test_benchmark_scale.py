"""benchmarks/scale.py at tiny sizes: the synthetic store is what the stages read, and the script prints its table."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from commentminer.store import Store
from commentminer.store.vectors import read_vectors

from conftest import MODEL_DIR, ROOT


def _load():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _basis(dim: int = 384, k: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    cents = rng.normal(size=(k, dim)).astype(np.float32)
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    labels = np.arange(50) % k
    return {"sentences": np.array([f"sentence {i} about topic {t}" for i, t in enumerate(labels)]),
            "labels": labels.astype(np.int32), "centres": cents, "spread": np.array(0.02)}


def test_synthetic_store_has_units_vectors_around_the_centres_and_logits(tmp_path):
    bench = _load()
    basis = _basis()
    db = tmp_path / "s.duckdb"
    bench.build_synthetic_store(db, 400, basis)
    with Store(db) as store:
        counts = store.counts()
        assert counts["units"] == 400 and counts["comments"] == 100 and counts["embeddings"] == 400
        assert counts["encoder_outputs"] == 400 and counts["articles"] >= 1
        units, vectors, has = read_vectors(store, "SELECT u.text, e.vector FROM units u JOIN embeddings e "
                                                  "ON e.text_hash = u.text_hash ORDER BY u.unit_id")
    assert has.all() and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=2e-3)
    # each vector lies nearest the centre of its text's cluster
    topic = units.text.str.extract(r"topic (\d+)")[0].astype(int).to_numpy()
    assert (np.argmax(vectors @ basis["centres"].T, axis=1) == topic).all()


def test_stage_worker_runs_the_stages_past_embedding_on_a_synthetic_store(tmp_path):
    bench = _load()
    db = tmp_path / "s.duckdb"
    bench.build_synthetic_store(db, 200, _basis())
    sentiment = bench.stage_worker(str(db), "sentiment", "run_s")
    assert sentiment["stats"]["units_scored"] == 200 and sentiment["wall_s"] >= 0
    assert bench.stage_worker(str(db), "themes", "run_s")["stats"]["units"] == 200
    assert bench.stage_worker(str(db), "aggregates", "run_s")["stats"]["rows"] > 0


def test_table_has_one_row_per_measurement_and_leaves_missing_values_blank():
    bench = _load()
    rows = [{"section": "synthetic", "size": "10 units", "stage": "themes", "wall_s": 1.5, "cpu_s": 2.0,
             "peak_rss_mb": 300, "note": "x"},
            {"section": "ray", "size": "5,000 sentences", "stage": "(ray start-up)", "wall_s": 7.1}]  # as scale_ray
    lines = bench.table(rows).splitlines()
    assert lines[0].startswith("| section | size | stage | wall s") and len(lines) == 4
    assert "| synthetic | 10 units | themes | 1.5 | 2.0 | 300 | x |" in lines
    assert lines[3] == "| ray | 5,000 sentences | (ray start-up) | 7.1 |  |  |  |"


def test_script_prints_its_table_at_tiny_sizes():
    if not _load().DATA.is_file():
        pytest.skip(f"needs ../shared/data (SFU C3 comments, not found near {ROOT})")
    if not (MODEL_DIR / "onnx").exists() and not any(MODEL_DIR.glob("*.onnx")):
        pytest.skip(f"needs the MiniLM ONNX graphs in {MODEL_DIR}")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--sizes", "300",
                          "--real-comments", "0", "--incremental-comments", "0", "--centre-sentences", "200"],
                         capture_output=True, text=True, timeout=900, env={"PYTHONPATH": str(ROOT / "src"),
                                                                            "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    table = [line for line in out.stdout.splitlines() if line.startswith("| synthetic")]
    assert [line.split(" | ")[2] for line in table] == ["(build store)", "sentiment", "regions", "themes", "aggregates"]
