"""End-to-end benchmark (issue 11): the pipeline a user would write in an afternoon vs `commentminer run`.

(A) the peer pipeline, written here (`--peer-worker`): pandas reads the CSV's `comment_text` column → spaCy's
rule-based sentencizer (`spacy.blank("en")` + "sentencizer", `nlp.pipe`) → sentence-transformers
all-MiniLM-L6-v2 from models/all-MiniLM-L6-v2 (batch 64, `normalize_embeddings=True`) → `BERTopic()` with its
defaults fit on the precomputed vectors → VADER per sentence. It prints its own stage times (wall s and CPU s:
import, read, segment, embed, themes, sentiment) as JSON.
(B) `commentminer run FILE --out DIR` with defaults (the real CLI, a fresh output folder and store each time),
and once more per `--variants` entry with those extra arguments (default: also `--fast`, the int8 graph);
its stage times are read back from `runs.stats_json` of the store it wrote (OUT/commentminer.duckdb).

Each is a cold subprocess, run back to back and alternating A B B' A B B' over --rounds rounds (default 3), on the SFU
C3 comments (../shared/data/sfu_news_comments/C3_anonymized.csv: 12,000 comments, 12.9 MB) or the first
--limit N of them (written to a smaller CSV in a temporary folder). Per process: wall s, CPU s (user + system of
the child and anything it waited for, from os.wait4), peak RSS MB (the child's ru_maxrss from os.wait4: the
largest single process of its tree), tree RSS MB (the sum of VmRSS over the child and its descendants, sampled
every 0.5 s: an upper bound when worker processes share pages), per-stage wall/CPU s, and the quality columns:
units themed, topics/themes, and the outlier (-1) / "other" share. It prints one Markdown table (each round and
the median) and, per commentminer variant, the median ratio peer / commentminer of wall time and of peak RSS
(over the rounds' ratios).

For numbers worth quoting run it on an idle machine: the two pipelines share the cores with whatever else runs
(the load average at the start is printed with the table).

    .venv/bin/python benchmarks/e2e.py                          # 12,000 comments, 3 rounds (about 40 min)
    .venv/bin/python benchmarks/e2e.py --limit 200 --rounds 1   # a quick check (a couple of minutes)
    .venv/bin/python benchmarks/e2e.py --json results.json      # also keep every measurement
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sfu_news_comments" / "C3_anonymized.csv"
MODEL = ROOT / "models" / "all-MiniLM-L6-v2"
TEXT_COLUMN = "comment_text"
RESULT_MARK = "E2E_RESULT "      # the peer worker's last stdout line: this mark, then its JSON result
PEER, CM = "peer", "commentminer"
RSS_SAMPLE_SECONDS = 0.5


# -- (A) the peer pipeline ------------------------------------------------------------------------------------

def peer_worker(csv_path: Path, model: Path) -> dict:
    """The afternoon pipeline on `csv_path`; returns stage times, sentence count, topics and outlier share."""
    stages: dict[str, dict] = {}
    mark = [time.perf_counter(), time.process_time()]

    def done(name: str) -> None:
        now = [time.perf_counter(), time.process_time()]
        stages[name] = {"wall_s": round(now[0] - mark[0], 3), "cpu_s": round(now[1] - mark[1], 3)}
        mark[:] = now

    import pandas as pd
    import spacy
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    done("import")

    texts = pd.read_csv(csv_path)[TEXT_COLUMN].dropna().astype(str).tolist()
    done("read")

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    sentences = [s.text.strip() for doc in nlp.pipe(texts, batch_size=256) for s in doc.sents if s.text.strip()]
    done("segment")

    encoder = SentenceTransformer(str(model), device="cpu")
    embeddings = encoder.encode(sentences, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    done("embed")

    topics, error = None, None
    try:
        topics, _ = BERTopic().fit_transform(sentences, embeddings)
    except Exception as exc:  # BERTopic's defaults cannot fit a handful of sentences; say so in the table
        error = f"{type(exc).__name__}: {exc}"
    done("themes")

    analyzer = SentimentIntensityAnalyzer()
    scores = [analyzer.polarity_scores(s)["compound"] for s in sentences]
    done("sentiment")

    result = {"stages": stages, "units": len(sentences), "comments": len(texts), "scored": len(scores)}
    if topics is not None:
        result["topics"] = len({t for t in topics if t != -1})
        result["outlier_share"] = sum(1 for t in topics if t == -1) / max(len(topics), 1)
    else:
        result.update(topics=None, outlier_share=None, error=error)
    return result


def parse_peer_output(stdout: str) -> dict:
    """The JSON result from the peer worker's stdout (its last line that starts with RESULT_MARK)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK):])
    raise ValueError("the peer worker printed no result line (see its stderr)")


# -- (B) commentminer's own record ----------------------------------------------------------------------------

def commentminer_summary(stats: dict) -> dict:
    """Stage times and quality columns from a run's stats_json (as `commentminer run` stores it)."""
    timings = stats.get("timings", [])
    stages = {row["stage"]: {"wall_s": row["wall_s"], "cpu_s": row["cpu_s"]} for row in timings
              if row["stage"] != "total"}
    total = next((row for row in timings if row["stage"] == "total"), None)
    themes = stats.get("themes", {})
    return {"stages": stages, "total": total, "units": themes.get("units"), "topics": themes.get("themes"),
            "outlier_share": themes.get("outlier_share")}


def read_run_stats(db: Path) -> dict:
    """stats_json of the latest successful run in the store `db`."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT stats_json FROM runs WHERE status = 'ok' ORDER BY finished_at DESC LIMIT 1").fetchone()
    finally:
        con.close()
    if row is None:
        raise ValueError(f"{db}: no successful run recorded")
    return json.loads(row[0])


# -- processes ----------------------------------------------------------------------------------------------

def _tree_rss_mb(pid: int) -> float:
    """Sum of VmRSS (MB) over `pid` and its descendants now (Linux /proc; 0 elsewhere or once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


def run_process(cmd: Sequence[str], cwd: Path, log_dir: Path, name: str) -> dict:
    """Run `cmd` as a cold child process; wall s, CPU s and peak RSS MB from os.wait4, plus its output."""
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    peak_tree = [0.0]
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        child = subprocess.Popen(list(cmd), cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        finished = threading.Event()

        def sample() -> None:
            while not finished.wait(RSS_SAMPLE_SECONDS):
                peak_tree[0] = max(peak_tree[0], _tree_rss_mb(child.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        finished.set()
        sampler.join()
        child.returncode = os.waitstatus_to_exitcode(status)
    per_mb = 2**20 if sys.platform == "darwin" else 2**10
    return {
        "returncode": child.returncode, "wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / per_mb, 1), "tree_rss_mb": round(max(peak_tree[0], 0.0), 1),
        "stdout": out_path.read_text(errors="replace"), "stderr": err_path.read_text(errors="replace"),
    }


def _failed(what: str, proc: dict) -> RuntimeError:
    tail = "\n".join(proc["stderr"].splitlines()[-15:])
    return RuntimeError(f"{what} exited with {proc['returncode']}:\n{tail}")


def run_peer(csv_path: Path, model: Path, work: Path, round_no: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--peer-worker", str(csv_path), "--model", str(model)]
    proc = run_process(cmd, ROOT, work, f"peer{round_no}")
    if proc["returncode"] != 0:
        raise _failed("the peer pipeline", proc)
    return {**_measured(proc), **parse_peer_output(proc["stdout"])}


def run_commentminer(csv_path: Path, command: Sequence[str], work: Path, round_no: int,
                     extra: Sequence[str] = ()) -> dict:
    tag = f"cm{round_no}" + "".join(a.strip("-") for a in extra)
    out = work / tag
    proc = run_process([*command, "run", str(csv_path), "--out", str(out), *extra], ROOT, work, tag)
    if proc["returncode"] != 0:
        raise _failed("commentminer run", proc)
    summary = commentminer_summary(read_run_stats(out / "commentminer.duckdb"))
    if summary["total"] is not None:  # interpreter start, imports and exit: the process wall outside api.run
        summary["stages"]["startup+exit"] = {
            "wall_s": round(proc["wall_s"] - summary["total"]["wall_s"], 3),
            "cpu_s": round(proc["cpu_s"] - summary["total"]["cpu_s"], 3)}
    return {**_measured(proc), **summary}


def _measured(proc: dict) -> dict:
    return {k: proc[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "tree_rss_mb")}


def commentminer_command() -> list[str]:
    exe = Path(sys.executable).parent / "commentminer"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "commentminer.cli"]


def limited_csv(source: Path, limit: int, folder: Path) -> tuple[Path, int]:
    """The first `limit` comments (rows with a non-empty comment_text) of `source` as a CSV in `folder`."""
    csv.field_size_limit(sys.maxsize)
    path = folder / f"{source.stem}_first{limit}.csv"
    kept = 0
    with open(source, newline="", encoding="utf-8") as src, open(path, "w", newline="", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if kept >= limit:
                break
            if (row.get(TEXT_COLUMN) or "").strip():
                writer.writerow(row)
                kept += 1
    return path, kept


def count_comments(path: Path) -> int:
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as f:
        return sum(1 for row in csv.DictReader(f) if (row.get(TEXT_COLUMN) or "").strip())


# -- the table ----------------------------------------------------------------------------------------------

def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def median_result(results: Sequence[dict]) -> dict:
    """The median over rounds of every number of one pipeline (stage by stage)."""
    stage_names = list(dict.fromkeys(name for r in results for name in r["stages"]))
    return {
        **{k: _median([r.get(k) for r in results]) for k in
           ("wall_s", "cpu_s", "peak_rss_mb", "tree_rss_mb", "units", "topics", "outlier_share")},
        "stages": {name: {k: _median([r["stages"].get(name, {}).get(k) for r in results]) for k in ("wall_s", "cpu_s")}
                   for name in stage_names},
    }


def ratios(rounds: Sequence[dict], pipeline: str = CM) -> dict:
    """Median over rounds of peer / `pipeline`: wall, peak RSS and tree RSS."""
    def median_ratio(key: str) -> float | None:
        values = [r[PEER][key] / r[pipeline][key] for r in rounds if r[PEER].get(key) and r[pipeline].get(key)]
        return statistics.median(values) if values else None
    return {key: median_ratio(key) for key in ("wall_s", "peak_rss_mb", "tree_rss_mb")}


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _stages_cell(stages: dict) -> str:
    return " · ".join(f"{name} {_num(t['wall_s'])}/{_num(t['cpu_s'])}" for name, t in stages.items())


def _row(label: str, pipeline: str, r: dict) -> str:
    share = "–" if r.get("outlier_share") is None else f"{100 * r['outlier_share']:.0f}%"
    cores = r["cpu_s"] / r["wall_s"] if r.get("wall_s") and r.get("cpu_s") is not None else None
    topics = "–" if r.get("topics") is None else str(int(r["topics"]))
    units = "–" if r.get("units") is None else f"{int(r['units']):,}"
    return (f"| {label} | {pipeline} | {_num(r['wall_s'])} | {_num(r['cpu_s'])} | {_num(cores, 2)} | "
            f"{_num(r['peak_rss_mb'], 0)} | {_num(r.get('tree_rss_mb'), 0)} | {units} | {topics} | {share} | "
            f"{_stages_cell(r['stages'])} |")


def build_table(rounds: Sequence[dict]) -> str:
    """The Markdown table: each round's peer and commentminer rows, their medians, and the median ratios.

    `rounds` holds one {"peer": result, "commentminer": result} per round; a result has wall_s, cpu_s,
    peak_rss_mb, tree_rss_mb, units, topics, outlier_share and stages ({name: {wall_s, cpu_s}}, in run order).
    """
    lines = [
        "| round | pipeline | wall s | CPU s | CPU/wall | peak RSS MB | tree RSS MB | units | topics | outlier/other "
        "| stages: wall s / CPU s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    pipelines = list(rounds[0]) if rounds else [PEER, CM]
    for n, r in enumerate(rounds, 1):
        lines += [_row(str(n), name, r[name]) for name in pipelines]
    lines += [_row("median", name, median_result([r[name] for r in rounds])) for name in pipelines]
    lines.append("")
    for name in pipelines:
        if name == PEER:
            continue
        q = ratios(rounds, name)
        lines.append(
            f"Median ratio peer / {name} over {len(rounds)} round(s): wall {_num(q['wall_s'], 2)}× "
            f"(> 1: commentminer is faster; the goal is ≥ 2× fp32, ≥ 3× int8), peak RSS {_num(q['peak_rss_mb'], 2)}× "
            f"(≥ 1: commentminer needs no more memory), tree RSS {_num(q['tree_rss_mb'], 2)}×.")
    errors = [f"round {n}: {r[PEER]['error']}" for n, r in enumerate(rounds, 1) if r[PEER].get("error")]
    if errors:
        lines.append("The peer's BERTopic() fit failed (no topics): " + "; ".join(errors))
    return "\n".join(lines)


def header(csv_path: Path, n_comments: int, rounds: int, source: Path, limit: int | None) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    what = f"first {n_comments:,} comments of {source.name}" if limit else f"{source.name} ({n_comments:,} comments)"
    return (f"End to end, {what} ({csv_path.stat().st_size / 1e6:.1f} MB), {rounds} round(s) alternating, "
            f"cold processes; {os.cpu_count()} cores, load average {load:.2f} at the start; "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.")


# -- main -----------------------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of peer + every variant (default 3)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N comments")
    parser.add_argument("--data", type=Path, default=DATA, help="comment CSV (default: the SFU C3 file)")
    parser.add_argument("--model", type=Path, default=MODEL, help="sentence-transformers model folder")
    parser.add_argument("--json", type=Path, default=None, help="also write every measurement to this JSON file")
    parser.add_argument("--variants", nargs="*", default=["", "--fast"], metavar="ARGS",
                        help="commentminer runs per round, each with these extra CLI arguments ('' = the defaults; "
                             "default: '' and '--fast', the int8 graph)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="work in DIR and keep it (every run's report, exports and store) instead of a temporary "
                             "folder")
    parser.add_argument("--peer-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.peer_worker is not None:  # inside the cold peer process
        print(RESULT_MARK + json.dumps(peer_worker(args.peer_worker, args.model)), flush=True)
        return 0
    if not args.data.is_file():
        print(f"skipped: {args.data} not found (the SFU comments live in ../shared/data next to the repo)")
        return 0
    if not (args.model / "config.json").is_file():
        print(f"skipped: no model at {args.model} (run `make model`)")
        return 0

    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    with (contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="e2e_")) as tmp:
        work = Path(tmp)
        if args.limit:
            csv_path, n_comments = limited_csv(args.data, args.limit, work)
        else:
            csv_path, n_comments = args.data, count_comments(args.data)
        title = header(csv_path, n_comments, args.rounds, args.data, args.limit)
        command = commentminer_command()
        rounds = []
        for n in range(1, args.rounds + 1):
            peer = run_peer(csv_path, args.model, work, n)
            print(f"round {n}: peer {peer['wall_s']:.1f} s", file=sys.stderr, flush=True)
            this_round = {PEER: peer}
            for variant in args.variants:
                extra = variant.split()
                name = " ".join([CM, *extra])
                this_round[name] = run_commentminer(csv_path, command, work, n, extra)
                print(f"round {n}: {name} {this_round[name]['wall_s']:.1f} s", file=sys.stderr, flush=True)
            rounds.append(this_round)
    print(title)
    print()
    print(build_table(rounds))
    if args.json:
        args.json.write_text(json.dumps({"title": title, "rounds": rounds}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
