"""Render report.html: turn aggregate DataFrames into plain template rows and fill the Jinja2 template.

Autoescape is on for the whole template and user text is never marked safe; the only Markup inserted is SVG
built by `svg.el`, which escapes its own text. Sizes are bounded here (long quotes cut, long tables capped with
a note) so a big corpus still gives a report a browser opens quickly; the full data is in the CSV exports.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..aggregate.tables import UNRESOLVED
from ..schema import UK_REGIONS
from . import bidi, charts_regions, svg
from .findings import key_findings
from .loose import is_loose, loose_last, loose_note
from .charts_grid import UNDATED
from .views import time_views

MAX_QUOTE_CHARS = 320      # quotes longer than this are cut at a word boundary and end with "…"
MAX_TABLE_ROWS = 200       # rows shown per table; the rest is in exports/*.csv (the note says so)
MAX_CELL_CHARS = 160       # titles, places, error details in tables


@dataclass
class ReportData:
    """Everything the template shows, as DataFrames straight from `commentminer.aggregate`."""

    run: dict[str, Any]
    overview: dict[str, Any]
    themes: pd.DataFrame
    quotes: pd.DataFrame
    regions: pd.DataFrame
    articles: pd.DataFrame
    errors_by_reason: pd.DataFrame
    quarantined: pd.DataFrame
    unresolved: pd.DataFrame
    sentiment_backend: str | None
    resolver_id: str | None
    min_commenters: int
    interval_method: str
    exports: dict[str, str] = field(default_factory=dict)   # name -> path relative to report.html
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)   # aggregate.theme_periods
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)   # aggregate.theme_changes
    period_name: str = "quarter"
    views: dict[str, Any] = field(default_factory=dict)   # report.views.build_views
    article_views: list[dict[str, Any]] = field(default_factory=list)   # report.articles.article_views
    article_views_hidden: int = 0
    findings: list[dict[str, str]] | None = None   # findings.key_findings (None: computed here, no run history)


def render_report(data: ReportData) -> str:
    """The complete, self-contained HTML document for `data`."""
    env = Environment(
        loader=PackageLoader("commentminer.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True, default_for_string=True),
        undefined=StrictUndefined,   # a typo in the template fails loudly instead of rendering blanks
        trim_blocks=True, lstrip_blocks=True,
        finalize=bidi.finalize,      # user text with right-to-left overrides is isolated in <bdi>
    )
    env.filters.update(score=fmt_score, pct=fmt_pct, num=fmt_num, day=fmt_date, clip=clip, plain=bidi.plain)
    return env.get_template("report.html.j2").render(**context(data))


def context(data: ReportData) -> dict[str, Any]:
    """Template variables: plain dicts/lists (NaN -> None) plus the SVG charts."""
    themes = records(data.themes)
    quotes = records(data.quotes)
    periods = records(data.periods)
    for theme in themes:
        theme.setdefault("kind", "discovered")
        theme["title"] = theme.get("name") or theme["label"]
        theme["loose"] = is_loose(theme)   # null (runs stored before `loose` existed) reads as focused
        theme["loose_note"] = loose_note(theme, fmt_pct)
        theme["quotes"] = [quote_view(q) for q in quotes if q["theme_id"] == theme["theme_id"]]
        theme["periods"] = [p for p in periods if p["theme_id"] == theme["theme_id"]]
        theme["bar"] = svg.share_bar(theme["share_negative"], theme["share_neutral"], theme["share_positive"],
                                     int(theme["n_scored"] or 0), str(theme["title"]))
    tree, other = theme_tree(themes)
    leaves = [t for t in themes if t["kind"] != "parent"]
    regions = records(data.regions)
    resolved = [r for r in regions if r["region"] != UNRESOLVED]
    uk_only = all(r["region"] in UK_REGIONS for r in resolved)
    articles, articles_hidden = capped(data.articles)
    quarantined, quarantined_hidden = capped(data.quarantined)
    unresolved, unresolved_hidden = capped(data.unresolved)
    run = dict(data.run)
    run["config_pretty"] = _pretty_json(run.get("config_json"))
    return {
        "findings": data.findings if data.findings is not None
        else key_findings(themes, regions, data.overview, data.min_commenters),
        "run": run,
        "overview": data.overview,
        "themes": themes,
        "theme_tree": tree,
        "other_theme": other,
        "n_themed_units": sum(int(t["n_units"] or 0) for t in leaves),
        "changes": records(data.changes),
        "period_name": data.period_name,
        "views": {**data.views, **time_views(themes, periods, data.period_name)},
        "theme_chart": svg.theme_shares_chart([{**t, "label": t["title"]} for t in leaves]) if leaves else None,
        "regions": regions,
        # any unit with a comment or article date: otherwise per-period tables are left out and the over-time
        # section says once that the corpus is undated
        "dated": any(p["period"] != UNDATED for p in periods),
        "region_chart": svg.region_chart(regions, data.min_commenters) if regions else None,
        # the UK tile map only when every resolved region is a UK one (an extra_gazetteer may add others)
        "region_tiles": charts_regions.region_tile_map(regions, data.min_commenters) if resolved and uk_only
        else None,
        # no place resolved (e.g. a non-UK corpus): the region sections collapse to one sentence
        "regions_resolved": bool(resolved),
        "n_unresolved_comments": sum(int(r["n_comments"] or 0) for r in regions if r["region"] == UNRESOLVED),
        "article_views": data.article_views, "article_views_hidden": data.article_views_hidden,
        "filter_themes": _filter_themes(tree, other),
        "filter_regions": sorted({c["region"] for a in data.article_views for c in a["comments"] if c.get("region")}),
        # articles with a section in "Comments by article": theme quotes and the Articles table link there
        "article_anchors": {a["article_id"] for a in data.article_views},
        "article_limits": _article_limits(),
        "articles": articles, "articles_hidden": articles_hidden,
        "errors_by_reason": records(data.errors_by_reason),
        "quarantined": quarantined, "quarantined_hidden": quarantined_hidden,
        "unresolved": unresolved, "unresolved_hidden": unresolved_hidden,
        "sentiment_backend": data.sentiment_backend,
        "resolver_id": data.resolver_id,
        "min_commenters": data.min_commenters,
        "interval_method": data.interval_method,
        "exports": data.exports,
        "max_rows": MAX_TABLE_ROWS,  # read at call time so tests can lower it
        "max_quote_chars": MAX_QUOTE_CHARS,
        "generated": datetime.now().strftime("%Y-%m-%d %H:%M"),
    }


def _filter_themes(tree: list[dict[str, Any]], other: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Options of the comment filter's theme list, in the theme tree's order: {title, ids} where ids are the
    space-separated theme ids a comment may carry to match (a parent matches its children's ids)."""
    options = []
    for theme in tree + ([other] if other else []):
        children = theme.get("children") or []
        ids = [theme["theme_id"], *(c["theme_id"] for c in children)]
        options.append({"title": theme["title"], "ids": " ".join(str(i) for i in ids)})
        options += [{"title": f"– {c['title']}", "ids": str(c["theme_id"])} for c in children]
    return options


def _article_limits() -> dict[str, int]:
    from . import articles   # imports this module

    return {"articles": articles.MAX_ARTICLES, "comments": articles.MAX_COMMENTS_PER_ARTICLE,
            "chars": articles.MAX_COMMENT_CHARS}


def theme_tree(themes: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Top-level themes (parents with their `children`, then themes without a parent), biggest first, and the
    "other" theme (units that fit no theme) separately. Loose themes (`loose.is_loose`) come after the focused
    ones, among the children of a parent and at the top level; size orders each part."""
    def order(theme: dict[str, Any]) -> tuple:
        return loose_last(theme), -(theme["n_units"] or 0), theme["theme_id"]

    ids = {t["theme_id"] for t in themes}
    for theme in themes:
        theme["children"] = sorted((c for c in themes if c.get("parent_id") == theme["theme_id"]), key=order)
    top = [t for t in themes if t["kind"] != "other" and (t.get("parent_id") is None or t["parent_id"] not in ids)]
    other = next((t for t in themes if t["kind"] == "other"), None)
    return sorted(top, key=order), other


def quote_view(row: dict[str, Any]) -> dict[str, Any]:
    """A quote with its display text (cut to MAX_QUOTE_CHARS) and who said it, by unit kind."""
    if row["kind"] == "comment":
        if row.get("withheld"):
            who, where, role = "Name and address withheld", None, "reader comment"
        else:
            who, where, role = row.get("name") or "Unsigned", row.get("place"), "reader comment"
    elif row["kind"] == "quote":
        who, where, role = row.get("speaker") or "Unnamed speaker", row.get("speaker_place"), "quoted in the article"
    else:
        who, where, role = None, None, "article text"
    text = clip(row["text"], MAX_QUOTE_CHARS)
    if not text.startswith(("“", '"', "‘", "'")):  # article sentences often carry their own quote marks
        text = f"“{text}”"
    return {
        "text": text, "cut": len(str(row["text"] or "")) > MAX_QUOTE_CHARS,
        "who": who, "where": where, "role": role, "article_title": row.get("article_title"),
        "article_id": row.get("article_id"),
        "unit_id": row.get("unit_id"),
        "label": row.get("label"), "score": row.get("score"),
    }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as dicts with missing values (NaN, NaT, <NA>) as None and numpy scalars as Python."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def capped(frame: pd.DataFrame, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """The first `limit` rows (default MAX_TABLE_ROWS) as records, and how many were left out."""
    limit = MAX_TABLE_ROWS if limit is None else limit
    return records(frame.head(limit)), max(0, len(frame) - limit)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return value
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()          # numpy scalars/arrays -> Python
        if isinstance(value, list):
            return value
    try:
        if value is None or pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _pretty_json(text: str | None) -> str:
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True)
    except ValueError:
        return str(text)


# -- filters (all return plain str: autoescape still applies) ---------------------------------------------
def fmt_score(value: Any) -> str:
    """Signed score with 2 decimals ("+0.33"), "–" when missing; -0.00 shown as 0.00."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    return "0.00" if abs(value) < 0.005 else f"{value:+.2f}"


def fmt_pct(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    text = f"{value:.0%}"
    # a non-zero share must not read as "0%" ("other: 1 of 232 units (0%)"), nor a share short of all as "100%"
    if text == "0%" and value > 0:
        return "<1%"
    if text == "100%" and value < 1:
        return ">99%"
    return text


def fmt_num(value: Any) -> str:
    if value is None:
        return "–"
    return f"{int(value):,}"


def fmt_date(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d") if value.hour == value.minute == 0 else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def clip(value: Any, limit: int = MAX_CELL_CHARS) -> str:
    """Text cut to `limit` characters at a word boundary, ending with "…" when cut."""
    text = "" if value is None else " ".join(str(value).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:") + "…"
