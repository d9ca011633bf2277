"""Issue 14 part 1: Management in Practice / Nursing in Practice layouts the text-dump and HTML parsers must read.

Fixtures in fixtures/layouts were written for these tests (no page text copied); golden.json holds every field of
every article and comment. Then the stage-level consequences: a page cut mid-comment is stored once, marked
truncated, quarantined with a reason and left out of units, regions and commenter counts; a page without a header
keeps its body whole with a null title; a town inside an organisation's name loses to a stated county.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commentminer.aggregate.queries import corpus_overview
from commentminer.ingest.stage import ingest_paths
from commentminer.parse.html_page import HtmlPageParser
from commentminer.parse.stage import run as parse_run
from commentminer.parse.text_dump import TextDumpParser, body_date, looks_like_byline
from fixtures.golden import as_golden

LAYOUTS = Path(__file__).resolve().parent / "fixtures" / "layouts"
GOLDEN = json.loads((LAYOUTS / "golden.json").read_text("utf-8"))
FILES = sorted(name for name in GOLDEN if not name.startswith("_"))


def _parse(name: str):
    parser = HtmlPageParser() if name.endswith(".html") else TextDumpParser()
    return parser.parse_source((LAYOUTS / name).read_text("utf-8"), str(LAYOUTS / name))


def test_every_layout_fixture_has_a_golden():
    assert sorted(p.name for p in LAYOUTS.iterdir() if p.suffix != ".json") == FILES


@pytest.mark.parametrize("name", FILES)
def test_layout_golden(name):
    assert as_golden(_parse(name)) == GOLDEN[name]


def test_header_variants_keep_signatures_out_of_the_body():
    for name in ("header_colon_terms.txt", "header_colon_no_final.txt", "mip_colon_header.html"):
        (article,) = _parse(name)
        assert "Your comments" not in article.body and "Terms and conditions" not in article.body, name
        assert article.comments and all(c.name or c.withheld for c in article.comments), name


def test_blog_layout_reads_byline_and_date_before_the_headline():
    (article,) = _parse("blog_layout.txt")
    assert (article.title, article.byline, str(article.published)) == (
        "Why I still love running a practice", "Rachel Green", "2012-11-14")
    assert not article.body.startswith(("by ", "Why I still"))


@pytest.mark.parametrize("text, expected", [
    ("Priya Shah and Tom Ellis-Baker", True), ("Ann Lee & Bo Ng", True), ("Ann Lee, Bo Ng and Cy Day", True),
    ("Ann Lee", True), ("the regional team", False), ("Ann Lee and the board", False), ("2 September 2011", False),
])
def test_bylines(text, expected):
    assert looks_like_byline(text) is expected


def test_body_date_needs_a_publishing_phrase():
    assert body_date("The survey, published today (3 June 2008), shows...")[1] == "3 June 2008"
    assert body_date("Issued on 4 July 2009 by the board.")[1] == "4 July 2009"
    assert body_date("On 3 June 2008 the board met.") is None  # a date in prose is not the article's date


def test_page_without_header_keeps_its_first_sentence_in_the_body():
    (article,) = _parse("no_header.txt")
    assert article.title is None
    assert article.body.startswith("The national survey of practice staff, published today")


@pytest.fixture
def qctx(ctx):
    ctx.quarantine.policy = "quarantine"
    return ctx


def test_cut_comment_is_stored_marked_quarantined_and_left_out_of_counts(qctx, store):
    from commentminer.regions import stage as regions_stage
    from commentminer.segment import stage as segment_stage

    ingest_paths(qctx, [LAYOUTS / "cut_mid_comment.txt", LAYOUTS / "lone_cut_comment.txt"])
    parse_run(qctx)
    comments = store.query("SELECT comment_id, text, truncated FROM comments ORDER BY text")
    assert comments[["text", "truncated"]].values.tolist() == [
        ["Charging sick people to park is simply wrong and the", True],
        ["Our patients are mostly elderly and cannot walk from the town car park.", False],
        ["We have already booked four hundred patients and the vaccine has not", True],
    ]
    errors = store.query("SELECT uri, item_ref, reason, detail FROM errors ORDER BY uri")
    assert errors[["item_ref", "reason"]].values.tolist() == [["comment 1", "unsigned_comment"],
                                                              ["comment 0", "unsigned_comment"]]
    assert all("truncated" in d for d in errors["detail"])

    segment_stage.run(qctx)
    regions_stage.run(qctx)
    units = store.query("SELECT DISTINCT comment_id FROM units WHERE kind = 'comment'")["comment_id"].tolist()
    kept = comments.loc[~comments["truncated"], "comment_id"].tolist()
    assert units == kept
    assert store.query("SELECT DISTINCT subject_id FROM regions WHERE subject_kind = 'comment'")[
        "subject_id"].tolist() == kept
    resolver_id = store.query("SELECT any_value(resolver_id) FROM regions").iloc[0, 0]
    summary = corpus_overview(store, resolver_id).iloc[0]
    assert (summary.n_comments, summary.n_commenters) == (3, 1)


def test_cut_comments_are_analysed_and_counted_when_asked(qctx, store):
    from commentminer.regions import stage as regions_stage
    from commentminer.segment import stage as segment_stage

    qctx.config.segment.analyse_truncated = True
    ingest_paths(qctx, [LAYOUTS / "cut_mid_comment.txt", LAYOUTS / "lone_cut_comment.txt"])
    parse_run(qctx)
    segment_stage.run(qctx)
    regions_stage.run(qctx)
    every = sorted(store.query("SELECT comment_id FROM comments")["comment_id"])
    assert sorted(store.query("SELECT DISTINCT comment_id FROM units WHERE kind = 'comment'")["comment_id"]) == every
    assert sorted(store.query("SELECT subject_id FROM regions WHERE subject_kind = 'comment'")["subject_id"]) == every
    resolver_id = store.query("SELECT any_value(resolver_id) FROM regions").iloc[0, 0]
    summary = corpus_overview(store, resolver_id, include_truncated=True).iloc[0]
    assert (summary.n_comments, summary.n_commenters) == (3, 3)


def test_page_without_header_is_stored_with_null_title_and_a_note(qctx, store):
    ingest_paths(qctx, [LAYOUTS / "no_header.txt"])
    parse_run(qctx)
    article = store.read("articles").iloc[0]
    assert article.title is None and str(article.published)[:10] == "2008-06-03" and article.date_raw == "3 June 2008"
    assert sorted(store.read("errors")["reason"]) == ["date_from_body", "no_header"]


def test_a_stated_county_beats_a_town_inside_an_organisation_name():
    from commentminer.voices.spacy_voices import SpacyVoiceExtractor

    extractor = SpacyVoiceExtractor()
    text = ("Sam Hill, practice director of Buckley Medical Group in Derbyshire, said the rota was "
            "“simply unworkable”.")
    voices = [(v.speaker, v.role, v.place) for v in extractor.extract([text])[0]]
    assert voices == [("Sam Hill", "practice director", "Derbyshire")]
    assert extractor.resolver.resolve("Derbyshire").region == "East Midlands"
    # with no stated place, the organisation's town is still used (better than none)
    alone = "Sam Hill, practice director of Buckley Medical Group, said the rota was “simply unworkable”."
    assert [v.place for v in extractor.extract([alone])[0]] == ["Buckley Medical Group"]
