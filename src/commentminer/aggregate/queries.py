"""SQL over the store: each function returns one tidy DataFrame for the report and the exports.

Corpus tables (articles, comments, units) and the per-backend tables (sentiment, regions) are not per run; the
per-run tables (themes, unit_themes, runs) are filtered by `run_id`. Functions that read sentiment or regions
take the backend id to read (see `backends.choose_id`), so a store holding several backends' rows never counts
a comment twice. A None backend id matches no rows: scores and regions then come out null / "Unresolved".
"""

from __future__ import annotations

import pandas as pd

from ..errors import StoreError
from ..store import Store

from .tables import UNDATED, UNRESOLVED  # the undated period; the region of unresolved or missing places

# Shares of each label among scored rows of alias `s`; FILTER keeps unscored rows out of the denominator.
_SHARES = """
    count(s.label) AS n_scored,
    avg(s.score) AS mean_score,
    count(*) FILTER (WHERE s.label = 'negative') / nullif(count(s.label), 0) AS share_negative,
    count(*) FILTER (WHERE s.label = 'neutral') / nullif(count(s.label), 0) AS share_neutral,
    count(*) FILTER (WHERE s.label = 'positive') / nullif(count(s.label), 0) AS share_positive
"""


def run_info(store: Store, run_id: str) -> pd.DataFrame:
    """The `runs` row of `run_id` (one row). Raises StoreError when the run is not in the store."""
    frame = store.read("runs", "run_id = ?", [run_id])
    if frame.empty:
        raise StoreError(f"{store.path}: run '{run_id}' not found in the store (see the runs table)")
    return frame


def corpus_overview(store: Store, resolver_id: str | None, include_truncated: bool = False) -> pd.DataFrame:
    """One row: corpus sizes, units by kind, date span, quarantined errors and unresolved places.

    Commenters are counted without comments the page cut off (`truncated`) unless `include_truncated`
    ([segment] analyse_truncated).

    n_unresolved_places counts comments that name a place the resolver could not place in a region;
    n_without_place counts comments with no place at all (withheld or unsigned).
    """
    return store.query(
        """
        WITH placed AS (
            SELECT c.comment_id, c.place, r.region
            FROM comments c LEFT JOIN regions r
              ON r.subject_kind = 'comment' AND r.subject_id = c.comment_id AND r.resolver_id = ?
        )
        SELECT
            (SELECT count(*) FROM articles) AS n_articles,
            (SELECT count(*) FROM comments) AS n_comments,
            (SELECT count(DISTINCT coalesce(commenter_id, comment_id)) FROM comments
             WHERE ? OR NOT coalesce(truncated, FALSE)) AS n_commenters,  -- a cut-off comment is no one
            (SELECT count(*) FROM comments WHERE withheld) AS n_withheld,
            (SELECT count(*) FROM units) AS n_units,
            (SELECT count(*) FROM units WHERE kind = 'article') AS n_units_article,
            (SELECT count(*) FROM units WHERE kind = 'comment') AS n_units_comment,
            (SELECT count(*) FROM units WHERE kind = 'quote') AS n_units_quote,
            (SELECT min(published) FROM articles) AS first_published,
            (SELECT max(published) FROM articles) AS last_published,
            (SELECT count(*) FROM articles WHERE published IS NULL) AS n_undated_articles,
            (SELECT count(*) FROM errors) AS n_errors,
            (SELECT count(*) FROM placed WHERE place IS NOT NULL AND region IS NULL) AS n_unresolved_places,
            (SELECT count(*) FROM placed WHERE place IS NULL) AS n_without_place
        """,
        [resolver_id, include_truncated],
    )


def errors_by_reason(store: Store) -> pd.DataFrame:
    """Quarantined items counted by stage and reason (most frequent first)."""
    return store.query(
        "SELECT stage, reason, count(*) AS n FROM errors GROUP BY stage, reason ORDER BY n DESC, stage, reason"
    )


def quarantined_items(store: Store) -> pd.DataFrame:
    """Every quarantined item: stage, uri, item_ref, reason, detail, created_at (stable order)."""
    return store.query(
        "SELECT stage, uri, item_ref, reason, detail, created_at FROM errors ORDER BY stage, uri, item_ref, reason"
    )


def unresolved_places(store: Store, resolver_id: str | None) -> pd.DataFrame:
    """Comment places that did not resolve to a region: place, resolver reason, comments and commenters."""
    return store.query(
        """
        SELECT c.place, any_value(r.reason) AS reason, any_value(r.method) AS method,
               count(*) AS n_comments, count(DISTINCT coalesce(c.commenter_id, c.comment_id)) AS n_commenters
        FROM comments c LEFT JOIN regions r
          ON r.subject_kind = 'comment' AND r.subject_id = c.comment_id AND r.resolver_id = ?
        WHERE c.place IS NOT NULL AND r.region IS NULL
        GROUP BY c.place ORDER BY n_comments DESC, c.place
        """,
        [resolver_id],
    )


def theme_summary(store: Store, run_id: str, sentiment_backend: str | None) -> pd.DataFrame:
    """Themes of a run with sizes and unit-level sentiment.

    Columns: theme_id, label, keywords (list of str), kind, n_units, n_comments, n_commenters, name, parent_id,
    summary, summary_unit_ids, focus, loose (as stored by the themes stage; focus and loose are null for "other"
    and for runs stored before they existed), share_units, n_scored, mean_score, share_negative/neutral/positive
    (over member units scored by `sentiment_backend`). Order: discovered themes by size, the outlier theme (-1)
    last.
    """
    frame = store.query(
        f"""
        WITH leaf AS (  -- a parent theme's units are its children's units
            SELECT ut.unit_id, ut.theme_id FROM unit_themes ut WHERE ut.run_id = ?
            UNION ALL
            SELECT ut.unit_id, c.parent_id FROM unit_themes ut
            JOIN themes c ON c.run_id = ut.run_id AND c.theme_id = ut.theme_id
            WHERE ut.run_id = ? AND c.parent_id IS NOT NULL
        )
        SELECT t.theme_id, t.label, t.keywords, t.kind, t.n_units, t.n_comments, t.n_commenters,
               t.name, t.parent_id, t.summary, t.summary_unit_ids, t.focus, t.loose,
               t.n_units / nullif(sum(t.n_units) FILTER (WHERE t.kind <> 'parent') OVER (), 0) AS share_units,
               {_SHARES}
        FROM themes t
        LEFT JOIN leaf ut ON ut.theme_id = t.theme_id
        LEFT JOIN sentiment s ON s.target_kind = 'unit' AND s.target_id = ut.unit_id AND s.backend_id = ?
        WHERE t.run_id = ?
        GROUP BY t.theme_id, t.label, t.keywords, t.kind, t.n_units, t.n_comments, t.n_commenters,
                 t.name, t.parent_id, t.summary, t.summary_unit_ids, t.focus, t.loose
        ORDER BY t.theme_id = -1, t.n_units DESC, t.theme_id
        """,
        [run_id, run_id, sentiment_backend, run_id],
    )
    for column in ("keywords", "summary_unit_ids"):
        frame[column] = [[str(k) for k in kws] if _is_list(kws) else [] for kws in frame[column]]
    return frame


PERIOD_FORMATS = {"month": "%Y-%m", "quarter": None, "year": "%Y"}


def theme_periods(store: Store, run_id: str, period: str = "quarter") -> pd.DataFrame:
    """Theme prevalence per period: theme_id, period ("2011-Q3", "2011-09", "2011"; "Undated" when neither the
    comment nor its article has a date), n_units, n_comments, n_commenters, share_units (of all themed units in
    that period). A unit's date is its comment's date, else its article's publication date. Parent themes count
    their children's units.
    """
    if period not in PERIOD_FORMATS:
        raise StoreError(f"unknown theme period '{period}' (use month, quarter or year)")
    label = ("strftime(d, '%Y') || '-Q' || quarter(d)" if period == "quarter"
             else f"strftime(d, '{PERIOD_FORMATS[period]}')")
    return store.query(
        f"""
        WITH dated AS (
            SELECT ut.unit_id, ut.theme_id, u.comment_id, c.commenter_id,
                   coalesce(c.published, a.published) AS d
            FROM unit_themes ut
            JOIN units u ON u.unit_id = ut.unit_id
            LEFT JOIN comments c ON c.comment_id = u.comment_id
            LEFT JOIN articles a ON a.article_id = u.article_id
            WHERE ut.run_id = ?
        ),
        leaf AS (
            SELECT theme_id, unit_id, comment_id, commenter_id,
                   CASE WHEN d IS NULL THEN '{UNDATED}' ELSE {label} END AS period
            FROM dated
        ),
        tagged AS (
            SELECT * FROM leaf
            UNION ALL
            SELECT t.parent_id, l.unit_id, l.comment_id, l.commenter_id, l.period
            FROM leaf l JOIN themes t ON t.run_id = ? AND t.theme_id = l.theme_id WHERE t.parent_id IS NOT NULL
        ),
        per_period AS (SELECT period, count(*) AS n FROM leaf GROUP BY period)
        SELECT g.theme_id, g.period, count(*) AS n_units, count(DISTINCT g.comment_id) AS n_comments,
               count(DISTINCT g.commenter_id) AS n_commenters, count(*) / any_value(p.n) AS share_units
        FROM tagged g JOIN per_period p ON p.period = g.period
        GROUP BY g.theme_id, g.period
        ORDER BY g.theme_id, g.period = '{UNDATED}', g.period
        """,
        [run_id, run_id],
    )


def theme_changes(store: Store, run_id: str) -> pd.DataFrame:
    """The run's change log against the previous run: seq, previous_run_id, change, from_ids, to_ids, detail."""
    frame = store.query(
        "SELECT seq, previous_run_id, change, from_ids, to_ids, detail FROM theme_changes WHERE run_id = ? ORDER BY seq",
        [run_id],
    )
    for column in ("from_ids", "to_ids"):
        frame[column] = [[int(i) for i in ids] if _is_list(ids) else [] for ids in frame[column]]
    return frame


def theme_quotes(store: Store, run_id: str, sentiment_backend: str | None = None,
                 n_quotes: int | None = None) -> pd.DataFrame:
    """Representative quotes per theme (unit_themes.quote_rank not null), best first, at most `n_quotes` each.

    Columns: theme_id, quote_rank, unit_id, kind, text, comment_id, name, place, withheld (the commenter, for
    comment units), speaker, speaker_place (quoted voices in articles), article_title, label, score.
    """
    limit = "" if n_quotes is None else "QUALIFY row_number() OVER (PARTITION BY ut.theme_id ORDER BY ut.quote_rank) <= ?"
    params: list = [sentiment_backend, run_id] + ([] if n_quotes is None else [n_quotes])
    return store.query(
        f"""
        SELECT ut.theme_id, ut.quote_rank, u.unit_id, u.kind, u.text, u.comment_id,
               c.name, c.place, coalesce(c.withheld, FALSE) AS withheld,
               u.speaker, u.place AS speaker_place, u.article_id, a.title AS article_title, s.label, s.score
        FROM unit_themes ut
        JOIN units u ON u.unit_id = ut.unit_id
        LEFT JOIN comments c ON c.comment_id = u.comment_id
        LEFT JOIN articles a ON a.article_id = u.article_id
        LEFT JOIN sentiment s ON s.target_kind = 'unit' AND s.target_id = u.unit_id AND s.backend_id = ?
        WHERE ut.run_id = ? AND ut.quote_rank IS NOT NULL
        {limit}
        ORDER BY ut.theme_id, ut.quote_rank, u.unit_id
        """,
        params,
    )


def region_sentiment(store: Store, sentiment_backend: str | None, resolver_id: str | None,
                     min_commenters: int, resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Comment sentiment per region: `tables.sentiment_table(by="region", level="comment")` in ranking order.

    Only comments scored by `sentiment_backend` count. Region null (unresolved place, no place, or no regions
    row) becomes "Unresolved". Columns: region, n_comments, n_commenters, mean_score, ci_low, ci_high (95%
    bootstrap clustered by commenter), share_negative/neutral/positive, negative_low/high, positive_low/high
    (Wilson), too_few (distinct commenters < min_commenters), is_region, rank. Order: regions with enough
    commenters by mean score (rank 1 = most positive), then too-few regions alphabetically (never ranked), then
    "Unresolved".
    """
    from .tables import sentiment_table

    frame = sentiment_table(store, "", by=("region",), level="comment", min_commenters=min_commenters,
                            sentiment_backend=sentiment_backend, resolver_id=resolver_id, resamples=resamples,
                            seed=seed)
    frame = frame[frame["n_scored"] > 0].rename(columns={"mean_low": "ci_low", "mean_high": "ci_high"})
    frame["n_comments"] = frame.pop("n_scored")   # scored comments only, as before
    frame["is_region"] = frame["region"] != UNRESOLVED
    # Sort key: 0 = ranked (by rank), 1 = too few (by name), 2 = Unresolved.
    frame["_group"] = frame["rank"].isna().astype(int) + (~frame["is_region"]).astype(int)
    frame["_key"] = frame["rank"].fillna(0).astype(int)
    frame = frame.sort_values(["_group", "_key", "region"], kind="stable").drop(columns=["_group", "_key"])
    columns = ["region", "n_comments", "n_commenters", "mean_score", "ci_low", "ci_high", "share_negative",
               "negative_low", "negative_high", "share_neutral", "share_positive", "positive_low", "positive_high",
               "too_few", "is_region", "rank"]
    return frame[columns].reset_index(drop=True)


def article_sentiment(store: Store, sentiment_backend: str | None) -> pd.DataFrame:
    """Per article: title, published, n_comments, mean comment score and label shares, n_units (all kinds)."""
    return store.query(
        f"""
        WITH scored AS (
            SELECT c.article_id, {_SHARES}
            FROM comments c
            LEFT JOIN sentiment s ON s.target_kind = 'comment' AND s.target_id = c.comment_id AND s.backend_id = ?
            GROUP BY c.article_id
        ),
        unit_counts AS (SELECT article_id, count(*) AS n_units FROM units GROUP BY article_id),
        comment_counts AS (SELECT article_id, count(*) AS n_comments FROM comments GROUP BY article_id)
        SELECT a.article_id, a.title, a.published, a.uri,
               coalesce(cc.n_comments, 0) AS n_comments, coalesce(sc.n_scored, 0) AS n_scored, sc.mean_score,
               sc.share_negative, sc.share_neutral, sc.share_positive, coalesce(uc.n_units, 0) AS n_units
        FROM articles a
        LEFT JOIN scored sc ON sc.article_id = a.article_id
        LEFT JOIN unit_counts uc ON uc.article_id = a.article_id
        LEFT JOIN comment_counts cc ON cc.article_id = a.article_id
        ORDER BY a.published NULLS LAST, a.title, a.article_id
        """,
        [sentiment_backend],
    )


def comments_table(store: Store, sentiment_backend: str | None, resolver_id: str | None) -> pd.DataFrame:
    """One row per comment for export: ids, article title, position, commenter, region, sentiment, text."""
    return store.query(
        f"""
        SELECT c.comment_id, c.article_id, a.title AS article_title, c.position, c.name, c.place, c.withheld,
               c.commenter_id, coalesce(r.region, '{UNRESOLVED}') AS region, r.method AS region_method,
               r.confidence AS region_confidence, r.reason AS region_reason,
               s.label AS sentiment_label, s.score AS sentiment_score, c.text
        FROM comments c
        LEFT JOIN articles a ON a.article_id = c.article_id
        LEFT JOIN regions r
          ON r.subject_kind = 'comment' AND r.subject_id = c.comment_id AND r.resolver_id = ?
        LEFT JOIN sentiment s ON s.target_kind = 'comment' AND s.target_id = c.comment_id AND s.backend_id = ?
        ORDER BY a.published NULLS LAST, a.title, c.article_id, c.position
        """,
        [resolver_id, sentiment_backend],
    )


def units_table(store: Store, run_id: str, sentiment_backend: str | None) -> pd.DataFrame:
    """Every unit with its theme in this run (null when not themed) and its unit-level sentiment."""
    return store.query(
        """
        SELECT u.unit_id, u.kind, u.article_id, u.comment_id, u.position, u.char_start, u.char_end,
               u.speaker, u.place, ut.theme_id, t.label AS theme_label, ut.probability, ut.quote_rank,
               s.label AS sentiment_label, s.score AS sentiment_score, u.text
        FROM units u
        LEFT JOIN unit_themes ut ON ut.unit_id = u.unit_id AND ut.run_id = ?
        LEFT JOIN themes t ON t.run_id = ut.run_id AND t.theme_id = ut.theme_id
        LEFT JOIN sentiment s ON s.target_kind = 'unit' AND s.target_id = u.unit_id AND s.backend_id = ?
        ORDER BY u.article_id, u.kind, u.comment_id NULLS FIRST, u.position, u.unit_id
        """,
        [run_id, sentiment_backend],
    )


def unit_themes_table(store: Store, run_id: str) -> pd.DataFrame:
    """The run's unit_themes rows (schema columns) ordered by theme then unit."""
    return store.read("unit_themes", "run_id = ? ORDER BY theme_id, unit_id", [run_id])


def sentiment_rows(store: Store, sentiment_backend: str | None) -> pd.DataFrame:
    """The `sentiment` rows of one backend (schema columns), units then comments, by target id."""
    return store.read("sentiment", "backend_id = ? ORDER BY target_kind DESC, target_id", [sentiment_backend])


def region_rows(store: Store, resolver_id: str | None) -> pd.DataFrame:
    """The `regions` rows of one resolver (schema columns: place -> region per comment or quote unit)."""
    return store.read("regions", "resolver_id = ? ORDER BY subject_kind, subject_id", [resolver_id])


def source_list(store: Store) -> pd.DataFrame:
    """Every ingested source without its text: source_id, uri, format, sha256, size_bytes, ingested_at."""
    return store.query("SELECT source_id, uri, format, sha256, size_bytes, ingested_at FROM sources "
                       "ORDER BY uri, source_id")


def _is_list(value: object) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str)
