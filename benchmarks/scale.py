"""Scale benchmark (issue 12): time and peak memory of the stages past embedding at 10k / 100k / 1M units, the real
path at 10k, and the cost of an incremental run. Prints one Markdown table.

(A) `--synthetic-vectors` (the default for the sizes in `--sizes`): a store of N units whose vectors are drawn
    around real cluster centres, so no model runs. Once per machine, `--centre-sentences` real SFU C3 comment
    sentences are embedded with MiniLM and clustered (KMeans, 40 centres; cached in benchmarks/.cache/); each
    synthetic unit takes one of those real sentences as its text and the sentence's cluster centre plus Gaussian
    noise scaled to the real within-cluster spread as its vector. Comments have 4 units, commenters a place from
    a list of real UK towns, and the sentiment branch's logits are stored as the embed stage would store them.
    Then each stage past embedding runs in its own cold process on that store: sentiment, regions, themes (a
    full fit), and the aggregates (`api.query`: sentiment by theme x region x quarter). Per stage: wall s, CPU s,
    peak RSS MB of that process (os.wait4).
(B) the real path (`--real-comments`, default 2,500 SFU C3 comments, about 10k units): `commentminer run FILE`
    in one cold process; per stage wall / CPU s and the process's peak RSS so far, from the run record.
(C) incremental: `commentminer run` on `--incremental-comments` comments (default 12,000), then, each in a cold
    process, `commentminer run` on 1% more comments into the same store (new units placed into the existing
    themes) and, for reference, the same with `--refit`. Ratio = the +1% run's wall time / the full run's.
(D) Ray (`--ray`): the rows of benchmarks/scale_ray.py (embed throughput, 1 vs 2 workers; local vs Ray).

Run it on an idle machine for numbers worth quoting; the load average at the start is printed with the table.

    .venv/bin/python benchmarks/scale.py                                    # 10k, 100k, 1M; real 10k; 12k incr.
    .venv/bin/python benchmarks/scale.py --sizes 2000 --real-comments 200 --incremental-comments 400   # quick
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout (or beside a folder above it: a git worktree under the workspace)
DATA = next((p / "shared" / "data" / "sfu_news_comments" / "C3_anonymized.csv" for p in ROOT.parents
             if (p / "shared" / "data").is_dir()), ROOT.parent / "shared" / "data" / "sfu_news_comments" / "C3_anonymized.csv")
MODEL = ROOT / "models" / "all-MiniLM-L6-v2"
CACHE = ROOT / "benchmarks" / ".cache"
TEXT_COLUMN = "comment_text"
RESULT_MARK = "SCALE_RESULT "
N_CENTRES = 40
UNITS_PER_COMMENT = 4
TOWNS = ("Leeds", "Bristol", "Manchester", "Norwich", "Cardiff", "Glasgow", "Belfast", "Brighton", "York", "Exeter",
         "Newcastle", "Nottingham", "Birmingham", "Cambridge", "Swansea", "Aberdeen", "Derry", "Plymouth")
SYNTHETIC_STAGES = ("sentiment", "regions", "themes", "aggregates")
BUILD_CHUNK = 100_000


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def read_comments(path: Path, limit: int | None, skip: int = 0) -> list[str]:
    """Non-empty comment texts of the SFU C3 CSV, rows skip .. skip + limit."""
    out = []
    with open(path, newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            if i < skip:
                continue
            if limit is not None and len(out) >= limit:
                break
            if (row.get(TEXT_COLUMN) or "").strip():
                out.append(row[TEXT_COLUMN])
    return out


def write_csv(path: Path, texts: list[str], start: int = 0) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["comment_id", "article_id", "article_title", "text", "name"])
        for i, text in enumerate(texts, start=start):
            writer.writerow([f"c{i}", f"a{i // 40}", f"Article {i // 40}", text, f"Reader {i % 997}"])
    return path


# -- (A) synthetic vectors around real centres ---------------------------------------------------------------

def centres(n_sentences: int) -> dict:
    """Real sentences, their cluster and the cluster centres / spread (cached in benchmarks/.cache/)."""
    import numpy as np

    path = CACHE / f"scale_centres_{n_sentences}.npz"
    if path.is_file():
        data = np.load(path, allow_pickle=False)
        return {k: data[k] for k in data.files}
    sys.path.insert(0, str(ROOT / "src"))
    from sklearn.cluster import KMeans

    from commentminer.embed.onnx_embedder import OnnxEmbedder

    sentences: list[str] = []
    for text in read_comments(DATA, None):
        sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 4 <= len(s.split()) <= 60]
        if len(sentences) >= n_sentences:
            break
    sentences = sentences[:n_sentences]
    vectors = np.asarray(OnnxEmbedder(model_path=str(MODEL)).embed(sentences), np.float32)
    km = KMeans(N_CENTRES, n_init=3, random_state=0).fit(vectors)
    cents = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
    # per-dimension noise that gives the real mean cosine of a sentence to its centre
    spread = float(np.sqrt(np.mean(np.sum((vectors - km.cluster_centers_[km.labels_]) ** 2, axis=1)) / vectors.shape[1]))
    result = {"sentences": np.array(sentences), "labels": km.labels_.astype(np.int32),
              "centres": cents.astype(np.float32), "spread": np.array(spread)}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **result)
    return result


def build_synthetic_store(db: Path, n_units: int, basis: dict, seed: int = 0) -> None:
    """A store of `n_units` comment units (4 per comment) with synthetic vectors and branch logits (see doc)."""
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT / "src"))
    from commentminer.config import load_config
    from commentminer.context import StageContext
    from commentminer.ids import sha256_text
    from commentminer.sentiment.stage import build_model
    from commentminer.store import Store

    rng = np.random.default_rng(seed)
    sentences, labels, cents = basis["sentences"], basis["labels"], basis["centres"]
    spread = float(basis["spread"])
    n_comments = max(1, n_units // UNITS_PER_COMMENT)
    n_articles = max(1, n_comments // 40)
    with Store(db) as store:
        ctx = StageContext.create(store, load_config(overrides=["run.progress=false"]))
        output_id = build_model(ctx).backend_id
        model_id = _model_id(ctx)
        store.upsert("articles", pd.DataFrame({
            "article_id": [f"a{i}" for i in range(n_articles)], "title": [f"Article {i}" for i in range(n_articles)],
            "body": "", "published": pd.Timestamp("2016-01-01") + pd.to_timedelta(np.arange(n_articles) % 700, "D")}))
        for start in range(0, n_comments, BUILD_CHUNK // UNITS_PER_COMMENT):
            ids = np.arange(start, min(n_comments, start + BUILD_CHUNK // UNITS_PER_COMMENT))
            people = rng.integers(0, max(1, n_comments // 2), len(ids))
            store.upsert("comments", pd.DataFrame({
                "comment_id": [f"c{i}" for i in ids], "article_id": [f"a{i // 40}" for i in ids],
                "position": ids % 40, "text": "", "name": [f"Reader {p}" for p in people],
                "place": [TOWNS[p % len(TOWNS)] for p in people], "withheld": False,
                "commenter_id": [f"p{p}" for p in people]}))
            n = len(ids) * UNITS_PER_COMMENT
            pick = rng.integers(0, len(sentences), n)
            texts = sentences[pick]
            unit_ids = [f"c{i}u{j}" for i in ids for j in range(UNITS_PER_COMMENT)]
            hashes = [sha256_text(u) for u in unit_ids]  # every unit its own vector
            store.upsert("units", pd.DataFrame({
                "unit_id": unit_ids, "kind": "comment", "article_id": [f"a{i // 40}" for i in ids for _ in range(4)],
                "comment_id": [f"c{i}" for i in ids for _ in range(4)], "position": np.tile(np.arange(4), len(ids)),
                "text": texts, "char_start": 0, "char_end": [len(t) for t in texts], "text_hash": hashes,
                "segmenter_id": "bench"}))
            vectors = cents[labels[pick]] + spread * rng.standard_normal((n, cents.shape[1]), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            with store.transaction():
                store.upsert_vectors("embeddings", {"text_hash": hashes, "model_id": model_id, "dim": cents.shape[1]},
                                     "vector", vectors, transaction=False)
                store.upsert_vectors("encoder_outputs", {"text_hash": hashes, "output_id": output_id}, "output",
                                     rng.normal(size=(n, 5)).astype(np.float32), transaction=False)


def _model_id(ctx) -> str:
    from commentminer.embed.stage import build_embedder

    return build_embedder(ctx).model_id


def stage_worker(db: str, stage: str, run_id: str) -> dict:
    """One stage (or the aggregates) on the store `db` in this process; returns wall and CPU seconds."""
    sys.path.insert(0, str(ROOT / "src"))
    start, cpu = time.perf_counter(), time.process_time()
    from commentminer import api
    from commentminer.config import load_config
    from commentminer.context import StageContext
    from commentminer.store import Store

    cfg = load_config(overrides=["run.progress=false", "voices.enabled=false"])
    if stage == "aggregates":
        frame = api.query("sentiment", by="theme,region,quarter", run_id=run_id, db=db, config=cfg)
        stats = {"rows": len(frame)}
    else:
        target = dict(api.ANALYSIS_STAGES)[stage]
        with Store(db) as store:
            if stage == "themes":  # the aggregates read a finished run
                api._record_run(store, cfg, run_id, status="running", stats={})
            stats = api._stage(target)(StageContext.create(store, cfg, run_id=run_id))
            if stage == "themes":
                api._record_run(store, cfg, run_id, status="ok", stats={"themes": stats})
    return {"wall_s": round(time.perf_counter() - start, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "stats": {k: v for k, v in stats.items() if isinstance(v, (int, float, str))}}


def measured(cmd: list[str]) -> dict:
    """`cmd` as a cold child process: wall s, and CPU s and peak RSS MB from os.wait4 on it; plus the JSON of its
    last SCALE_RESULT line. Output goes to temporary files (a full pipe would block the child)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{stderr[-3000:]}")
    result = {}
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK):])
    per_mb = 2**20 if sys.platform == "darwin" else 2**10
    # A child's ru_maxrss starts at this process's RSS (fork copies it before exec): this process imports nothing
    # heavy, and workers report their own high-water mark (VmHWM, reset by exec) where /proc has it.
    peak = result.pop("vm_hwm_mb", None) or round(usage.ru_maxrss / per_mb)
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mb": peak,
            **result}


def vm_hwm_mb() -> int | None:
    """This process's peak resident memory (VmHWM, MB), or None without /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def synthetic_rows(sizes: list[int], basis_sentences: int, work: Path) -> list[dict]:
    rows = []
    for n in sizes:
        db = work / f"synthetic_{n}.duckdb"
        build = measured([sys.executable, __file__, "--build-worker", str(db), "--units", str(n),
                          "--centre-sentences", str(basis_sentences)])
        rows.append({"section": "synthetic", "size": f"{n:,} units", "stage": "(build store)", **build})
        for stage in SYNTHETIC_STAGES:
            got = measured([sys.executable, __file__, "--stage-worker", stage, "--db", str(db), "--run-id", "run_scale"])
            note = ", ".join(f"{k}={v}" for k, v in got.pop("stats", {}).items()
                             if k in ("units", "themes", "outlier_share", "units_scored", "rows", "strategy"))
            rows.append({"section": "synthetic", "size": f"{n:,} units", "stage": stage, **got, "note": note})
        db.unlink(missing_ok=True)
    return rows


# -- (B) the real path, (C) incremental ------------------------------------------------------------------------

def cli_run(paths: list[Path], out: Path, extra: list[str] = ()) -> dict:
    """`commentminer run PATHS --out OUT` in a cold process; its run record's stage timings (read by another
    process: this one stays small, see `measured`)."""
    got = measured([sys.executable, "-m", "commentminer.cli", "run", *map(str, paths), "--out", str(out), "-q", *extra])
    stats = measured([sys.executable, __file__, "--stats-worker", str(out / "commentminer.duckdb")])["stats"]
    return {**got, "stats": stats}


def real_rows(n_comments: int, work: Path) -> list[dict]:
    texts = read_comments(DATA, n_comments)
    got = cli_run([write_csv(work / "real.csv", texts)], work / "real")
    units = got["stats"].get("themes", {}).get("units", 0)
    rows = [{"section": "real", "size": f"{len(texts):,} comments ({units:,} units)", "stage": "run (total)",
             **{k: got[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")}}]
    for t in got["stats"]["timings"]:
        if t["stage"] != "total":
            rows.append({"section": "real", "size": "", "stage": t["stage"], "wall_s": round(t["wall_s"], 2),
                         "cpu_s": round(t["cpu_s"], 2), "peak_rss_mb": round(t["peak_rss_mb"]),
                         "note": "peak RSS of the process so far"})
    return rows


def incremental_rows(n_comments: int, work: Path) -> list[dict]:
    extra = max(1, n_comments // 100)
    texts = read_comments(DATA, n_comments + 2 * extra)
    base, more, again = texts[:n_comments], texts[n_comments:n_comments + extra], texts[n_comments + extra:]
    out = work / "incremental"
    full = cli_run([write_csv(work / "base.csv", base)], out)
    added = cli_run([write_csv(work / "more.csv", more, start=n_comments)], out)
    refit = cli_run([write_csv(work / "again.csv", again, start=n_comments + extra)], out, ["--refit"])
    size = f"{n_comments:,} comments + {extra:,}"
    rows = []
    for name, got in (("full run", full), ("+1% comments (incremental)", added), ("+1% comments --refit", refit)):
        themes = got["stats"].get("themes", {})
        ratio = got["wall_s"] / full["wall_s"] if full["wall_s"] else float("nan")
        by_stage = ", ".join(f"{t['stage']} {t['wall_s']:.1f}" for t in got["stats"]["timings"] if t["stage"] != "total")
        rows.append({"section": "incremental", "size": size, "stage": name,
                     **{k: got[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")},
                     "note": f"ratio {ratio:.1%}; themes {themes.get('mode', '?')}; {by_stage}"})
    return rows


# -- (D) RAY ROWS -------------------------------------------------------------------------------------------------
# benchmarks/scale_ray.py (the Ray engine's benchmark) gives the rows (section "ray", same keys as above): embed
# throughput with 1 vs 2 workers of one thread each, and the local engine vs Ray with one worker.
def ray_rows(args: argparse.Namespace, work: Path) -> list[dict]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale_ray import ray_rows as rows_of  # type: ignore[import-not-found]

    return rows_of(args, work)


# -- table ------------------------------------------------------------------------------------------------------

def table(rows: list[dict]) -> str:
    header = ("section", "size", "stage", "wall s", "CPU s", "peak RSS MB", "note")
    keys = ("section", "size", "stage", "wall_s", "cpu_s", "peak_rss_mb", "note")
    body = [[str(r.get(k, "")) for k in keys] for r in rows]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(b) + " |" for b in body)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="synthetic store sizes in units ('' = none)")
    parser.add_argument("--synthetic-vectors", action="store_true", default=True,
                        help="synthetic vectors around real centres for --sizes (the only mode for them)")
    parser.add_argument("--centre-sentences", type=int, default=3000, help="real sentences the centres come from")
    parser.add_argument("--real-comments", type=int, default=2500, help="real path: SFU C3 comments (0 = skip)")
    parser.add_argument("--incremental-comments", type=int, default=12000, help="incremental: store size (0 = skip)")
    parser.add_argument("--ray", action="store_true", help="also the Ray rows (benchmarks/scale_ray.py)")
    parser.add_argument("--ray-limit", type=int, default=None, help="Ray rows: real sentences (default 5,000)")
    parser.add_argument("--ray-rounds", type=int, default=None, help="Ray rows: alternating rounds (default 3)")
    parser.add_argument("--ray-address", default=None, help="Ray rows: cluster to join (default: a local instance)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--centres-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stats-worker", help=argparse.SUPPRESS)
    parser.add_argument("--build-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--units", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stage-worker", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.centres_worker:
        centres(args.centre_sentences)
        return
    if args.stats_worker:
        sys.path.insert(0, str(ROOT / "src"))
        from commentminer import api

        print(RESULT_MARK + json.dumps({"stats": api.run_stats(db=args.stats_worker)}, default=str))
        return
    if args.build_worker:
        build_synthetic_store(args.build_worker, args.units, centres(args.centre_sentences))
        print(RESULT_MARK + json.dumps({"stats": {"units": args.units}, "vm_hwm_mb": vm_hwm_mb()}))
        return
    if args.stage_worker:
        result = stage_worker(args.db, args.stage_worker, args.run_id)
        print(RESULT_MARK + json.dumps({**result, "vm_hwm_mb": vm_hwm_mb()}, default=str))
        return
    if not DATA.is_file():
        raise SystemExit(f"{DATA}: SFU C3 comments not found (the benchmark needs ../shared/data)")
    load = os.getloadavg()[0]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="cm_scale_") as tmp:
        work = Path(tmp)
        if sizes:  # embed the basis once, outside the timed processes (and outside this one)
            measured([sys.executable, __file__, "--centres-worker", "--centre-sentences", str(args.centre_sentences)])
            rows += synthetic_rows(sizes, args.centre_sentences, work)
        if args.real_comments:
            rows += real_rows(args.real_comments, work)
        if args.incremental_comments:
            rows += incremental_rows(args.incremental_comments, work)
        if args.ray:
            rows += ray_rows(args, work)
    print(f"load average at start: {load:.2f} (2 cores); peak RSS = the process's high-water mark")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
