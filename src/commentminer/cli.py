"""Command line: a thin layer that parses options and calls commentminer.api.

Errors a user can act on (missing model, unreadable file, unknown config key, ...) print one line to stderr and
exit non-zero, without a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import api, registry
from .config import Config, load_config
from .errors import CommentminerError
from .torchless import allow_torch, keep_torch_out

app = typer.Typer(
    help="Mine reader comments: parse, embed, find themes, tag sentiment, resolve regions, report.",
    add_completion=False,
    rich_markup_mode=None,  # help texts mention [sections]; they are not markup
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML config (default: built-in defaults, as in configs/default.toml).")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override one setting, e.g. --set themes.seed=7 (repeatable).")]
DbOpt = Annotated[Optional[Path], typer.Option("--db", help="DuckDB store file (default: [store] path, commentminer.duckdb).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, stage summaries or timing table.")]
FormatOpt = Annotated[Optional[str], typer.Option("--format", help="Read every file as this format: text_dump, html, csv, jsonl, parquet or disqus_xml (default: from the file suffix).")]
MapOpt = Annotated[Optional[str], typer.Option("--map", help="Export columns for our fields, e.g. --map text=body,name=user,article_title=headline.")]
PseudonymiseOpt = Annotated[bool, typer.Option("--pseudonymise", help="brief.md and report.html name commenters 'Commenter 1', 'Commenter 2', ... and quoted speakers 'Speaker 1', ... (places kept); sets [report] pseudonymise.")]
FastOpt = Annotated[Optional[bool], typer.Option(
    "--fast/--exact",
    help="--fast: the int8 model graph (sets [embed] precision = \"int8\"; faster, vectors and sentiment move a "
         "little, see benchmarks/README.md); --exact: the fp32 graph. Default: [embed] precision.")]
RefitOpt = Annotated[bool, typer.Option(
    "--refit", help="Re-fit the themes instead of placing new units into the last run's themes (sets [themes] refit).")]
EngineOpt = Annotated[Optional[str], typer.Option(
    "--engine", help="Where segment, embed and sentiment run: local or ray (sets [engine] backend).")]
RayAddressOpt = Annotated[Optional[str], typer.Option(
    "--ray-address", help="Ray cluster to join, e.g. head:6379 (sets [engine] ray_address; default: start Ray here).")]
ThemesOpt = Annotated[Optional[Path], typer.Option("--themes", help="Guided themes file (TOML [[theme]] tables with seed phrases, e.g. configs/themes.toml for the sample corpus); sets [themes] guided_path. Default: none, every theme is discovered.")]
PathsArg = Annotated[list[Path], typer.Argument(help="Files or folders to read (folders: files matching [ingest] patterns).")]


def _log(message: str) -> None:
    typer.echo(message, err=True)


def _quiet(_: str) -> None:
    return None


def _load(config: Optional[Path], overrides: Optional[list[str]], quiet: bool, fast: Optional[bool] = None,
          themes: Optional[Path] = None) -> Config:
    cfg = load_config(config, overrides or [])
    if themes is not None:
        cfg.themes.guided_path = str(themes)
    if quiet:
        cfg.run.progress = False
    if fast is not None:
        cfg.embed.precision = "int8" if fast else "fp32"
    if registry.needs_torch(cfg):  # main() kept torch out of this process; this config needs it
        allow_torch()
    return cfg


def _engine(cfg: Config, engine: Optional[str], ray_address: Optional[str]) -> Config:
    """Apply --engine / --ray-address (validated like the config keys they set)."""
    if engine is not None:
        if engine not in ("local", "ray"):
            raise CommentminerError(f"--engine {engine}: unknown engine (valid: local, ray)")
        cfg.engine.backend = engine
    if ray_address is not None:
        cfg.engine.ray_address = ray_address
    return cfg


def _db(cfg: Config, db: Optional[Path]) -> Path:
    return db or Path(cfg.store.path)


@app.command()
def run(
    paths: PathsArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for report.html and exports/.")],
    config: ConfigOpt = None, set_: SetOpt = None,
    db: Annotated[Optional[Path], typer.Option("--db", help="DuckDB store (default: OUT/commentminer.duckdb).")] = None,
    quiet: QuietOpt = False, pseudonymise: PseudonymiseOpt = False, fast: FastOpt = None, refit: RefitOpt = False,
    fmt: FormatOpt = None, column_map: MapOpt = None, engine: EngineOpt = None, ray_address: RayAddressOpt = None,
    themes: ThemesOpt = None,
) -> None:
    """The one-shot main job: ingest PATHS, analyse them, and write the report into OUT.

    Takes ingest's options too: commentminer run comments.csv --map text=comment_text --out reports/mine
    """
    cfg = _engine(_load(config, set_, quiet, fast, themes), engine, ray_address)
    cfg.themes.refit = cfg.themes.refit or refit
    if pseudonymise:
        cfg.report.pseudonymise = True
    result = api.run(paths, out=out, config=cfg, db=db, log=_quiet if quiet else _log, fmt=fmt,
                     column_map=parse_column_map(column_map))
    if not quiet:
        _log(api.format_timings(result.stats["timings"]))
    typer.echo(f"report: {result.outputs['report']}")
    typer.echo(f"brief: {result.outputs['brief']}")
    typer.echo(f"store: {result.db} (run {result.run_id})")


def parse_column_map(text: Optional[str]) -> Optional[dict[str, str]]:
    """"text=body,name=user" -> {"text": "body", "name": "user"}; a malformed pair is a one-line error."""
    if not text:
        return None
    mapping = {}
    for pair in text.split(","):
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise CommentminerError(f"--map {text!r}: expected field=column pairs separated by commas, e.g. text=body,name=user")
        mapping[field.strip()] = column.strip()
    return mapping


@app.command()
def ingest(
    paths: PathsArg, fmt: FormatOpt = None, column_map: MapOpt = None, config: ConfigOpt = None, set_: SetOpt = None,
    db: DbOpt = None, quiet: QuietOpt = False,
) -> None:
    """Read files/folders into the store and parse articles and comments (idempotent)."""
    cfg = _load(config, set_, quiet)
    stats = api.ingest(paths, config=cfg, db=_db(cfg, db), log=_quiet if quiet else _log, fmt=fmt,
                       column_map=parse_column_map(column_map))
    quarantined = stats["ingest"].get("quarantined", 0) + stats["parse"].get("quarantined", 0)
    typer.echo(f"ingested into {_db(cfg, db)}: {stats['parse'].get('articles', 0)} articles, "
               f"{stats['parse'].get('comments', 0)} comments"
               + (f"; {quarantined} item(s) quarantined (see the errors table)" if quarantined else ""))


@app.command()
def scrape(
    urls: Annotated[Optional[list[str]], typer.Argument(help="Page URLs to fetch (http/https).")] = None,
    urls_file: Annotated[Optional[Path], typer.Option("--urls", help="File with one URL per line (# comments allowed).")] = None,
    sitemap: Annotated[Optional[str], typer.Option("--sitemap", help="Sitemap (or sitemap index) URL whose pages to fetch.")] = None,
    config: ConfigOpt = None, set_: SetOpt = None, db: DbOpt = None, quiet: QuietOpt = False,
) -> None:
    """Fetch pages politely (robots.txt, per-host delay, retries) into the store, then parse them.

    Re-running resumes an interrupted crawl; after a finished one it re-checks pages with conditional requests.
    """
    cfg = _load(config, set_, quiet)
    all_urls = list(urls or [])
    if urls_file is not None:
        try:
            lines = urls_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommentminerError(f"{urls_file}: cannot read the URL list ({exc})") from None
        all_urls += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not all_urls and not sitemap:
        raise CommentminerError("scrape: give page URLs, --urls FILE or --sitemap URL")
    stats = api.scrape(all_urls, sitemap, config=cfg, db=_db(cfg, db), log=_quiet if quiet else _log)
    crawl = stats["scrape"]
    typer.echo(f"scraped into {_db(cfg, db)}: {crawl['fetched']} fetched, {crawl['not_modified']} not modified, "
               f"{crawl['skipped']} skipped, {crawl['failed']} failed, {crawl['pending']} pending; "
               f"{stats['parse'].get('articles', 0)} articles, {stats['parse'].get('comments', 0)} comments parsed")


@app.command()
def analyse(config: ConfigOpt = None, set_: SetOpt = None, db: DbOpt = None, quiet: QuietOpt = False,
            fast: FastOpt = None, refit: RefitOpt = False, engine: EngineOpt = None,
            ray_address: RayAddressOpt = None, themes: ThemesOpt = None) -> None:
    """Split sentences, find quoted voices, embed, score sentiment, resolve regions and find themes."""
    cfg = _engine(_load(config, set_, quiet, fast, themes), engine, ray_address)
    cfg.themes.refit = cfg.themes.refit or refit
    run_id = api.analyse(config=cfg, db=_db(cfg, db), log=_quiet if quiet else _log)
    if not quiet:
        _log(api.format_timings(api.run_stats(run_id, db=_db(cfg, db), config=cfg)["timings"]))
    typer.echo(f"analysis run {run_id} stored in {_db(cfg, db)}")


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for report.html and exports/.")],
    run_id: Annotated[Optional[str], typer.Option("--run", help="Run id to report (default: the latest).")] = None,
    config: ConfigOpt = None, set_: SetOpt = None, db: DbOpt = None, quiet: QuietOpt = False,
    pseudonymise: PseudonymiseOpt = False,
) -> None:
    """Write report.html, brief.md and the exports (CSV, Parquet, manifest.json) for an analysis run."""
    cfg = _load(config, set_, quiet)
    if pseudonymise:
        cfg.report.pseudonymise = True
    outputs = api.report(out, config=cfg, db=_db(cfg, db), run_id=run_id, log=_quiet if quiet else _log)
    typer.echo(f"report: {outputs['report']}")
    typer.echo(f"brief: {outputs['brief']}")


query_app = typer.Typer(
    help="Print aggregate tables of an analysis run (sentiment by theme, region, period; the theme list).",
    rich_markup_mode=None, no_args_is_help=True,
)
app.add_typer(query_app, name="query")

RunOpt = Annotated[Optional[str], typer.Option("--run", help="Run id (default: the latest successful run).")]
OutFormatOpt = Annotated[str, typer.Option("--format", help="table (aligned, intervals in brackets), csv or json (every column).")]


def _print_table(frame, fmt: str) -> None:
    from .aggregate.format import render

    typer.echo(render(frame, fmt), nl=False)
    if fmt == "table" and frame.attrs:
        meta = frame.attrs
        if "mean_low" not in frame:
            typer.echo(f"\nrun {meta['run_id']}; sentiment {meta['sentiment_backend']}")
            return
        typer.echo(f"\nrun {meta['run_id']}; sentiment {meta['sentiment_backend']}; regions {meta['resolver_id']}; "
                   f"too few = fewer than {meta['min_commenters']} distinct commenters (never ranked).")
        typer.echo(meta["interval_method"])


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "csv", "json"):
        raise CommentminerError(f"unknown format '{fmt}' (valid: table, csv, json)")


@query_app.command("sentiment")
def query_sentiment(
    by: Annotated[str, typer.Option("--by", help="Dimensions, comma-separated: theme, region, month, quarter, year, article, kind, voice.")] = "region,quarter",
    theme: Annotated[Optional[str], typer.Option("--theme", help="Only this theme: id, label or guided name (case-insensitive); a parent theme covers its children.")] = None,
    level: Annotated[str, typer.Option("--level", help="unit: sentence units and their sentiment; comment: whole comments.")] = "unit",
    kinds: Annotated[Optional[str], typer.Option("--kinds", help="Unit kinds at --level unit, comma-separated (default comment,quote; add article for article sentences).")] = None,
    min_commenters: Annotated[Optional[int], typer.Option("--min-commenters", help="Cells with fewer distinct commenters are 'too few' and not ranked (default: [aggregate] min_commenters).")] = None,
    fmt: OutFormatOpt = "table", run_id: RunOpt = None, config: ConfigOpt = None, set_: SetOpt = None, db: DbOpt = None,
) -> None:
    """Sentiment by theme x region x period: counts, mean score and shares with 95% intervals, too-few flags, rank.

    Example: commentminer query sentiment --by region,quarter --theme "waiting times"
    """
    _check_format(fmt)
    cfg = _load(config, set_, True)
    frame = api.query("sentiment", by=by, theme=theme, level=level,
                      kinds=[k.strip() for k in kinds.split(",") if k.strip()] if kinds else None,
                      min_commenters=min_commenters, run_id=run_id, db=_db(cfg, db), config=cfg)
    _print_table(frame, fmt)


@query_app.command("themes")
def query_themes(fmt: OutFormatOpt = "table", run_id: RunOpt = None, config: ConfigOpt = None, set_: SetOpt = None,
                 db: DbOpt = None) -> None:
    """The run's themes: id, label, kind, parent, sizes (units, comments, commenters), mean unit sentiment, focus
    and loose (grouped by tone or form rather than subject)."""
    _check_format(fmt)
    cfg = _load(config, set_, True)
    _print_table(api.query("themes", run_id=run_id, db=_db(cfg, db), config=cfg), fmt)


def main() -> None:
    """Console entry point: run the app, turning user-facing errors into one line on stderr.

    torch is kept out of the process (spaCy and BERTopic would import it for nothing) until a command's config
    selects a backend that needs it (see commentminer/torchless.py)."""
    keep_torch_out(needs_torch=False)
    try:
        app()
    except CommentminerError as exc:
        typer.echo(f"commentminer: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("commentminer: interrupted; completed batches are kept in the store", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
