"""report stage: aggregates of one run -> out_dir/report.html and out_dir/exports/*.csv.

Reads: runs, articles, comments, units, themes, unit_themes, sentiment, regions, errors. Writes files only.
Which sentiment backend and place resolver to read comes from the run's stored config (the run is what is being
reported), falling back to the current config; see `aggregate.backends.choose_id`.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import aggregate as agg
from .. import registry
from ..context import StageContext
from ..errors import StoreError
from .exports import themes_for_csv, write_csvs
from .html import ReportData, records, render_report


def write_report(ctx: StageContext, out_dir: Path) -> dict[str, Path]:
    """Write report.html and the CSV exports for `ctx.run_id` into `out_dir`.

    Returns {"report": path, "comments_csv": ..., "themes_csv": ..., "regions_csv": ..., "articles_csv": ...,
    "units_csv": ..., "unit_themes_csv": ...}. Raises StoreError when the run is not in the store.
    """
    if not ctx.run_id:
        raise StoreError("report: no run id given (run `commentminer analyse` first or pass --run-id)")
    store, run_id, cfg = ctx.store, ctx.run_id, ctx.config.report
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    run = records(agg.run_info(store, run_id))[0]
    sentiment_backend, resolver_id = _backends(ctx, run.get("config_json"))

    themes = agg.theme_summary(store, run_id, sentiment_backend)
    regions = agg.region_sentiment(store, sentiment_backend, resolver_id, cfg.min_commenters)
    articles = agg.article_sentiment(store, sentiment_backend)
    paths = write_csvs(out_dir, {
        "comments": agg.comments_table(store, sentiment_backend, resolver_id),
        "themes": themes_for_csv(themes),
        "regions": regions,
        "articles": articles,
        "units": agg.units_table(store, run_id, sentiment_backend),
        "unit_themes": agg.unit_themes_table(store, run_id),
    })
    data = ReportData(
        run=run,
        overview=records(agg.corpus_overview(store, resolver_id))[0],
        themes=themes,
        quotes=agg.theme_quotes(store, run_id, sentiment_backend, cfg.n_quotes),
        regions=regions,
        articles=articles,
        errors_by_reason=agg.errors_by_reason(store),
        quarantined=agg.quarantined_items(store),
        unresolved=agg.unresolved_places(store, resolver_id),
        sentiment_backend=sentiment_backend,
        resolver_id=resolver_id,
        min_commenters=cfg.min_commenters,
        interval_method=agg.INTERVAL_METHOD,
        exports={name: path.relative_to(out_dir).as_posix() for name, path in paths.items()},
        periods=agg.theme_periods(store, run_id, cfg.theme_period),
        changes=agg.theme_changes(store, run_id),
        period_name=cfg.theme_period,
    )
    report_path = out_dir / "report.html"
    report_path.write_text(render_report(data), encoding="utf-8")
    return {"report": report_path, **paths}


def _backends(ctx: StageContext, config_json: str | None) -> tuple[str | None, str | None]:
    """(sentiment backend_id, regions resolver_id) to read for this run."""
    sentiment_name, regions_name = ctx.config.sentiment.backend, ctx.config.regions.backend
    try:  # the run's own config wins: reporting an old run must read what that run used
        stored = json.loads(config_json) if config_json else {}
        sentiment_name = stored.get("sentiment", {}).get("backend", sentiment_name)
        regions_name = stored.get("regions", {}).get("backend", regions_name)
    except (ValueError, AttributeError):
        pass
    return (agg.choose_id(ctx.store, "sentiment", prefix=sentiment_name),
            agg.choose_id(ctx.store, "regions", prefix=regions_name, preferred=_current_resolver_id(regions_name)))


def _current_resolver_id(name: str) -> str | None:
    """The resolver_id the configured resolver writes now (tells a rebuilt gazetteer's rows from old ones)."""
    try:
        return str(registry.create("regions", name).resolver_id)
    except Exception:  # unknown backend or unreadable data: fall back to choosing by prefix
        return None
