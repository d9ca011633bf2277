"""aggregate: counts, means, shares and intervals on the hand-made store in tests/fixtures/report_store.py."""

from __future__ import annotations

import math

import pytest

from commentminer.aggregate import (
    UNRESOLVED, article_sentiment, choose_id, comments_table, corpus_overview, errors_by_reason, region_sentiment,
    run_info, theme_quotes, theme_summary, unit_themes_table, units_table, unresolved_places,
)
from commentminer.errors import StoreError
from fixtures.report_store import RESOLVER, RUN_ID, SENTIMENT_BACKEND, XSS_PLACE, build_report_store


@pytest.fixture
def filled(store):
    return build_report_store(store)


def test_choose_id_prefers_the_configured_backend_and_falls_back_to_the_only_one(filled):
    assert choose_id(filled, "sentiment", prefix="vader.v1") == "vader.v1"
    assert choose_id(filled, "sentiment", prefix="other") == "other.v9"
    assert choose_id(filled, "regions", prefix="something.else") == RESOLVER  # only one stored: use it
    assert choose_id(filled, "regions", prefix="gazetteer.v1", preferred="gazetteer.v1+missing") == RESOLVER


def test_choose_id_with_several_prefix_matches_is_deterministic(store):
    assert choose_id(store, "regions", prefix="gazetteer.v1") is None        # empty table
    import pandas as pd
    from commentminer.schema import REGIONS
    rows = [{"subject_kind": "comment", "subject_id": f"c{i}", "resolver_id": rid, "place_raw": None,
             "region": None, "matched_name": None, "method": "none", "confidence": 0.0, "reason": "no_place"}
            for rid, n in (("gazetteer.v1+old", 3), ("gazetteer.v1+new", 3), ("manual.v1", 9)) for i in range(n)]
    store.upsert("regions", pd.DataFrame(rows, columns=REGIONS.column_names))
    assert choose_id(store, "regions", prefix="gazetteer.v1") == "gazetteer.v1+old"   # tie -> larger id
    assert choose_id(store, "regions", prefix="gazetteer.v1", preferred="gazetteer.v1+new") == "gazetteer.v1+new"


def test_corpus_overview_counts(filled):
    row = corpus_overview(filled, RESOLVER).iloc[0]
    assert (row.n_articles, row.n_comments, row.n_commenters, row.n_withheld) == (2, 6, 5, 1)
    assert (row.n_units, row.n_units_article, row.n_units_comment, row.n_units_quote) == (10, 1, 8, 1)
    assert str(row.first_published.date()) == "2024-03-01" and str(row.last_published.date()) == "2024-04-15"
    assert row.n_errors == 2 and row.n_unresolved_places == 1 and row.n_without_place == 1
    reasons = errors_by_reason(filled)
    assert dict(zip(reasons.reason, reasons.n)) == {"empty_file": 1, "binary_file": 1}
    places = unresolved_places(filled, RESOLVER)
    assert places.to_dict("records") == [
        {"place": XSS_PLACE, "reason": "not_found", "method": "none", "n_comments": 1, "n_commenters": 1}
    ]


def test_region_sentiment_matches_hand_computation(filled):
    regions = region_sentiment(filled, SENTIMENT_BACKEND, RESOLVER, min_commenters=2).set_index("region")
    assert list(regions.index) == ["Yorkshire and The Humber", "London", UNRESOLVED]  # ranked, too few, unresolved
    yorkshire = regions.loc["Yorkshire and The Humber"]
    assert (yorkshire.n_comments, yorkshire.n_commenters) == (3, 2)   # Alice commented twice
    assert yorkshire.mean_score == pytest.approx((0.6 - 0.4 + 0.8) / 3)
    assert yorkshire.share_negative == pytest.approx(1 / 3) and yorkshire.share_positive == pytest.approx(2 / 3)
    # Bootstrap clustered by commenter: Alice (c1 0.6, c5 0.8) and Bob (c2 -0.4) are two clusters; a resample is
    # Alice twice (mean 0.7, p 1/4), Bob twice (-0.4, p 1/4) or both ((1.4 - 0.4) / 3, p 1/2), so the 2.5% and
    # 97.5% percentiles are -0.4 and 0.7 (resampling comments instead would reach 0.8).
    assert (yorkshire.ci_low, yorkshire.ci_high) == pytest.approx((-0.4, 0.7))
    assert not yorkshire.too_few and yorkshire["rank"] == 1
    london = regions.loc["London"]
    assert london.too_few and london.n_comments == 1 and london.mean_score == pytest.approx(-0.5)
    assert london.ci_low is None or math.isnan(london.ci_low)          # one comment: no interval
    assert london["rank"] is None or str(london["rank"]) == "<NA>"
    unresolved = regions.loc[UNRESOLVED]                                # withheld + place not found
    assert (unresolved.n_comments, unresolved.n_commenters) == (2, 2)
    assert unresolved.mean_score == pytest.approx(-0.1) and unresolved.share_neutral == pytest.approx(0.5)
    assert not unresolved.is_region


def test_too_few_follows_min_commenters(filled):
    strict = region_sentiment(filled, SENTIMENT_BACKEND, RESOLVER, min_commenters=3).set_index("region")
    assert strict.too_few.to_dict() == {"Yorkshire and The Humber": True, "London": True, UNRESOLVED: True}
    assert strict["rank"].isna().all()
    loose = region_sentiment(filled, SENTIMENT_BACKEND, RESOLVER, min_commenters=1)
    assert list(loose.region) == ["Yorkshire and The Humber", "London", UNRESOLVED]   # ranked by mean score
    assert list(loose["rank"].iloc[:2]) == [1, 2]


def test_region_sentiment_reads_only_the_chosen_backend(filled):
    other = region_sentiment(filled, "other.v9", RESOLVER, min_commenters=1)
    assert (other.mean_score == 1.0).all()
    vader = region_sentiment(filled, SENTIMENT_BACKEND, RESOLVER, min_commenters=1)
    assert vader.n_comments.sum() == 6                                 # no comment counted twice
    no_regions = region_sentiment(filled, SENTIMENT_BACKEND, None, min_commenters=1)
    assert list(no_regions.region) == [UNRESOLVED] and no_regions.n_comments.iloc[0] == 6


def test_theme_summary_sizes_and_unit_sentiment(filled):
    themes = theme_summary(filled, RUN_ID, SENTIMENT_BACKEND)
    assert list(themes.theme_id) == [0, 1, -1]                          # by size, outlier last; no run_old
    first = themes.iloc[0]
    assert first.label == "appointment booking" and first.keywords == ["appointments", "booking", "waiting times"]
    assert (first.n_units, first.n_comments, first.n_commenters, first.n_scored) == (4, 3, 2, 4)
    assert first.mean_score == pytest.approx((0.7 + 0.0 - 0.6 + 0.8) / 4)
    assert (first.share_negative, first.share_neutral, first.share_positive) == pytest.approx((0.25, 0.25, 0.5))
    funding = themes.iloc[1]
    assert funding.mean_score == pytest.approx((-0.2 + 0.0 - 0.5 - 0.3) / 4) and funding.share_positive == 0


def test_theme_quotes_are_ordered_limited_and_attributed(filled):
    quotes = theme_quotes(filled, RUN_ID, SENTIMENT_BACKEND)
    assert list(quotes[quotes.theme_id == 0].unit_id) == ["u1", "u3", "u7"]
    limited = theme_quotes(filled, RUN_ID, SENTIMENT_BACKEND, n_quotes=2)
    assert limited.groupby("theme_id").size().to_dict() == {0: 2, 1: 2}
    by_unit = quotes.set_index("unit_id")
    assert by_unit.loc["u1", "name"] == "Alice Smith" and by_unit.loc["u1", "place"] == "Leeds"
    assert by_unit.loc["u1", "article_title"] == "Surgery closures: what readers say"
    assert bool(by_unit.loc["u5", "withheld"])
    assert by_unit.loc["u10", "speaker"] == "Dr Jane Roe" and by_unit.loc["u10", "speaker_place"] == "Bristol"
    assert by_unit.loc["u1", "label"] == "positive"


def test_article_sentiment(filled):
    articles = article_sentiment(filled, SENTIMENT_BACKEND).set_index("article_id")
    assert articles.loc["a1", "n_comments"] == 3 and articles.loc["a1", "n_units"] == 6
    assert articles.loc["a1", "mean_score"] == pytest.approx((0.6 - 0.4 - 0.2) / 3, abs=1e-12)
    assert articles.loc["a2", "mean_score"] == pytest.approx((0.0 + 0.8 - 0.5) / 3)
    assert articles.loc["a2", "n_units"] == 4 and articles.loc["a2", "share_negative"] == pytest.approx(1 / 3)


def test_export_tables(filled):
    comments = comments_table(filled, SENTIMENT_BACKEND, RESOLVER)
    assert len(comments) == 6 and comments.comment_id.is_unique
    row = comments.set_index("comment_id").loc["c6"]
    assert (row.region, row.region_method, row.sentiment_label, row.sentiment_score) == ("London", "county", "negative", -0.5)
    assert comments.set_index("comment_id").loc["c3", "region"] == UNRESOLVED
    units = units_table(filled, RUN_ID, SENTIMENT_BACKEND)
    assert len(units) == 10 and units.set_index("unit_id").loc["u1", "theme_label"] == "appointment booking"
    members = unit_themes_table(filled, RUN_ID)
    assert len(members) == 10 and set(members.run_id) == {RUN_ID}


def test_run_info_and_missing_run(filled):
    assert run_info(filled, RUN_ID).iloc[0].status == "ok"
    with pytest.raises(StoreError, match="run 'nope' not found"):
        run_info(filled, "nope")
