"""The generic aggregate: sentiment by any mix of theme, region, period, article and unit kind.

`sentiment_table` builds one SQL query from the requested dimensions and returns one row per cell with counts
(units, distinct comments, distinct commenters), the mean score with a clustered-bootstrap 95% interval, the
negative / neutral / positive shares with Wilson 95% intervals, a `too_few` flag and a `rank`. The rules:

- **Rows.** level="unit": sentence units of `kinds` (default comment + quote units: the voices; article
  sentences are the journalist's and are left out unless asked for) with unit-level sentiment. level="comment":
  comments with comment-level sentiment.
- **Commenters.** A comment unit's commenter is the comment's commenter_id (a per-comment id when the signature
  is withheld or missing); a quoted speaker is one commenter per normalised (speaker, place), or per unit when
  unnamed; article sentences have none (so a cell of article sentences is always too few).
- **Region.** A comment (unit) takes the region of its comment (regions.subject_kind 'comment'); a quote unit its
  own region row (subject_kind 'unit'); no region -> "Unresolved"; article sentences -> "No place" (they have no
  place, so they are never mixed into a region).
- **Period** (month "2011-09", quarter "2011-Q3", year "2011"): the comment's date, else its article's date, else
  "Undated", a row of its own, never dropped. `n_dated_by_article` counts rows dated by the fallback.
- **Theme** (per run): the unit's leaf theme; at comment level a comment counts once in every theme one of its
  sentences is in (so comments may appear in several theme rows). Units the run did not theme -> "(unthemed)".
  The `theme` filter takes an id, a label or a guided theme's name (case-insensitive); a parent theme selects
  its children's units.
- **Too few / rank.** too_few = distinct commenters < min_commenters. rank = 1 for the highest mean score among
  cells that are not too few and not a catch-all bucket (Unresolved, No place, Undated, (unthemed)); null
  otherwise. Ties share a rank.

Only sentiment rows of one backend and region rows of one resolver are read (see `backends`), so nothing is
counted twice; rows without a score count in n_units / n_comments / n_commenters but not in means or shares.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..errors import StoreError
from ..schema import UNIT_KINDS
from ..store import Store
from .stats import cluster_bootstrap, wilson_interval

UNRESOLVED = "Unresolved"   # no region: the place did not resolve, or there is no place / regions row
NO_PLACE = "No place"       # article sentences: never have a place
UNDATED = "Undated"         # neither the comment nor its article has a date
UNTHEMED = "(unthemed)"     # units the run did not assign to a theme
BUCKETS = {UNRESOLVED, NO_PLACE, UNDATED, UNTHEMED}

PERIODS = ("month", "quarter", "year")
DIMENSIONS = ("theme", "region", "month", "quarter", "year", "article", "kind", "voice")
LEVELS = ("unit", "comment")
DEFAULT_KINDS = ("comment", "quote")

_PERIOD_SQL = {
    "month": "strftime(d, '%Y-%m')",
    "quarter": "strftime(d, '%Y') || '-Q' || quarter(d)",
    "year": "strftime(d, '%Y')",
}
# dimension -> output columns (the first is the grouping key shown; the others ride along)
_DIM_COLUMNS = {
    "theme": ("theme_id", "theme"),
    "region": ("region",),
    "month": ("month",),
    "quarter": ("quarter",),
    "year": ("year",),
    "article": ("article_id", "article"),
    "kind": ("kind",),
    "voice": ("voice",),
}

# Who said it, for the "voice" dimension (cells are grouped by commenter id; this is the label shown):
# a quoted speaker (or their role when unnamed) with their place, a commenter's signature, or the article text.
_COMMENT_VOICE_SQL = ("CASE WHEN c.withheld THEN 'Name and address withheld' "
                      "ELSE coalesce(c.name, 'Unsigned') || coalesce(', ' || c.place, '') END")
_VOICE_SQL = f"""CASE u.kind
                 WHEN 'quote' THEN coalesce(u.speaker, 'unnamed ' || coalesce(u.role, 'speaker')) || coalesce(', ' || u.place, '')
                 WHEN 'comment' THEN {_COMMENT_VOICE_SQL}
                 ELSE 'article text'
               END"""


def parse_dimensions(by: str | Sequence[str] | None) -> tuple[str, ...]:
    """"region,quarter" or ["region", "quarter"] -> ("region", "quarter"); unknown or repeated -> StoreError."""
    if by is None:
        return ()
    items = [b.strip().lower() for b in (by.split(",") if isinstance(by, str) else by)]
    items = [b for b in items if b]
    for item in items:
        if item not in DIMENSIONS:
            raise StoreError(f"unknown dimension '{item}' (valid: {', '.join(DIMENSIONS)})")
    if len(set(items)) != len(items):
        raise StoreError(f"dimension repeated in '{','.join(items)}'")
    if sum(item in PERIODS for item in items) > 1:
        raise StoreError(f"at most one period dimension (month, quarter or year), got '{','.join(items)}'")
    return tuple(items)


def resolve_theme(store: Store, run_id: str, theme: str | int) -> tuple[int, list[int]]:
    """(theme_id, leaf theme ids it covers) for a theme given by id, label or name (case-insensitive).

    A parent theme covers its children (recursively). Raises StoreError listing the run's themes when none match.
    """
    themes = store.query("SELECT theme_id, label, name, parent_id, kind FROM themes WHERE run_id = ? "
                         "ORDER BY theme_id = -1, n_units DESC, theme_id", [run_id])
    text = str(theme).strip()
    match = themes[themes.theme_id.astype(str) == text]
    if match.empty:
        lowered = text.casefold()
        match = themes[themes.label.fillna("").str.casefold().eq(lowered)
                       | themes.name.fillna("").str.casefold().eq(lowered)]
    if match.empty:
        listing = "; ".join(f"{i} {n if isinstance(n, str) and n else lab}"
                            for i, lab, n in zip(themes.theme_id, themes.label, themes.name))
        if len(listing) > 600:
            listing = listing[:600].rsplit(";", 1)[0] + "; …"
        raise StoreError(f"theme '{text}' not found in run {run_id} (available: {listing or 'none'}; "
                         f"see `commentminer query themes`)")
    if len(match) > 1:
        several = "; ".join(f"{i} {lab} ({k})" for i, lab, k in zip(match.theme_id, match.label, match.kind))
        raise StoreError(f"theme '{text}' matches several themes in run {run_id} ({several}); give its id")
    theme_id = int(match.theme_id.iloc[0])
    children: dict[int, list[int]] = {}
    for tid, parent in zip(themes.theme_id, themes.parent_id):
        if parent is not None and not pd.isna(parent):
            children.setdefault(int(parent), []).append(int(tid))
    leaves, todo, seen = [], [theme_id], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in children:
            todo.extend(children[current])
        else:
            leaves.append(current)
    return theme_id, sorted(leaves)


def _base_sql(level: str, needs_theme: bool, kinds: Sequence[str]) -> tuple[str, list[str]]:
    """SQL of one row per counted item with its raw dimensions, commenter, dates, theme and score.

    Returns (sql, the names of its ? parameters in order: "run_id", "resolver", "backend").
    """
    if level == "unit":
        placeholders = ", ".join(f"'{k}'" for k in kinds)
        sql = f"""
        SELECT u.kind, u.article_id, u.comment_id,
               CASE u.kind
                 WHEN 'comment' THEN coalesce(c.commenter_id, 'comment:' || c.comment_id)
                 WHEN 'quote' THEN 'voice:' || coalesce(lower(trim(u.speaker)) || '|' || coalesce(lower(trim(u.place)), ''),
                                                        u.unit_id)
               END AS commenter,
               CASE u.kind
                 WHEN 'comment' THEN coalesce(rc.region, '{UNRESOLVED}')
                 WHEN 'quote' THEN coalesce(ru.region, '{UNRESOLVED}')
                 ELSE '{NO_PLACE}'
               END AS region,
               c.published AS comment_date, a.published AS article_date,
               ut.theme_id, 1 AS n_units, s.score, s.label, {_VOICE_SQL} AS voice
        FROM units u
        LEFT JOIN comments c ON c.comment_id = u.comment_id
        LEFT JOIN articles a ON a.article_id = u.article_id
        LEFT JOIN unit_themes ut ON ut.unit_id = u.unit_id AND ut.run_id = ?
        LEFT JOIN regions rc ON rc.subject_kind = 'comment' AND rc.subject_id = u.comment_id AND rc.resolver_id = ?
        LEFT JOIN regions ru ON ru.subject_kind = 'unit' AND ru.subject_id = u.unit_id AND ru.resolver_id = ?
        LEFT JOIN sentiment s ON s.target_kind = 'unit' AND s.target_id = u.unit_id AND s.backend_id = ?
        WHERE u.kind IN ({placeholders})
        """
        return sql, ["run_id", "resolver", "resolver", "backend"]
    # comment level: one row per comment, or per (comment, theme of one of its sentences) when themes are involved
    if needs_theme:
        per_comment = ("SELECT u.comment_id, ut.theme_id, count(*) AS n FROM units u "
                       "LEFT JOIN unit_themes ut ON ut.unit_id = u.unit_id AND ut.run_id = ? "
                       "WHERE u.kind = 'comment' GROUP BY u.comment_id, ut.theme_id")
        slots = ["run_id"]
    else:
        per_comment = ("SELECT comment_id, NULL::INTEGER AS theme_id, count(*) AS n FROM units "
                       "WHERE kind = 'comment' GROUP BY comment_id")
        slots = []
    sql = f"""
        SELECT 'comment' AS kind, c.article_id, c.comment_id,
               coalesce(c.commenter_id, 'comment:' || c.comment_id) AS commenter,
               coalesce(r.region, '{UNRESOLVED}') AS region,
               c.published AS comment_date, a.published AS article_date,
               cu.theme_id, coalesce(cu.n, 0) AS n_units, s.score, s.label,
               {_COMMENT_VOICE_SQL} AS voice
        FROM comments c
        LEFT JOIN articles a ON a.article_id = c.article_id
        LEFT JOIN ({per_comment}) cu ON cu.comment_id = c.comment_id
        LEFT JOIN regions r ON r.subject_kind = 'comment' AND r.subject_id = c.comment_id AND r.resolver_id = ?
        LEFT JOIN sentiment s ON s.target_kind = 'comment' AND s.target_id = c.comment_id AND s.backend_id = ?
        """
    return sql, slots + ["resolver", "backend"]


# dimension -> SQL key expression over the base rows `b` (what cells are grouped by)
_KEY_SQL = {"theme": "b.theme_id", "region": "b.region", "month": "b.period", "quarter": "b.period",
            "year": "b.period", "article": "b.article_id", "kind": "b.kind", "voice": "b.commenter"}


def sentiment_table(
    store: Store, run_id: str, by: str | Sequence[str] | None = ("region", "quarter"), theme: str | int | None = None,
    level: str = "unit", min_commenters: int = 5, sentiment_backend: str | None = None,
    resolver_id: str | None = None, kinds: Sequence[str] | None = None, resamples: int = 1000, seed: int = 0,
) -> pd.DataFrame:
    """Sentiment per cell of the dimensions `by` (any of DIMENSIONS, e.g. "theme,region,quarter"; none = one row).

    See the module docstring for the rules. `sentiment_backend` / `resolver_id` are the stored ids to read
    (`backends.run_backends` picks them for a run; None matches no rows). Columns: the dimension columns in the
    order of `by` (theme -> theme_id, theme; article -> article_id, article; a period is named month / quarter /
    year), then n_units, n_comments, n_commenters, n_scored, mean_score, mean_low, mean_high (95% bootstrap
    clustered by commenter, `resamples` resamples, `seed`), share_negative, negative_low, negative_high,
    share_neutral, share_positive, positive_low, positive_high (95% Wilson), n_dated_by_article (with a period
    dimension), too_few, rank. Rows are ordered by the dimensions: themes by size ("other" and "(unthemed)"
    last), regions by name (Unresolved, No place last), periods in time order (Undated last), articles by date.
    """
    dims = parse_dimensions(by)
    if level not in LEVELS:
        raise StoreError(f"unknown level '{level}' (valid: {', '.join(LEVELS)})")
    kinds = tuple(kinds) if kinds else (DEFAULT_KINDS if level == "unit" else ("comment",))
    for kind in kinds:
        if kind not in UNIT_KINDS:
            raise StoreError(f"unknown unit kind '{kind}' (valid: {', '.join(UNIT_KINDS)})")
    if level == "comment" and set(kinds) != {"comment"}:
        raise StoreError("level 'comment' counts comments only; unit kinds apply to level 'unit'")
    leaves = resolve_theme(store, run_id, theme)[1] if theme is not None else None

    base, slots = _base_sql(level, "theme" in dims or leaves is not None, kinds)
    values = {"run_id": run_id, "resolver": resolver_id, "backend": sentiment_backend}
    params: list = [values[slot] for slot in slots] + [run_id]
    period = next((d for d in dims if d in PERIODS), None)
    period_sql = f"CASE WHEN d IS NULL THEN '{UNDATED}' ELSE {_PERIOD_SQL[period]} END" if period else "NULL"
    theme_filter = f"WHERE b.theme_id IN ({', '.join(str(int(i)) for i in leaves)})" if leaves is not None else ""
    keys = [_KEY_SQL[d] for d in dims]
    key_sql = ("concat_ws(chr(31), " + ", ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in keys) + ")"
               if keys else "''")
    extra = []
    for dim in dims:
        if dim == "theme":
            extra += [f"any_value(coalesce(t.name, t.label, '{UNTHEMED}')) AS theme", "any_value(t.n_units) AS _theme_size"]
        elif dim == "article":
            extra += ["any_value(a.title) AS article", "any_value(a.published) AS _published"]
        elif dim == "voice":
            extra += ["any_value(b.voice) AS voice"]
    named = [f"{k} AS {'theme_id' if d == 'theme' else d if d in PERIODS else k.split('.')[-1]}"
             for d, k in zip(dims, keys)]
    prefix = f"""
        WITH raw AS ({base}),
        dated AS (SELECT *, coalesce(comment_date, article_date) AS d FROM raw),
        b AS (SELECT *, {period_sql} AS period FROM dated)
    """
    source = f"""
        FROM b LEFT JOIN themes t ON t.run_id = ? AND t.theme_id = b.theme_id
        LEFT JOIN articles a ON a.article_id = b.article_id
        {theme_filter}
    """
    group = f"GROUP BY {', '.join(keys)}" if keys else ""
    cells = store.query(f"""{prefix}
        SELECT {''.join(c + ', ' for c in named + extra)} {key_sql} AS _key,
               sum(b.n_units) AS n_units,
               count(DISTINCT b.comment_id) AS n_comments,
               count(DISTINCT b.commenter) AS n_commenters,
               count(b.score) AS n_scored,
               avg(b.score) AS mean_score,
               count(b.score) FILTER (WHERE b.label = 'negative') AS k_negative,
               count(b.score) FILTER (WHERE b.label = 'neutral') AS k_neutral,
               count(b.score) FILTER (WHERE b.label = 'positive') AS k_positive,
               count(*) FILTER (WHERE b.comment_date IS NULL AND b.article_date IS NOT NULL) AS n_dated_by_article
        {source} {group}
    """, params)
    # Per (cell, cluster) score sums for the bootstrap: a commenter is a cluster; article sentences cluster by article.
    clusters = store.query(f"""{prefix}
        SELECT {key_sql} AS _key, coalesce(b.commenter, 'article:' || b.article_id) AS _cluster,
               sum(b.score) AS _sum, count(b.score) AS _n
        {source} {'AND' if theme_filter else 'WHERE'} b.score IS NOT NULL
        GROUP BY _key, _cluster ORDER BY _key, _cluster
    """, params)
    return _finish(cells, clusters, dims, period, min_commenters, resamples, seed)


def _finish(cells: pd.DataFrame, clusters: pd.DataFrame, dims: tuple[str, ...], period: str | None,
            min_commenters: int, resamples: int, seed: int) -> pd.DataFrame:
    """Add intervals, too_few and rank to the SQL cells; order rows and columns."""
    groups: dict[str, tuple[list[float], list[int]]] = {}
    for key, total, n in zip(clusters["_key"], clusters["_sum"], clusters["_n"]):
        sums, counts = groups.setdefault(str(key), ([], []))
        sums.append(float(total))
        counts.append(int(n))
    mean_ci = [cluster_bootstrap(*groups.get(str(key), ([], [])), resamples=resamples, seed=seed, key=str(key))
               for key in cells["_key"]]
    cells["mean_low"] = [low for low, _ in mean_ci]
    cells["mean_high"] = [high for _, high in mean_ci]
    scored = [int(n) for n in cells["n_scored"]]
    for label in ("negative", "neutral", "positive"):
        hits = [int(k) for k in cells[f"k_{label}"]]
        cells[f"share_{label}"] = [k / n if n else None for k, n in zip(hits, scored)]
        if label != "neutral":
            ci = [wilson_interval(k, n) for k, n in zip(hits, scored)]
            cells[f"{label}_low"] = [low for low, _ in ci]
            cells[f"{label}_high"] = [high for _, high in ci]
    for col in ("mean_score", "mean_low", "mean_high", "share_negative", "negative_low", "negative_high",
                "share_neutral", "share_positive", "positive_low", "positive_high"):
        cells[col] = pd.to_numeric(cells[col], errors="coerce").astype(float)
    for col in ("n_units", "n_comments", "n_commenters", "n_scored", "n_dated_by_article"):
        cells[col] = cells[col].fillna(0).astype(int)
    cells["too_few"] = cells["n_commenters"] < int(min_commenters)

    bucket = pd.Series(False, index=cells.index)
    for dim in dims:
        if dim == "theme":
            bucket |= cells["theme_id"].isna()
        elif dim == "region" or dim in PERIODS:
            bucket |= cells[dim].isin(BUCKETS)
    rankable = ~cells["too_few"] & ~bucket & cells["mean_score"].notna()
    ranks = cells["mean_score"].where(rankable).rank(method="min", ascending=False)
    cells["rank"] = pd.array([None if pd.isna(r) else int(r) for r in ranks], dtype="Int64")

    order = []
    for dim in dims:
        column = f"_sort_{dim}"
        if dim == "theme":
            cells[column] = list(zip(cells["theme_id"].isna(), cells["theme_id"].eq(-1),
                                     -cells["_theme_size"].fillna(0), cells["theme_id"].fillna(0)))
        elif dim == "region":
            cells[column] = list(zip(cells["region"].map({UNRESOLVED: 1, NO_PLACE: 2}).fillna(0), cells["region"]))
        elif dim in PERIODS:
            cells[column] = list(zip(cells[dim].eq(UNDATED), cells[dim]))
        elif dim == "article":
            cells[column] = list(zip(cells["_published"].isna(), cells["_published"].astype(str),
                                     cells["article"].fillna(""), cells["article_id"]))
        elif dim == "kind":
            cells[column] = cells["kind"].map({k: i for i, k in enumerate(UNIT_KINDS)})
        elif dim == "voice":
            cells[column] = list(zip(cells["voice"].eq("article text"), cells["voice"].fillna("")))
        order.append(column)
    if order and len(cells):
        cells = cells.sort_values(order, kind="stable")
    if "theme" in dims:
        cells["theme_id"] = cells["theme_id"].astype("Int64")
    columns = [c for d in dims for c in _DIM_COLUMNS[d]] + [
        "n_units", "n_comments", "n_commenters", "n_scored", "mean_score", "mean_low", "mean_high",
        "share_negative", "negative_low", "negative_high", "share_neutral", "share_positive", "positive_low",
        "positive_high",
    ] + (["n_dated_by_article"] if period else []) + ["too_few", "rank"]
    return cells[columns].reset_index(drop=True)
