"""The ray engine's embed-stage throughput (issue 12): 1 vs 2 Ray workers of one thread each, and the local
engine vs Ray with one worker, on real SFU C3 news-comment sentences. Prints one Markdown table.

Each round embeds the same `--limit` sentences into a fresh store three ways, in this order:
  - local, 1 thread        the local engine's embed stage ([embed] threads = 1), in this process;
  - ray, 1 worker          the ray engine's embed stage, one worker actor of 1 CPU / 1 ONNX Runtime thread;
  - ray, 2 workers         the same with two workers.
Times are the embed stage's wall seconds (model loading and worker start-up included; Ray's own start-up,
once per process, is its own row). The sentiment branch's logits come from the same pass, as in a default run.
Targets: 2 workers >= 1.7x one worker; Ray with one worker at most 15% slower than local. The last column
checks the rows: largest |ray - local| over every vector component (the engines must agree within 1e-6).

Targets want an idle machine with 2 free cores; the load average at the start is printed with the table.
benchmarks/scale.py calls `ray_rows` for its Ray section.

    .venv/bin/python benchmarks/scale_ray.py                       # 5,000 sentences, 3 rounds
    .venv/bin/python benchmarks/scale_ray.py --limit 500 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
# ../shared/data beside the checkout (or beside a folder above it: a git worktree under the workspace)
C3 = next((p / "shared" / "data" / "sfu_news_comments" / "C3_anonymized.csv" for p in ROOT.parents
           if (p / "shared" / "data").is_dir()), ROOT.parent / "shared" / "data" / "sfu_news_comments" / "C3_anonymized.csv")
MODEL = ROOT / "models" / "all-MiniLM-L6-v2"
PATHS = (("local, 1 thread", "local", 1), ("ray, 1 worker", "ray", 1), ("ray, 2 workers", "ray", 2))
DEFAULT_LIMIT = 5000


def load_sentences(path: Path, limit: int, seed: int = 0) -> list[str]:
    """`limit` distinct sentences (12+ characters) of the C3 comments, seeded sample, spaCy's rule sentencizer."""
    import pandas as pd
    import spacy

    comments = pd.read_csv(path, usecols=["comment_text"])["comment_text"].dropna().astype(str).tolist()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    sentences = sorted({s.text.strip() for doc in nlp.pipe(comments, batch_size=256) for s in doc.sents
                        if len(s.text.strip()) >= 12})
    keep = np.random.default_rng(seed).choice(len(sentences), size=min(limit, len(sentences)), replace=False)
    return [sentences[i] for i in np.sort(keep)]


def build_store(db: Path, sentences: list[str]) -> None:
    """A store whose units are `sentences` (one comment each), nothing embedded yet."""
    import pandas as pd

    from commentminer.ids import sha256_text
    from commentminer.store import Store

    n = len(sentences)
    units = pd.DataFrame({
        "unit_id": [f"u{i:07d}" for i in range(n)], "kind": "comment", "article_id": "a0",
        "comment_id": [f"c{i:07d}" for i in range(n)], "position": 0, "text": sentences, "char_start": 0,
        "char_end": [len(s) for s in sentences], "text_hash": [sha256_text(s) for s in sentences],
        "segmenter_id": "benchmark",
    })
    with Store(db) as store:
        store.upsert("units", units)


def config(engine: str, workers: int):
    from commentminer.config import load_config

    cfg = load_config(overrides=["run.progress=false", f"engine.backend={engine}", f"engine.workers={workers}",
                                 "engine.worker_threads=1", "embed.threads=1", f"embed.model_path={MODEL}"])
    return cfg


def embed_once(db: Path, engine: str, workers: int) -> dict:
    """The embed stage on `db` through `engine`: wall s, this process's CPU s and peak RSS MB."""
    from commentminer import api
    from commentminer.context import StageContext
    from commentminer.engine import make_engine
    from commentminer.store import Store

    cfg = config(engine, workers)
    runner = make_engine(cfg)
    cpu, start = time.process_time(), time.perf_counter()
    with Store(db) as store:
        stats = runner.run_stage("embed", dict(api.ANALYSIS_STAGES)["embed"], StageContext.create(store, cfg))
    wall = time.perf_counter() - start
    runner.close()
    return {"wall_s": round(wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "stats": stats}


def stored_vectors(db: Path) -> np.ndarray:
    """Every stored vector, by text hash, as float32 (FLOAT[] lists, or float16 BLOBs in newer stores)."""
    from commentminer.store import Store

    with Store(db, read_only=True) as store:
        values = store.query("SELECT vector FROM embeddings ORDER BY text_hash")["vector"]
    return np.stack([np.frombuffer(v, "<f2").astype(np.float32) if isinstance(v, (bytes, bytearray, memoryview))
                     else np.asarray(v, np.float32) for v in values])


def ray_rows(args: argparse.Namespace | None = None, work: Path | None = None) -> list[dict]:
    """The table's rows (keys: section, size, stage, wall_s, cpu_s, peak_rss_mb, note), for benchmarks/scale.py.

    Reads `ray_limit` / `ray_rounds` / `ray_address` from `args` when there (defaults: 5,000 sentences, 3 rounds,
    a local Ray instance of 2 CPUs)."""
    import ray

    limit = getattr(args, "ray_limit", None) or DEFAULT_LIMIT
    rounds = getattr(args, "ray_rounds", None) or 3
    address = getattr(args, "ray_address", None)
    if not C3.is_file():
        raise SystemExit(f"{C3}: SFU C3 comments not found (the benchmark needs ../shared/data)")
    sentences = load_sentences(C3, limit)
    size = f"{len(sentences):,} sentences"
    start = time.perf_counter()
    ray.init(address=address, num_cpus=None if address else 2, include_dashboard=False, log_to_driver=False)
    rows = [{"section": "ray", "size": size, "stage": "(ray start-up)", "wall_s": round(time.perf_counter() - start, 2),
             "note": address or "local instance, 2 CPUs"}]
    owned = work is None
    work = Path(tempfile.mkdtemp(prefix="cm_scale_ray_")) if owned else work
    try:
        base = work / "ray_base.duckdb"
        build_store(base, sentences)
        walls: dict[str, list[dict]] = {name: [] for name, _, _ in PATHS}
        dbs: dict[str, Path] = {}
        for round_ in range(rounds):
            for name, engine, workers in PATHS:
                db = work / f"ray_{engine}_{workers}_{round_}.duckdb"
                shutil.copy(base, db)
                walls[name].append(embed_once(db, engine, workers))
                dbs.setdefault(name, db)
        reference = stored_vectors(dbs["local, 1 thread"])
        median = {name: statistics.median(m["wall_s"] for m in got) for name, got in walls.items()}
        for name, engine, workers in PATHS:
            got = walls[name]
            middle = sorted(got, key=lambda m: m["wall_s"])[len(got) // 2]
            note = f"{len(sentences) / median[name]:.0f} sentences/s"
            if engine == "ray":
                diff = float(np.abs(stored_vectors(dbs[name]) - reference).max())
                note += f"; max |ray - local| = {diff:.1e}"
            rows.append({"section": "ray", "size": size, "stage": f"embed: {name}", "wall_s": median[name],
                         "cpu_s": middle["cpu_s"], "peak_rss_mb": middle["peak_rss_mb"], "note": note})
        scaling = median["ray, 1 worker"] / median["ray, 2 workers"]
        overhead = median["ray, 1 worker"] / median["local, 1 thread"] - 1
        rows.append({"section": "ray", "size": size, "stage": "2 workers vs 1",
                     "note": f"{scaling:.2f}x (target >= 1.7x)"})
        rows.append({"section": "ray", "size": size, "stage": "ray 1 worker vs local",
                     "note": f"{overhead:+.0%} wall (target <= +15%)"})
    finally:
        ray.shutdown()
        if owned:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def table(rows: list[dict]) -> str:
    header = ("section", "size", "stage", "wall s", "CPU s (driver)", "peak RSS MB (driver)", "note")
    keys = ("section", "size", "stage", "wall_s", "cpu_s", "peak_rss_mb", "note")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", dest="ray_limit", type=int, default=DEFAULT_LIMIT, help="sentences to embed")
    parser.add_argument("--rounds", dest="ray_rounds", type=int, default=3, help="rounds (the table gives medians)")
    parser.add_argument("--address", dest="ray_address", default=None,
                        help="Ray cluster to join (default: a local instance of 2 CPUs)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    rows = ray_rows(args)
    print(f"load average at start: {load:.2f} ({os.cpu_count()} cores)")
    print(table(rows))


if __name__ == "__main__":
    main()
