"""aggregate: SQL over the store returning DataFrames (themes, regions, periods, articles, overview, exports).

`sentiment_table` is the generic theme × region × period table behind `commentminer query` and the report.
"""

from .backends import choose_id, run_backends
from .growth import theme_growth
from .queries import (
    UNRESOLVED, article_sentiment, comments_table, corpus_overview, errors_by_reason, quarantined_items,
    region_rows, region_sentiment, run_info, sentiment_rows, source_list, theme_changes, theme_periods,
    theme_quotes, theme_summary, unit_themes_table, units_table, unresolved_places,
)
from .stats import INTERVAL_METHOD, cluster_bootstrap, interval_method, wilson_interval
from .tables import DIMENSIONS, NO_PLACE, UNDATED, UNTHEMED, parse_dimensions, resolve_theme, sentiment_table

__all__ = [
    "DIMENSIONS", "INTERVAL_METHOD", "NO_PLACE", "UNDATED", "UNRESOLVED", "UNTHEMED", "article_sentiment",
    "choose_id", "cluster_bootstrap", "comments_table", "corpus_overview", "errors_by_reason", "interval_method",
    "parse_dimensions", "quarantined_items", "region_rows", "region_sentiment", "resolve_theme", "run_backends",
    "run_info", "sentiment_rows", "sentiment_table", "source_list", "theme_changes", "theme_growth", "theme_periods", "theme_quotes",
    "theme_summary", "unit_themes_table", "units_table", "unresolved_places", "wilson_interval",
]
