"""report stage: aggregates of one run -> out_dir/report.html, out_dir/brief.md and out_dir/exports/.

Reads: runs, sources, articles, comments, units, themes, unit_themes, sentiment, regions, errors. Writes files
only.
Which sentiment backend and place resolver to read comes from the run's stored config (the run is what is being
reported), falling back to the current config; see `aggregate.backends.run_backends`. Region, theme and
per-period sentiment come from `aggregate.sentiment_table` (bootstrap / Wilson intervals, [aggregate] settings).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import __version__
from .. import aggregate as agg
from ..context import StageContext
from ..errors import StoreError
from .articles import article_views, theme_titles
from .brief import brief_data, brief_tables, render_brief
from .findings import growth, key_findings, redrawn
from .exports import config_toml, manifest, write_csvs, write_parquets
from .pseudonyms import Pseudonyms
from .tables import with_comment_themes
from .workbook import write_workbook
from .views import build_views
from .html import ReportData, records, render_report


def write_report(ctx: StageContext, out_dir: Path) -> dict[str, Path]:
    """Write report.html, brief.md and the exports for `ctx.run_id` into `out_dir`.

    Exports (out_dir/exports/, each as <name>.csv and <name>.parquet): comments, units, themes, unit_themes,
    sentiment (the run backend's rows), places (the resolver's `regions` rows), regions (comment sentiment by
    region), articles, aggregates (unit sentiment by theme x region x [report] theme_period, every unit kind);
    then run_config.toml (the run's resolved config) and manifest.json (see `exports.manifest`).
    brief.xlsx holds the brief's tables (findings, themes, regions, quotes) for spreadsheet users.
    Returns {"report": path, "brief": path, "brief_xlsx": path, "manifest": path, "run_config": path, "<name>_csv": path,
    "<name>_parquet": path, ...}. Raises StoreError when the run is not in the store.
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
    comments = with_comment_themes(agg.comments_table(store, sentiment_backend, resolver_id), store, run_id)
    units = agg.units_table(store, run_id, sentiment_backend)
    pseudonyms = Pseudonyms.build(comments, units) if cfg.pseudonymise or cfg.pseudonymise_exports else None
    tables = {
        "comments": comments,
        "themes": themes,
        "regions": regions,
        "articles": articles,
        "units": units,
        "unit_themes": agg.unit_themes_table(store, run_id),
        "sentiment": agg.sentiment_rows(store, sentiment_backend),
        "places": agg.region_rows(store, resolver_id),
        "aggregates": agg.sentiment_table(store, run_id, by=("theme", "region", cfg.theme_period),
                                          kinds=("article", "comment", "quote"), **table),
    }
    if cfg.pseudonymise_exports and pseudonyms is not None:
        tables = {name: pseudonyms.frame(name, frame) for name, frame in tables.items()}
    paths = write_csvs(out_dir, tables)
    paths.update(write_parquets(out_dir, tables))

    # `pseudonymise` covers everything shown in brief.md and report.html; exports have their own switch.
    shown = pseudonyms if cfg.pseudonymise else None

    def hide(name: str, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if shown is None else shown.frame(name, frame)

    # key findings: the report's first section and the brief's executive summary
    include_truncated = ctx.config.segment.analyse_truncated  # cut-off comments: counted only when analysed
    overview = records(agg.corpus_overview(store, resolver_id, include_truncated))[0]
    titled = [{**row, "title": row.get("name") or row["label"]} for row in records(hide("themes", themes))]
    grown, new_themes = growth(store, run_id, titled, acfg.min_commenters)
    findings = key_findings(titled, records(regions), overview, acfg.min_commenters, grown, new_themes,
                            redrawn(store, run_id, titled))

    brief_path = out_dir / "brief.md"
    brief = brief_data(store, run_id, sentiment_backend=sentiment_backend, resolver_id=resolver_id,
                       min_commenters=acfg.min_commenters, resamples=acfg.bootstrap_resamples,
                       seed=acfg.bootstrap_seed, include_truncated=include_truncated)
    brief_path.write_text(render_brief(**brief, pseudonyms=shown, findings=findings), encoding="utf-8")
    workbook_path = write_workbook(out_dir / "brief.xlsx", brief_tables(**brief, pseudonyms=shown,
                                                                         findings=findings))
    config_path = out_dir / "exports" / "run_config.toml"
    config_path.write_text(config_toml(json.loads(run.get("config_json") or "{}")), encoding="utf-8")
    manifest_path = out_dir / "exports" / "manifest.json"

    data = ReportData(
        run=run,
        overview=overview,
        themes=hide("themes", themes),
        quotes=hide("quotes", agg.theme_quotes(store, run_id, sentiment_backend, cfg.n_quotes)),
        regions=regions,
        articles=hide("articles", articles),
        errors_by_reason=agg.errors_by_reason(store),
        quarantined=hide("errors", agg.quarantined_items(store)),
        unresolved=agg.unresolved_places(store, resolver_id),
        sentiment_backend=sentiment_backend,
        resolver_id=resolver_id,
        min_commenters=acfg.min_commenters,
        interval_method=agg.interval_method(acfg.bootstrap_resamples, acfg.bootstrap_seed),
        exports={name: path.relative_to(out_dir).as_posix()
                 for name, path in {**paths, "run_config": config_path, "manifest": manifest_path}.items()},
        periods=periods,
        changes=hide("changes", agg.theme_changes(store, run_id)),
        period_name=cfg.theme_period,
        views=build_views(store, run_id, table, shown, cfg.theme_map),
    )
    data.findings = findings
    data.article_views, data.article_views_hidden = article_views(
        store, run_id, sentiment_backend, resolver_id,
        theme_titles(data.themes), pseudonyms=shown)
    report_path = out_dir / "report.html"
    report_path.write_text(render_report(data), encoding="utf-8")

    outputs = {"report": report_path, "brief": brief_path, "brief_xlsx": workbook_path, "run_config": config_path,
               **paths}
    settings = {"report": ctx.config.report.model_dump(mode="json"), "aggregate": acfg.model_dump(mode="json"),
                "sentiment_backend": sentiment_backend, "resolver_id": resolver_id}
    content = manifest(run=run, store_path=str(store.path), sources=agg.source_list(store), counts=store.counts(),
                       files=outputs, out_dir=out_dir, report_settings=settings,
                       commentminer_version=__version__, config_file=config_path.relative_to(out_dir).as_posix())
    manifest_path.write_text(json.dumps(content, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    return {**outputs, "manifest": manifest_path}


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
