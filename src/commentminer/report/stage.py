"""report stage: aggregates of one run -> out_dir/report.html and out_dir/exports/*.csv.

Reads: runs, articles, comments, units, themes, unit_themes, sentiment, regions, errors. Writes files only.
Which sentiment backend and place resolver to read comes from the run's stored config (the run is what is being
reported), falling back to the current config; see `aggregate.backends.run_backends`. Region, theme and
per-period sentiment come from `aggregate.sentiment_table` (bootstrap / Wilson intervals, [aggregate] settings).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import aggregate as agg
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
    store, run_id, cfg, acfg = ctx.store, ctx.run_id, ctx.config.report, ctx.config.aggregate
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    run = records(agg.run_info(store, run_id))[0]
    sentiment_backend, resolver_id = agg.run_backends(store, run.get("config_json"), ctx.config.sentiment.backend,
                                                      ctx.config.regions.backend)
    table = {"sentiment_backend": sentiment_backend, "resolver_id": resolver_id,
             "min_commenters": acfg.min_commenters, "resamples": acfg.bootstrap_resamples, "seed": acfg.bootstrap_seed}

    themes = agg.theme_summary(store, run_id, sentiment_backend)
    theme_cis, periods = _theme_tables(ctx, themes, cfg.theme_period, table)
    themes = themes.merge(theme_cis, on="theme_id", how="left")
    regions = agg.region_sentiment(store, sentiment_backend, resolver_id, acfg.min_commenters,
                                   acfg.bootstrap_resamples, acfg.bootstrap_seed)
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
        min_commenters=acfg.min_commenters,
        interval_method=agg.interval_method(acfg.bootstrap_resamples, acfg.bootstrap_seed),
        exports={name: path.relative_to(out_dir).as_posix() for name, path in paths.items()},
        periods=periods,
        changes=agg.theme_changes(store, run_id),
        period_name=cfg.theme_period,
    )
    report_path = out_dir / "report.html"
    report_path.write_text(render_report(data), encoding="utf-8")
    return {"report": report_path, **paths}


def _theme_tables(ctx: StageContext, themes: pd.DataFrame, period: str,
                  table: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per theme: (theme_id, mean_low, mean_high, too_few) over all its units, and its per-period rows
    (theme_id, period, n_units, n_comments, n_commenters, mean_score, mean_low, mean_high, too_few, share_units).

    Every unit kind counts, as in the theme cards. Leaf themes come from one `sentiment_table` each; a parent
    theme is queried through the theme filter (it covers its children's units).
    """
    store, run_id = ctx.store, ctx.run_id
    kinds = ("article", "comment", "quote")
    overall = [agg.sentiment_table(store, run_id, by=("theme",), kinds=kinds, **table)]
    by_period = [agg.sentiment_table(store, run_id, by=("theme", period), kinds=kinds, **table)]
    for parent in themes.loc[themes["kind"] == "parent", "theme_id"]:
        overall.append(agg.sentiment_table(store, run_id, by=(), theme=int(parent), kinds=kinds, **table)
                       .assign(theme_id=int(parent)))
        by_period.append(agg.sentiment_table(store, run_id, by=(period,), theme=int(parent), kinds=kinds, **table)
                         .assign(theme_id=int(parent)))
    keep = ["theme_id", "mean_low", "mean_high", "too_few"]
    cis = pd.concat([f[keep] for f in overall if len(f)], ignore_index=True) if any(len(f) for f in overall) \
        else pd.DataFrame(columns=keep)
    cis = cis[cis["theme_id"].notna()].astype({"theme_id": int})
    rows = [f.rename(columns={period: "period"}) for f in by_period if len(f)]
    columns = ["theme_id", "period", "n_units", "n_comments", "n_commenters", "mean_score", "mean_low", "mean_high",
               "too_few"]
    periods = pd.concat([f[columns] for f in rows], ignore_index=True) if rows else pd.DataFrame(columns=columns)
    periods = periods[periods["theme_id"].notna()].astype({"theme_id": int})
    shares = agg.theme_periods(store, run_id, period)[["theme_id", "period", "share_units"]]
    return cis, periods.merge(shares, on=["theme_id", "period"], how="left")
