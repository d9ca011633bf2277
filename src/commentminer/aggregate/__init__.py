"""aggregate: SQL over the store returning DataFrames (themes, regions, articles, overview, exports)."""

from .backends import choose_id
from .queries import (
    UNRESOLVED, article_sentiment, comments_table, corpus_overview, errors_by_reason, quarantined_items,
    region_sentiment, run_info, theme_changes, theme_periods, theme_quotes, theme_summary, unit_themes_table,
    units_table, unresolved_places,
)
from .stats import INTERVAL_METHOD, mean_interval

__all__ = [
    "INTERVAL_METHOD", "UNRESOLVED", "article_sentiment", "choose_id", "comments_table", "corpus_overview",
    "errors_by_reason", "mean_interval", "quarantined_items", "region_sentiment", "run_info", "theme_changes",
    "theme_periods", "theme_quotes", "theme_summary", "unit_themes_table", "units_table", "unresolved_places",
]
