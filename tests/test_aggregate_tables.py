"""aggregate.sentiment_table: the theme × region × period table on the hand-made store in
tests/fixtures/aggregate_store.py (the expected numbers are worked out in that file's docstring)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from commentminer.aggregate import (
    NO_PLACE, UNDATED, UNRESOLVED, UNTHEMED, cluster_bootstrap, parse_dimensions, resolve_theme, sentiment_table,
    wilson_interval,
)
from commentminer.errors import StoreError
from fixtures.aggregate_store import BACKEND, RESOLVER, RUN_ID, build_aggregate_store


@pytest.fixture
def agg_store(store):
    return build_aggregate_store(store)


def table(store, by=("region", "quarter"), **kwargs):
    kwargs.setdefault("sentiment_backend", BACKEND)
    kwargs.setdefault("resolver_id", RESOLVER)
    kwargs.setdefault("min_commenters", 2)
    return sentiment_table(store, RUN_ID, by=by, **kwargs)


def _wilson_by_hand(k, n, z=1.959963984540054):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_interval_matches_the_formula_and_published_values():
    assert wilson_interval(1, 4) == pytest.approx((0.04559, 0.69936), abs=1e-5)     # textbook 1/4
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)        # stays inside [0, 1]
    assert wilson_interval(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-5)
    for k, n in ((3, 7), (12, 40), (1, 1)):
        assert wilson_interval(k, n) == pytest.approx(_wilson_by_hand(k, n))
    assert wilson_interval(0, 0) == (None, None)


def test_cluster_bootstrap_is_seeded_and_resamples_whole_clusters():
    rng = np.random.default_rng(5)
    sums, counts = rng.normal(size=30), rng.integers(1, 4, size=30)
    first = cluster_bootstrap(sums, counts, resamples=500, seed=1, key="cell")
    assert first == cluster_bootstrap(sums, counts, resamples=500, seed=1, key="cell")    # deterministic
    assert first != cluster_bootstrap(sums, counts, resamples=500, seed=2, key="cell")    # the seed matters
    assert first != cluster_bootstrap(sums, counts, resamples=500, seed=1, key="other")   # and the cell key
    low, high = first
    assert low < sums.sum() / counts.sum() < high
    # Two clusters (0.2 + 0.0 over 2 rows; -0.4 over 1 row): resample means are 0.1, -0.2/3 or -0.4, so the
    # percentile interval is exactly (-0.4, 0.1); resampling rows instead would reach 0.2.
    assert cluster_bootstrap([0.2, -0.4], [2, 1], seed=0, key="k") == pytest.approx((-0.4, 0.1))
    assert cluster_bootstrap([0.5], [3]) == (None, None)                                  # one commenter


def test_region_by_quarter_counts_means_and_intervals(agg_store):
    frame = table(agg_store)
    keys = list(zip(frame.region, frame.quarter))
    assert keys == [("London", "2024-Q1"), ("London", "2024-Q2"), ("North West", UNDATED),
                    ("South West", "2024-Q1"), (UNRESOLVED, UNDATED)]
    rows = frame.set_index(["region", "quarter"])
    q1 = rows.loc[("London", "2024-Q1")]        # k2 (u3) and k3 (u4, u5), dated by their article
    assert (q1.n_units, q1.n_comments, q1.n_commenters, q1.n_scored, q1.n_dated_by_article) == (3, 2, 2, 3, 3)
    assert q1.mean_score == pytest.approx(-0.2 / 3)
    assert (q1.mean_low, q1.mean_high) == pytest.approx((-0.4, 0.1))      # commenters p2 | p1 (two sentences)
    assert (q1.share_negative, q1.share_neutral, q1.share_positive) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert (q1.negative_low, q1.negative_high) == pytest.approx(_wilson_by_hand(1, 3))
    q2 = rows.loc[("London", "2024-Q2")]        # k1 (u1, u2) and k6 (u8, u11), dated by the comment
    assert (q2.n_units, q2.n_comments, q2.n_commenters, q2.n_dated_by_article) == (4, 2, 2, 0)
    assert q2.mean_score == pytest.approx(0.125)
    assert (q2.mean_low, q2.mean_high) == pytest.approx((0.0, 0.25))       # p1: 0.0 / 2 rows, p5: 0.5 / 2 rows
    assert (q2.positive_low, q2.positive_high) == pytest.approx(_wilson_by_hand(3, 4))
    assert (q2["rank"], q1["rank"]) == (1, 2)
    quote = rows.loc[("South West", "2024-Q1")]  # the quoted voice: its own region row, its article's date
    assert (quote.n_units, quote.n_comments, quote.n_commenters) == (1, 0, 1)
    assert quote.mean_score == pytest.approx(-0.2) and quote.too_few and quote["rank"] is pd.NA
    assert math.isnan(quote.mean_low)                                      # one commenter: no interval
    assert rows.loc[(UNRESOLVED, UNDATED)].too_few and rows.loc[("North West", UNDATED)].n_units == 1


def test_undated_is_a_row_and_nothing_is_dropped(agg_store):
    by_year = table(agg_store, by="year").set_index("year")
    assert list(by_year.index) == ["2024", UNDATED]
    assert by_year.loc["2024", "n_units"] == 8 and by_year.loc[UNDATED, "n_units"] == 2    # k4, k5 (article A2)
    assert by_year.loc["2024", "n_dated_by_article"] == 4                   # u3, u4, u5 and the quote
    assert by_year["rank"].loc[UNDATED] is pd.NA                          # a bucket is never ranked
    months = table(agg_store, by="month")
    assert list(months.month) == ["2024-02", "2024-04", "2024-05", UNDATED]
    everything = table(agg_store, by=None)
    assert len(everything) == 1 and everything.n_units.iloc[0] == 10      # comment + quote units (default kinds)


def test_article_units_are_opt_in_and_have_no_place(agg_store):
    assert NO_PLACE not in set(table(agg_store, by="region").region)
    with_articles = table(agg_store, by="region", kinds=["article", "comment", "quote"])
    assert list(with_articles.region)[-1] == NO_PLACE
    no_place = with_articles.set_index("region").loc[NO_PLACE]
    assert (no_place.n_units, no_place.n_comments, no_place.n_commenters, no_place.too_few) == (1, 0, 0, True)
    kinds = table(agg_store, by="kind", kinds=["article", "comment", "quote"])
    assert list(kinds.kind) == ["article", "comment", "quote"] and list(kinds.n_units) == [1, 9, 1]


def test_comment_level_uses_comment_sentiment(agg_store):
    regions = table(agg_store, by="region", level="comment", min_commenters=1).set_index("region")
    london = regions.loc["London"]
    assert (london.n_comments, london.n_commenters, london.n_units, london.n_scored) == (4, 3, 7, 4)
    assert london.mean_score == pytest.approx(0.05)                        # (0.3 - 0.4 + 0.1 + 0.2) / 4
    assert (london.negative_low, london.negative_high) == pytest.approx((0.04559, 0.69936), abs=1e-5)
    assert list(regions.index) == ["London", "North West", UNRESOLVED]
    assert list(regions["rank"]) == [1, 2, pd.NA]                         # Unresolved is never ranked
    strict = table(agg_store, by="region", level="comment", min_commenters=2).set_index("region")
    assert strict.too_few.to_dict() == {"London": False, "North West": True, UNRESOLVED: True}
    assert strict["rank"].loc["London"] == 1 and strict["rank"].loc["North West"] is pd.NA


def test_comment_level_by_theme_counts_a_comment_once_per_theme(agg_store):
    themes = table(agg_store, by="theme", level="comment", min_commenters=1)
    assert list(themes.theme) == ["waiting times", "Money matters", UNTHEMED]
    waiting = themes.iloc[0]
    assert (waiting.theme_id, waiting.n_comments, waiting.n_commenters, waiting.n_units) == (0, 5, 4, 6)
    assert waiting.mean_score == pytest.approx(0.1)
    money = themes.iloc[1]
    assert (money.n_comments, money.n_units) == (2, 2) and money.mean_score == pytest.approx(-0.15)
    assert themes.iloc[2].n_comments == 1 and themes["rank"].iloc[2] is pd.NA     # k6's unthemed sentence


def test_theme_filter_by_label_name_id_and_parent(agg_store):
    waiting = table(agg_store, by="region", theme="WAITING TIMES").set_index("region")
    assert list(waiting.index) == ["London", "South West", UNRESOLVED]
    assert (waiting.loc["London", "n_units"], waiting.loc["London", "n_comments"],
            waiting.loc["London", "n_commenters"]) == (5, 4, 3)
    money = table(agg_store, by=None, theme="money matters")               # a guided theme's name
    assert money.n_units.iloc[0] == 2 and money.mean_score.iloc[0] == pytest.approx(-0.55)
    assert table(agg_store, by=None, theme="1", kinds=["comment", "quote", "article"]).n_units.iloc[0] == 3
    assert table(agg_store, by=None, theme="health services").n_units.iloc[0] == 9      # parent: both children
    assert resolve_theme(agg_store, RUN_ID, 10) == (10, [0, 1])
    with pytest.raises(StoreError, match=r"theme 'nope' not found in run run_agg \(available: .*waiting times"):
        table(agg_store, theme="nope")


def test_only_the_chosen_backend_and_resolver_are_read(agg_store):
    decoy = table(agg_store, by="region", sentiment_backend="decoy.v9")
    assert (decoy.mean_score == 1.0).all() and decoy.n_units.sum() == 10
    unscored = table(agg_store, by="region", sentiment_backend=None)
    assert (unscored.n_scored == 0).all() and unscored.mean_score.isna().all() and unscored["rank"].isna().all()
    assert unscored.n_units.sum() == 10                                   # counted, just not scored
    no_regions = table(agg_store, by="region", resolver_id=None)
    assert list(no_regions.region) == [UNRESOLVED]


def test_dimension_and_level_errors(agg_store):
    assert parse_dimensions("Theme, region,quarter") == ("theme", "region", "quarter")
    with pytest.raises(StoreError, match=r"unknown dimension 'week' \(valid: theme, region, month, quarter"):
        table(agg_store, by="region,week")
    with pytest.raises(StoreError, match="at most one period"):
        table(agg_store, by="month,quarter")
    with pytest.raises(StoreError, match="unknown level"):
        table(agg_store, level="sentence")
    with pytest.raises(StoreError, match="unknown unit kind"):
        table(agg_store, kinds=["tweet"])


def test_theme_region_quarter_and_article_columns(agg_store):
    frame = table(agg_store, by="theme,region,quarter,article")
    assert list(frame.columns[:6]) == ["theme_id", "theme", "region", "quarter", "article_id", "article"]
    assert frame.n_units.sum() == 10 and frame.theme.iloc[-1] == UNTHEMED   # u11 (unthemed) last, not dropped
    assert set(frame.article) == {"Surgery waits", "Funding row"}


def test_voice_dimension_gives_sentiment_per_commenter_and_per_quoted_speaker(agg_store):
    voices = table(agg_store, by="voice").set_index("voice")
    # p1 wrote k1 (u1 0.5, u2 -0.5) and k3 (u4 0.2, u5 0.0): one voice, 2 comments, 4 units, mean 0.05
    p1 = voices.loc["Name p1, Somewhere"]
    assert (p1.n_units, p1.n_comments, p1.n_commenters) == (4, 2, 1)
    assert p1.mean_score == pytest.approx(0.05)
    # the quoted speaker is a voice of its own, with the place from the quote
    jane = voices.loc["Dr Jane Roe, Bristol"]
    assert (jane.n_units, jane.n_comments, jane.n_commenters) == (1, 0, 1)
    assert jane.mean_score == pytest.approx(-0.2)
    assert len(voices) == 6                                   # p1..p5 + the quoted speaker
    assert voices["too_few"].all() and voices["rank"].isna().all()
    quotes_only = table(agg_store, by="voice", kinds=["quote"])
    assert quotes_only["voice"].tolist() == ["Dr Jane Roe, Bristol"]
