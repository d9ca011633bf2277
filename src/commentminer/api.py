"""Library API: what the CLI and notebooks call.

    import commentminer as cm
    result = cm.run(["corpus/seeds"], out="reports/seeds")          # one-shot: ingest, analyse, report
    cm.ingest(["more/pages"], db="my.duckdb")                        # add sources (idempotent)
    run_id = cm.analyse(db="my.duckdb")                              # segment, embed, sentiment, regions, themes
    cm.report(out="reports/mine", db="my.duckdb")                    # HTML, brief.md, exports of the latest run
    cm.query("sentiment", by="theme,region,quarter", db="my.duckdb")  # aggregate tables as DataFrames

Stages meet only at tables in the store; each call here opens the store, runs stages in order, and closes it.
Heavy libraries are imported inside the stages, so importing this module stays fast.
"""

from __future__ import annotations

import json
import platform
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import import_module, metadata
from pathlib import Path

from typing import TYPE_CHECKING, Any

from .config import Config, load_config
from .engine import make_engine
from .errors import CommentminerError, InputError, StoreError

if TYPE_CHECKING:  # the store pulls in duckdb and pandas; keep `commentminer --help` fast
    import pandas as pd

    from .context import RunSteps
    from .store import Store

# Analysis stages in run order: (name, "module:function"). Each reads and writes named tables only.
ANALYSIS_STAGES: tuple[tuple[str, str], ...] = (
    ("segment", "commentminer.segment.stage:run"),
    ("voices", "commentminer.voices.stage:run"),
    ("embed", "commentminer.embed.stage:run"),
    ("sentiment", "commentminer.sentiment.stage:run"),
    ("regions", "commentminer.regions.stage:run"),
    ("themes", "commentminer.themes.stage:run"),
)

# What a run's results depend on. The themes move with umap-learn, numba, scipy and the CPU (UMAP's layout follows
# floating-point paths: the same code and data gave Biomedical 18 themes on one machine and 20 on another,
# benchmarks/README.md), the vectors with onnxruntime and tokenizers.
_VERSIONED_PACKAGES = (
    "commentminer", "torch", "sentence-transformers", "onnxruntime", "tokenizers", "bertopic", "umap-learn",
    "numba", "scikit-learn", "scipy", "spacy", "vaderSentiment", "duckdb", "pandas", "numpy",
)

INGEST_STAGES = ("ingest", "parse")
REPORT_STAGE = "report"

Log = Callable[[str], None]


@dataclass
class RunResult:
    """What `run` produced: the run id, the store, the report files, per-stage counts, and under "timings" a
    list of {stage, wall_s, cpu_s, peak_rss_mb} rows (ingest ... report, then "total"; see `format_timings`)."""

    run_id: str
    db: Path
    outputs: dict[str, Path]
    stats: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        """A short summary for Jupyter: the run, the counts, the report files (escaped; links are relative)."""
        from html import escape

        parse = self.stats.get("parse", {})
        themes = self.stats.get("themes", {})
        total = next((r for r in self.stats.get("timings", []) if r.get("stage") == "total"), None)
        facts = [("run", self.run_id), ("store", str(self.db)),
                 ("articles", parse.get("articles")), ("comments", parse.get("comments")),
                 ("themes", themes.get("themes")),
                 ("time", f"{total['wall_s']:.1f} s" if total else None)]
        rows = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                       for k, v in facts if v is not None)
        files = "".join(f"<li>{escape(name)}: <a href='{escape(Path(path).as_posix(), quote=True)}'>"
                        f"{escape(str(path))}</a></li>"
                        for name, path in self.outputs.items() if name in ("report", "brief", "brief_xlsx"))
        return (f"<div><strong>commentminer run</strong><table>{rows}</table><ul>{files}</ul>"
                "<p>DataFrames: <code>cm.themes(db)</code>, <code>cm.comments(db)</code>, "
                "<code>cm.units(db)</code></p></div>")


def _stage(target: str) -> Callable[..., dict]:
    module_name, attr = target.split(":")
    return getattr(import_module(module_name), attr)


def _config(config: Config | str | Path | None) -> Config:
    if isinstance(config, Config):
        return config
    return load_config(config)


def _quiet(_: str) -> None:
    return None


def _steps(names: Sequence[str], cfg: Config) -> "RunSteps":
    from .context import RunSteps

    return RunSteps(names, progress=cfg.run.progress)


def _done(steps: "RunSteps", log: Log, name: str, stats: dict) -> None:
    """The one-line summary of a finished stage: "[3/9] embed: embedded=120, cached=0 (4.2 s)"."""
    steps.write(log, f"{steps.number(name)} {name}: {_fmt(stats)} ({steps.last_wall():.1f} s)")


def ingest(
    paths: Sequence[str | Path], config: Config | str | Path | None = None, db: str | Path | None = None,
    log: Log = _quiet, fmt: str | None = None, column_map: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Read files/folders into `sources`, then parse them into `articles` and `comments`.

    `fmt` forces a source format for every file (default: from the file suffix); `column_map` maps our field
    names to an export's column names, e.g. {"text": "body", "name": "user"}. Idempotent: ingesting the same
    content again changes no row counts. Returns per-stage counts, and "timings" (see `RunResult`).
    """
    cfg = _config(config)
    with _steps(INGEST_STAGES, cfg) as steps:
        stats = _ingest(paths, cfg, db, log, fmt, column_map, steps)
        stats["timings"] = steps.rows()
    return stats


def _ingest(
    paths: Sequence[str | Path], cfg: Config, db: str | Path | None, log: Log, fmt: str | None,
    column_map: dict[str, str] | None, steps: "RunSteps",
) -> dict[str, Any]:
    from .ingest.formats import FORMATS

    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"--format {fmt}", f"unknown format (known: {', '.join(FORMATS)})")
    missing = [str(p) for p in paths if not Path(p).exists()]
    if paths and len(missing) == len(paths):  # nothing to read: say so before a store is created
        raise InputError("no such file or folder", ", ".join(missing), reason="not_found")
    store_path = Path(db or cfg.store.path)
    created = str(store_path) != ":memory:" and not store_path.exists()
    try:
        return _ingest_into(store_path, paths, cfg, log, fmt, column_map, steps)
    except BaseException:
        if created:  # a failed first ingest leaves no empty store behind
            _remove_store_files(store_path)
        raise


def _remove_store_files(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        try:
            leftover.unlink(missing_ok=True)
        except OSError:
            pass


def _ingest_into(
    store_path: Path, paths: Sequence[str | Path], cfg: Config, log: Log, fmt: str | None,
    column_map: dict[str, str] | None, steps: "RunSteps",
) -> dict[str, Any]:
    from .context import StageContext
    from .store import Store

    with Store.from_config(cfg, store_path) as store:
        ctx = StageContext.create(store, cfg)
        options = {"map": column_map} if column_map else None
        stats: dict[str, Any] = {}
        with steps.stage("ingest", ctx):
            stats["ingest"] = _stage("commentminer.ingest.stage:ingest_paths")(ctx, [Path(p) for p in paths], fmt,
                                                                              options)
        _done(steps, log, "ingest", stats["ingest"])
        with steps.stage("parse", ctx):
            stats["parse"] = _stage("commentminer.parse.stage:run")(ctx)
        _done(steps, log, "parse", stats["parse"])
        for message in ctx.quarantine.messages:
            steps.write(log, f"quarantined: {message}")
        if store.count("articles") == 0:
            first = ctx.quarantine.messages[0] if ctx.quarantine.messages else "no input files given"
            raise InputError(first, "no readable articles to analyse; fix or replace the input and re-run")
    return stats


def scrape(
    urls: Sequence[str], sitemap: str | None = None, config: Config | str | Path | None = None,
    db: str | Path | None = None, log: Log = _quiet,
) -> dict[str, dict]:
    """Fetch web pages politely (robots.txt, per-host delay, retries, size cap) into `sources`, then parse them.

    Raw responses are kept on disk ([scrape] raw_dir), so a re-parse never re-fetches; a re-scrape sends
    conditional requests, and an interrupted crawl resumes where it stopped. Returns per-stage counts.
    """
    from .context import StageContext
    from .store import Store

    cfg = _config(config)
    with Store.from_config(cfg, db) as store:
        ctx = StageContext.create(store, cfg)
        stats = {"scrape": _stage("commentminer.ingest.scrape:scrape")(ctx, list(urls), sitemap)}
        log(f"scrape: {_fmt(stats['scrape'])}")
        stats["parse"] = _stage("commentminer.parse.stage:run")(ctx)
        log(f"parse: {_fmt(stats['parse'])}")
        for message in ctx.quarantine.messages:
            log(f"quarantined: {message}")
    return stats


def analyse(config: Config | str | Path | None = None, db: str | Path | None = None, log: Log = _quiet) -> str:
    """Run segment, voices, embed, sentiment, regions and themes over everything in the store; return the run id.

    Deterministic stages reuse earlier results (only new items are processed). The resolved config, its hash
    and package versions are stored in `runs`, so the run can be reproduced; its stats_json holds each stage's
    counts and, under "timings", each stage's wall/CPU seconds and peak RSS (see `run_stats`).
    """
    cfg = _config(config)
    with _steps([name for name, _ in ANALYSIS_STAGES], cfg) as steps:
        return _analyse(cfg, db, log, steps)


def _analyse(cfg: Config, db: str | Path | None, log: Log, steps: "RunSteps") -> str:
    from .context import StageContext
    from .store import Store

    with Store.from_config(cfg, db, create=False) as store:
        mark_interrupted_runs(store)
        if store.count("articles") == 0:
            raise StoreError(f"{store.path}: no articles to analyse (run `commentminer ingest PATH` first)")
        run_id = f"run_{datetime.now(timezone.utc):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
        ctx = StageContext.create(store, cfg, run_id=run_id)
        engine = make_engine(cfg)  # [engine] backend: where segment, embed and sentiment run
        _record_run(store, cfg, run_id, status="running", stats={})
        stats: dict[str, Any] = {}
        try:
            for name, target in ANALYSIS_STAGES:
                with steps.stage(name, ctx):
                    stats[name] = engine.run_stage(name, target, ctx)
                _done(steps, log, name, stats[name])
        except BaseException:
            stats["timings"] = steps.rows()
            _record_run(store, cfg, run_id, status="failed", stats=stats)
            raise
        finally:
            engine.close()
        stats["errors"] = {"quarantined_total": store.count("errors")}
        stats["timings"] = steps.rows()
        _record_run(store, cfg, run_id, status="ok", stats=stats)
    return run_id


def report(
    out: str | Path, config: Config | str | Path | None = None, db: str | Path | None = None,
    run_id: str | None = None, log: Log = _quiet,
) -> dict[str, Path]:
    """Write report.html, brief.md and exports/ (CSV, Parquet, run_config.toml, manifest.json) for `run_id`
    (default: the latest successful run) into `out`. [report] pseudonymise / pseudonymise_exports replace names
    with pseudonyms in the brief / the exports."""
    cfg = _config(config)
    with _steps([REPORT_STAGE], cfg) as steps:
        return _report(out, cfg, db, run_id, log, steps)


def _report(out: str | Path, cfg: Config, db: str | Path | None, run_id: str | None, log: Log,
            steps: "RunSteps") -> dict[str, Path]:
    from .context import StageContext
    from .store import Store

    with Store.from_config(cfg, db, create=False) as store:
        run_id = run_id or latest_run(store)
        ctx = StageContext.create(store, cfg, run_id=run_id)
        with steps.stage(REPORT_STAGE, ctx):
            outputs = _stage("commentminer.report.stage:write_report")(ctx, Path(out))
    for name, path in outputs.items():
        steps.write(log, f"wrote {name}: {path}")
    return outputs


def run(
    paths: Sequence[str | Path], out: str | Path, config: Config | str | Path | None = None,
    db: str | Path | None = None, log: Log = _quiet, fmt: str | None = None,
    column_map: dict[str, str] | None = None,
) -> RunResult:
    """The one-shot main job: ingest `paths`, analyse, and write the report into `out`.

    `fmt` and `column_map` are `ingest`'s: a forced source format, and the export's column for each of our
    fields (e.g. {"text": "comment_text"}), so one call takes your own CSV from file to report.

    The store defaults to `out/commentminer.duckdb`, so re-running on the same folder updates it in place.
    The run's timings (ingest ... report, and the total) are stored in its `runs.stats_json` and returned in
    `RunResult.stats["timings"]`.
    """
    cfg = _config(config)
    db_path = Path(db) if db else Path(out) / "commentminer.duckdb"
    stage_names = [*INGEST_STAGES, *(name for name, _ in ANALYSIS_STAGES), REPORT_STAGE]
    with _steps(stage_names, cfg) as steps:
        stats = _ingest(paths, cfg, db_path, log, fmt, column_map, steps)
        run_id = _analyse(cfg, db_path, log, steps)
        outputs = _report(out, cfg, db_path, run_id, log, steps)
    from .store import Store

    with Store.from_config(cfg, db_path) as store:  # the stored timings gain ingest, parse and report (the report is written now)
        row = store.query("SELECT * FROM runs WHERE run_id = ?", [run_id])
        recorded = json.loads(row.loc[0, "stats_json"])
        recorded["timings"] = steps.rows()
        row.loc[0, "stats_json"] = json.dumps(recorded, sort_keys=True, default=str)
        store.upsert("runs", row)
    stats.update(recorded)
    return RunResult(run_id=run_id, db=db_path, outputs=outputs, stats=stats)


def run_stats(run_id: str | None = None, db: str | Path | None = None,
              config: Config | str | Path | None = None) -> dict[str, Any]:
    """The stats of a run (default: the latest successful run): per-stage counts and "timings"."""
    from .store import Store

    cfg = _config(config)
    with Store.from_config(cfg, db, read_only=True) as store:
        run_id = run_id or latest_run(store)
        row = store.query("SELECT stats_json FROM runs WHERE run_id = ?", [run_id])
    if row.empty:
        raise StoreError(f"{db or cfg.store.path}: no run {run_id}")
    return json.loads(row.iloc[0, 0] or "{}")


def format_timings(rows: Sequence[dict]) -> str:
    """A run's timings as a small aligned table (what `commentminer run` and `analyse` print at the end):
    stage, wall s, CPU s, CPU/wall (about 2 = both cores busy on this machine), peak RSS MB so far."""
    header = ("stage", "wall s", "CPU s", "CPU/wall", "peak RSS MB")
    body = [(str(r["stage"]), f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
             f"{r['cpu_s'] / r['wall_s']:.2f}" if r["wall_s"] > 0 else "-", f"{r['peak_rss_mb']:.0f}") for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
             for line in [header, *body]]
    return "\n".join(lines)


def _run_tables(db: str | Path | None, config: Config | str | Path | None, run_id: str | None):
    """(store opened read-only, run id, sentiment backend id, resolver id) for the notebook DataFrames."""
    from . import aggregate as agg
    from .store import Store

    cfg = _config(config)
    store = Store.from_config(cfg, db, read_only=True)
    try:
        run_id = run_id or latest_run(store)
        run_row = agg.run_info(store, run_id).iloc[0]
        sentiment_backend, resolver_id = agg.run_backends(store, run_row["config_json"], cfg.sentiment.backend,
                                                          cfg.regions.backend)
    except BaseException:
        store.close()
        raise
    return store, run_id, sentiment_backend, resolver_id


def themes(db: str | Path | None = None, run_id: str | None = None,
           config: Config | str | Path | None = None) -> "pd.DataFrame":
    """The run's themes (default: the latest successful run) as a DataFrame: theme_id, theme (guided name or
    label), label, kind, parent_id, n_units, n_comments, n_commenters, share_units, n_scored, mean_score, focus
    (share of its sampled sentences that use any of its top keywords) and loose (a group by tone or form rather
    than subject; both null for "other" and for runs stored before they existed). The same table as
    `query("themes")`."""
    return query("themes", run_id=run_id, db=db, config=config)


def comments(db: str | Path | None = None, run_id: str | None = None,
             config: Config | str | Path | None = None) -> "pd.DataFrame":
    """One row per comment of the run (default: the latest): ids, article title, commenter, place, region,
    sentiment label and score, `themes` ("label; label", the themes of its sentences, most first), `theme_ids`
    and the text, as in exports/comments.csv."""
    from . import aggregate as agg
    from .report.tables import with_comment_themes

    store, run_id, sentiment_backend, resolver_id = _run_tables(db, config, run_id)
    with store:
        frame = with_comment_themes(agg.comments_table(store, sentiment_backend, resolver_id), store, run_id)
    frame.attrs.update(run_id=run_id, sentiment_backend=sentiment_backend, resolver_id=resolver_id)
    return frame


def units(db: str | Path | None = None, run_id: str | None = None,
          config: Config | str | Path | None = None) -> "pd.DataFrame":
    """Every sentence unit (article, comment and quote sentences) with its theme in the run (default: the
    latest) and its sentiment, as in exports/units.csv."""
    from . import aggregate as agg

    store, run_id, sentiment_backend, _ = _run_tables(db, config, run_id)
    with store:
        frame = agg.units_table(store, run_id, sentiment_backend)
    frame.attrs.update(run_id=run_id, sentiment_backend=sentiment_backend)
    return frame


QUERY_KINDS = ("sentiment", "themes")


def query(
    kind: str = "sentiment", by: str | Sequence[str] | None = ("region", "quarter"), theme: str | int | None = None,
    level: str = "unit", kinds: Sequence[str] | None = None, min_commenters: int | None = None,
    run_id: str | None = None, db: str | Path | None = None, config: Config | str | Path | None = None,
) -> "pd.DataFrame":
    """An aggregate table of one run (default: the latest successful run) as a DataFrame.

    kind "sentiment": `aggregate.sentiment_table` by `by` (any of theme, region, month, quarter, year, article,
    kind; a string "region,quarter" or a sequence), optionally for one `theme` (id, label or name), at `level`
    "unit" (sentence units of `kinds`, default comment + quote) or "comment". Counts, mean score with a 95%
    bootstrap interval clustered by commenter, negative/positive shares with 95% Wilson intervals, too_few
    (distinct commenters < `min_commenters`, default [aggregate] min_commenters) and rank.
    kind "themes": the run's themes with sizes, mean unit sentiment, focus and loose (see `themes`).
    The sentiment backend and resolver read are the run's (see `aggregate.run_backends`).
    """
    from . import aggregate as agg
    from .store import Store

    if kind not in QUERY_KINDS:
        raise CommentminerError(f"unknown query '{kind}' (valid: {', '.join(QUERY_KINDS)})")
    cfg = _config(config)
    with Store.from_config(cfg, db, read_only=True) as store:
        run_id = run_id or latest_run(store)
        run = agg.run_info(store, run_id).iloc[0]
        sentiment_backend, resolver_id = agg.run_backends(store, run["config_json"], cfg.sentiment.backend,
                                                          cfg.regions.backend)
        minimum = cfg.aggregate.min_commenters if min_commenters is None else min_commenters
        if kind == "themes":
            themes = agg.theme_summary(store, run_id, sentiment_backend)
            themes["theme"] = [n if isinstance(n, str) and n else lab for n, lab in zip(themes["name"], themes["label"])]
            frame = themes[["theme_id", "theme", "label", "kind", "parent_id", "n_units", "n_comments", "n_commenters",
                            "share_units", "n_scored", "mean_score", "focus", "loose"]].astype({"parent_id": "Int64"})
        else:
            frame = agg.sentiment_table(
                store, run_id, by=by, theme=theme, level=level, kinds=kinds, min_commenters=minimum,
                sentiment_backend=sentiment_backend, resolver_id=resolver_id,
                resamples=cfg.aggregate.bootstrap_resamples, seed=cfg.aggregate.bootstrap_seed,
            )
    # What the numbers are (for notebooks and the CLI's footer); DataFrame.attrs is pandas' metadata slot.
    frame.attrs.update(run_id=run_id, sentiment_backend=sentiment_backend, resolver_id=resolver_id,
                       min_commenters=minimum,
                       interval_method=agg.interval_method(cfg.aggregate.bootstrap_resamples, cfg.aggregate.bootstrap_seed))
    return frame


def to_bertopic(db: str | Path | None = None, run_id: str | None = None,
                config: Config | str | Path | None = None):
    """A fitted `bertopic.BERTopic` holding a run's themes (default: the latest successful run).

    Its topics are the run's leaf themes unit for unit ("other" is topic -1), with our labels as custom labels,
    our keywords first in each representation, and the dated units' texts, timestamps and topics for
    `topics_over_time` on the model (`commentminer_docs_`, `commentminer_timestamps_`, `commentminer_topics_`);
    see `commentminer.themes.export_bertopic`. So
    `get_topic_info`, `visualize_barchart`, `visualize_hierarchy` and `topics_over_time` work on our results.
    """
    from .store import Store
    from .themes.export_bertopic import build_bertopic, run_units

    cfg = _config(config)
    with Store.from_config(cfg, db, read_only=True) as store:
        run_id = run_id or latest_run(store)
        units, vectors = run_units(store, run_id)
        themes = store.query("SELECT * FROM themes WHERE run_id = ?", [run_id])
    return build_bertopic(units, vectors, themes, tuple(cfg.themes.ngram_range), cfg.themes.top_n_words)


def latest_run(store: "Store") -> str:
    """Id of the most recent successful run in the store."""
    row = store.query("SELECT run_id FROM runs WHERE status = 'ok' ORDER BY finished_at DESC LIMIT 1")
    if row.empty:
        raise StoreError(f"{store.path}: no completed analysis run (run `commentminer analyse` first)")
    return str(row.iloc[0, 0])


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "cpu": _cpu_model()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows, with the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({platform.machine()})"
    except OSError:
        pass
    return f"{platform.processor() or 'unknown'} ({platform.machine()})"


def mark_interrupted_runs(store: "Store") -> int:
    """Runs still `running` when a new run starts were killed mid-way (a store has one writer at a time, so
    none is still going): they become `interrupted`. Returns how many were."""
    stale = store.count("runs", "status = 'running'")
    if stale:
        store.con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
    return stale


def _record_run(store: "Store", cfg: Config, run_id: str, status: str, stats: dict) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    existing = store.query("SELECT started_at FROM runs WHERE run_id = ?", [run_id])
    row = {
        "run_id": run_id,
        "started_at": existing.iloc[0, 0] if not existing.empty else now,
        "finished_at": None if status == "running" else now,
        "status": status,
        "config_json": cfg.to_json(),
        "config_hash": cfg.config_hash(),
        "versions_json": json.dumps(_versions(), sort_keys=True),
        "stats_json": json.dumps(stats, sort_keys=True, default=str),
    }
    import pandas as pd

    store.upsert("runs", pd.DataFrame([row]))


def _fmt(stats: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in stats.items()) or "nothing to do"
