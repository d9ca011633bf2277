"""Report-generation benchmark (issue 6): how long `write_report` takes and how big its outputs are.

Builds a synthetic DuckDB store with N comments in bulk upserts (N/50 articles, 2 sentence units per comment plus
3 article sentences and a quoted voice per article, 384-d random L2-normalised embeddings, 12 leaf themes under 3
parent themes plus the "other" theme, unit_themes with 3 representative quotes per theme, vader.v1 sentiment for
every unit and comment, regions for every comment spread over the 12 UK regions with 8% unresolved, dates over
two years), then times `write_report` (report.html, brief.md, brief.xlsx and exports) and prints a Markdown
table: n comments, seconds, report.html MB, brief.md KB, exports MB, each with its ratio to a baseline run at
N=1,000, and the page height in CSS pixels as first shown (cards and articles collapsed) in headless Chromium at
1400 px wide ("–" without Chromium/playwright, or with --no-browser).

Targets: 10,000 comments report in seconds, not minutes, with report.html under 15 MB (issue 6); the page for
12,000 comments under about 15,000 px collapsed (issue 15).

    .venv/bin/python benchmarks/report.py                   # N = 1,000 (baseline), 10,000 and 100,000
    .venv/bin/python benchmarks/report.py --sizes 10000 30000
    .venv/bin/python benchmarks/report.py --sizes 200 --baseline 100    # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.report.stage import write_report
from commentminer.schema import TABLES, UK_REGIONS
from commentminer.store import Store

RUN_ID = "run_bench"
BACKEND = "vader.v1"
RESOLVER = "gazetteer.v1"
WORDS = ("surgery appointment waiting phone doctor nurse funding closure rural patients staff booking app "
         "prescription pharmacy hospital ambulance manager practice council review").split()


def _frame(table: str, rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    return frame[[c for c in TABLES[table].column_names if c in frame.columns]]


def _label(scores: np.ndarray) -> np.ndarray:
    return np.where(scores <= -0.05, "negative", np.where(scores >= 0.05, "positive", "neutral"))


def build_store(store: Store, n_comments: int, seed: int = 0, dim: int = 384) -> Store:
    """Fill `store` with a synthetic corpus of `n_comments` comments and one themed run (see the module doc)."""
    rng = np.random.default_rng(seed)
    n_articles = max(1, n_comments // 50)
    art_ids = np.array([f"a{i}" for i in range(n_articles)])
    start = date(2022, 1, 1)
    store.upsert("articles", _frame("articles", {
        "article_id": art_ids, "source_id": [f"s{i}" for i in range(n_articles)],
        "uri": [f"corpus/a{i}.html" for i in range(n_articles)],
        "url": [f"https://news.example/articles/{i}" for i in range(n_articles)],
        "title": [f"Article {i}: " + " ".join(rng.choice(WORDS, 5)) for i in range(n_articles)],
        "published": [start + timedelta(days=int(d)) for d in rng.integers(0, 730, n_articles)],
        "byline": [f"By Reporter {i % 7}" for i in range(n_articles)], "body": "Body text.", "parser_id": "bench",
    }))
    com_ids = np.array([f"c{i}" for i in range(n_comments)])
    com_art = art_ids[rng.integers(0, n_articles, n_comments)]
    n_people = max(1, int(n_comments * 0.6))
    who = rng.integers(0, n_people, n_comments)
    texts = [" ".join(rng.choice(WORDS, 12)).capitalize() + ". " + " ".join(rng.choice(WORDS, 15)).capitalize() + "."
             for _ in range(n_comments)]
    store.upsert("comments", _frame("comments", {
        "comment_id": com_ids, "article_id": com_art, "source_id": "s", "position": np.arange(n_comments) % 50,
        "text": texts, "name": [f"Person {w}" for w in who], "place": [f"Town {w % 300}" for w in who],
        "withheld": False, "commenter_id": [f"p{w}" for w in who],
    }))
    # units: 2 per comment, 3 article sentences + 1 quote per article
    unit_ids, kinds, u_art, u_com, u_text = [], [], [], [], []
    for i, (cid, aid, text) in enumerate(zip(com_ids, com_art, texts)):
        for j, sentence in enumerate(text.split(". ")):
            unit_ids.append(f"{cid}u{j}"); kinds.append("comment"); u_art.append(aid); u_com.append(cid)
            u_text.append(sentence)
    for aid in art_ids:
        for j in range(4):
            unit_ids.append(f"{aid}u{j}"); kinds.append("quote" if j == 3 else "article"); u_art.append(aid)
            u_com.append(None); u_text.append(" ".join(rng.choice(WORDS, 10)))
    n_units = len(unit_ids)
    hashes = [f"h{i}" for i in range(n_units)]
    store.upsert("units", _frame("units", {
        "unit_id": unit_ids, "kind": kinds, "article_id": u_art, "comment_id": u_com,
        "position": [int(u[-1]) for u in unit_ids], "text": u_text, "char_start": 0,
        "char_end": [len(t) for t in u_text], "text_hash": hashes,
        "speaker": [f"Dr Speaker {i % 40}" if k == "quote" else None for i, k in enumerate(kinds)],
        "place": [None] * n_units, "segmenter_id": "bench",
    }))
    vectors = rng.normal(size=(n_units, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.upsert("embeddings", pd.DataFrame({"text_hash": hashes, "model_id": "bench-384", "dim": dim,
                                             "vector": list(vectors)}))
    # themes: 3 parents (ids 100..102) over 12 leaves (0..11), plus other (-1)
    leaf = rng.integers(-1, 12, n_units)
    store.upsert("themes", _frame("themes", {
        "run_id": RUN_ID, "theme_id": list(range(12)) + [100, 101, 102, -1],
        "label": [f"{WORDS[t]} {WORDS[t + 1]}" for t in range(12)] + ["group a", "group b", "group c", "other"],
        "keywords": [[WORDS[t], WORDS[t + 2]] for t in range(12)] + [[], [], [], []],
        "kind": ["discovered"] * 12 + ["parent"] * 3 + ["other"],
        "n_units": [int((leaf == t).sum()) for t in range(12)] + [0, 0, 0, int((leaf == -1).sum())],
        "n_comments": 0, "n_commenters": 0,
        "parent_id": [100 + t % 3 for t in range(12)] + [None] * 4,
        "summary": [" ".join(rng.choice(WORDS, 20)) for _ in range(16)],
    }))
    quote_rank = np.full(n_units, np.nan)
    for t in range(-1, 12):
        members = np.flatnonzero(leaf == t)[:3]
        quote_rank[members] = np.arange(1, len(members) + 1)
    store.upsert("unit_themes", pd.DataFrame({
        "run_id": RUN_ID, "unit_id": unit_ids, "theme_id": leaf, "probability": rng.random(n_units),
        "quote_rank": pd.array([None if np.isnan(q) else int(q) for q in quote_rank], dtype="Int64"),
    }))
    u_scores = np.clip(rng.normal(0, 0.4, n_units), -1, 1)
    c_scores = np.clip(rng.normal(0, 0.4, n_comments), -1, 1)
    store.upsert("sentiment", pd.DataFrame({
        "target_kind": ["unit"] * n_units + ["comment"] * n_comments,
        "target_id": unit_ids + list(com_ids), "backend_id": BACKEND,
        "label": np.concatenate([_label(u_scores), _label(c_scores)]),
        "score": np.concatenate([u_scores, c_scores]), "confidence": 0.9,
    }))
    region_of_person = np.array(UK_REGIONS + (None,), dtype=object)[rng.integers(0, 13, n_people)]
    region = region_of_person[who]
    store.upsert("regions", _frame("regions", {
        "subject_kind": "comment", "subject_id": com_ids, "resolver_id": RESOLVER,
        "place_raw": [f"Town {w % 300}" for w in who], "region": region,
        "method": ["exact" if r else "none" for r in region], "confidence": [1.0 if r else 0.0 for r in region],
        "reason": [None if r else "not_found" for r in region],
    }))
    config = load_config(overrides=[f"sentiment.backend={BACKEND}", "run.progress=false"])
    store.upsert("runs", _frame("runs", {
        "run_id": [RUN_ID], "started_at": [datetime(2026, 1, 1)], "finished_at": [datetime(2026, 1, 1)],
        "status": ["ok"], "config_json": [config.to_json()], "config_hash": [config.config_hash()],
        "versions_json": ["{}"], "stats_json": ["{}"],
    }))
    return store


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def measure(n_comments: int, workdir: Path, seed: int = 0) -> dict:
    """Build a store of `n_comments`, write the report once and return timings and output sizes."""
    store_path = workdir / f"bench-{n_comments}.duckdb"
    t0 = time.perf_counter()
    with Store(store_path) as store:
        build_store(store, n_comments, seed)
        built = time.perf_counter() - t0
        config = load_config(overrides=["run.progress=false", f"regions.backend={RESOLVER}"])
        out = workdir / f"out-{n_comments}"
        t1 = time.perf_counter()
        outputs = write_report(StageContext.create(store, config, run_id=RUN_ID), out)
        seconds = time.perf_counter() - t1
    return {"n": n_comments, "build_s": built, "seconds": seconds,
            "html_mb": outputs["report"].stat().st_size / 1e6, "brief_kb": outputs["brief"].stat().st_size / 1e3,
            "exports_mb": _size(out / "exports") / 1e6, "report": outputs["report"]}


CHROMIUM = Path("/usr/bin/chromium")


def page_height(report: Path, width: int = 1400) -> int | None:
    """The report's height in CSS pixels as first shown (collapsed) in headless Chromium at `width`; None when
    Chromium or playwright is missing."""
    import importlib.util
    import os

    executable = Path(os.environ.get("COMMENTMINER_CHROMIUM") or CHROMIUM)
    if importlib.util.find_spec("playwright") is None or not executable.is_file():
        return None
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cm-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=str(executable), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            viewport={"width": width, "height": 900})
        try:
            page = context.new_page()
            page.goto(report.resolve().as_uri(), wait_until="load", timeout=120_000)
            return int(page.evaluate("() => document.documentElement.scrollHeight"))
        finally:
            context.close()


def table(results: list[dict], baseline: dict) -> str:
    def ratio(row: dict, key: str) -> str:
        return f"{row[key] / baseline[key]:.1f}×" if baseline[key] else "–"

    lines = ["| comments | report s | vs base | report.html MB | vs base | brief.md KB | vs base | exports MB | vs base |"
             " store build s | page px collapsed |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in [baseline] + results:
        height = f"{row['height_px']:,}" if row.get("height_px") else "–"
        lines.append(f"| {row['n']:,} | {row['seconds']:.1f} | {ratio(row, 'seconds')} | {row['html_mb']:.2f} | "
                     f"{ratio(row, 'html_mb')} | {row['brief_kb']:.1f} | {ratio(row, 'brief_kb')} | "
                     f"{row['exports_mb']:.2f} | {ratio(row, 'exports_mb')} | {row['build_s']:.1f} | {height} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="numbers of comments to time")
    parser.add_argument("--no-browser", action="store_true", help="skip the page-height measurement")
    parser.add_argument("--baseline", type=int, default=1_000, help="the size the ratios compare with")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cm-bench-report-") as tmp:
        work = Path(tmp)
        base = measure(args.baseline, work, args.seed)
        base["height_px"] = None if args.no_browser else page_height(base["report"])
        print(f"# baseline {args.baseline:,}: {base['seconds']:.1f} s", file=sys.stderr)
        results = []
        for n in args.sizes:
            if n == args.baseline:
                continue
            results.append(measure(n, work, args.seed))
            results[-1]["height_px"] = None if args.no_browser else page_height(results[-1]["report"])
            print(f"# {n:,}: {results[-1]['seconds']:.1f} s", file=sys.stderr)
    print(table(results, base))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
