"""Parse stage: sources -> articles + comments in the store, ids, quarantine of page problems, re-runs."""

from pathlib import Path

import pandas as pd
import pytest

from commentminer.errors import InputError
from commentminer.ids import content_id, normalise_name
from commentminer.ingest.stage import ingest_paths
from commentminer.parse.stage import article_key, run
from commentminer.parse.text_dump import TextDumpParser

BAD_INPUT = Path(__file__).resolve().parent / "fixtures" / "bad_input"


def _ingest_and_parse(ctx, paths, policy="quarantine"):
    ctx.quarantine.policy = policy
    ingest_paths(ctx, paths)
    return run(ctx)


def test_seeds_parse_into_five_articles_and_eighteen_comments(ctx, store, seeds_dir):
    stats = _ingest_and_parse(ctx, [seeds_dir])
    assert stats == {"sources_parsed": 5, "sources_failed": 0, "articles": 5, "comments": 18, "quarantined": 0}
    per_article = store.query(
        "SELECT a.title, count(c.comment_id) AS n FROM articles a LEFT JOIN comments c USING (article_id) "
        "GROUP BY a.title"
    ).set_index("title")["n"].to_dict()
    assert per_article == {
        "Practice managers say they were more engaged under PBC": 0,
        "DH adviser: PMs ‘under-represented’ in CCG talks": 15,
        "A third of PMs in CCGs are being ‘sidelined’": 3,
        "Not forgotten": 0,
        "Key players in an unfolding drama": 0,
    }


def test_stored_rows_use_content_ids_and_keep_source_links(ctx, store, seeds_dir):
    _ingest_and_parse(ctx, [seeds_dir / "001_df8f766999bc99b4.txt"])
    source = store.read("sources").iloc[0]
    article = store.read("articles").iloc[0]
    # keyed by the article's own content (title + date), not by the file it came from
    assert article.article_id == content_id("art", "title:dh adviser pms under represented in ccg talks|2011-09-02")
    assert (article.source_id, article.uri, article.parser_id) == (source.source_id, source.uri, "text_dump.v1")
    assert pd.Timestamp(article.published) == pd.Timestamp("2011-09-02")

    comments = store.read("comments").sort_values("position").reset_index(drop=True)
    assert comments["position"].tolist() == list(range(15))
    for row in comments.itertuples():
        name = None if pd.isna(row.name) else row.name
        assert row.comment_id == content_id("cmt", article.article_id, normalise_name(name), row.text)
        assert row.source_id == source.source_id
        if row.withheld:
            assert row.commenter_id == content_id("who", row.comment_id)
            assert pd.isna(row.name) and pd.isna(row.place)
        else:
            assert row.commenter_id == content_id("who", normalise_name(row.name), normalise_name(row.place))
    # two withheld comments count as two different people
    withheld = comments[comments["withheld"]]
    assert len(withheld) == 2 and withheld["commenter_id"].nunique() == 2
    assert comments.loc[0, "signature_raw"] == "Val Denton, Weston Super Mare"


def test_no_signature_page_is_kept_and_quarantined_with_reason(ctx, store):
    stats = _ingest_and_parse(ctx, [BAD_INPUT / "no_signatures.txt"])
    assert (stats["articles"], stats["comments"], stats["quarantined"]) == (1, 0, 1)
    assert store.read("articles")["title"].tolist() == ["Practice managers asked to join CCG boards"]
    error = store.read("errors").iloc[0]
    assert (error.stage, error.uri, error.reason, error.item_ref) == (
        "parse", str(BAD_INPUT / "no_signatures.txt"), "no_signatures", "comments block"
    )
    assert "no '” – Name, Place' signature" in error.detail


def test_no_signature_page_under_raise_names_the_file(ctx, store):
    with pytest.raises(InputError, match=rf"^{BAD_INPUT / 'no_signatures.txt'} \(comments block\): ") as info:
        _ingest_and_parse(ctx, [BAD_INPUT / "no_signatures.txt"], policy="raise")
    assert info.value.reason == "no_signatures"
    assert store.count("articles") == 0  # nothing half-written; a re-run meets the same problem


def test_unsigned_last_comment_is_kept_without_a_made_up_signature(ctx, store):
    stats = _ingest_and_parse(ctx, [BAD_INPUT / "unsigned_last.txt"])
    assert stats["comments"] == 2
    comments = store.read("comments").sort_values("position")
    assert comments["name"].tolist()[0] == "Sam Patel"
    last = comments.iloc[1]
    assert pd.isna(last["name"]) and pd.isna(last["place"]) and pd.isna(last["signature_raw"])
    assert last["text"] == "The last comment was cut off before its"
    assert store.read("errors")[["reason", "item_ref"]].values.tolist() == [["unsigned_comment", "comment 1"]]


def test_unusable_page_is_quarantined_and_other_pages_still_parse(ctx, store, seeds_dir, tmp_path):
    title_only = tmp_path / "title_only.txt"
    title_only.write_text("This site is intended for health professionals only\n\nOnly a title here\n")
    stats = _ingest_and_parse(ctx, [title_only, seeds_dir / "003_1b21842f3693ef0c.txt"])
    assert (stats["sources_parsed"], stats["sources_failed"], stats["quarantined"]) == (1, 1, 1)
    error = store.read("errors").iloc[0]
    assert (error.uri, error.reason) == (str(title_only), "no_body")
    # the failed source is marked, not retried with the same parser: the same bytes would fail the same way
    assert store.count("source_parses", "status = 'failed'") == 1
    assert run(ctx)["sources_failed"] == 0
    assert store.count("errors") == 1


def test_unusable_page_under_raise_names_the_file(ctx, tmp_path):
    page = tmp_path / "boilerplate_only.txt"
    page.write_text("This site is intended for health professionals only\n\nShare this article\n")
    with pytest.raises(InputError, match=rf"^{page}: the page has no text") as info:
        _ingest_and_parse(ctx, [page], policy="raise")
    assert info.value.reason == "empty_page"


def test_reparse_by_a_new_parser_version_leaves_no_stale_comments(ctx, store, seeds_dir):
    _ingest_and_parse(ctx, [seeds_dir / "002_2f9c677b878fa41c.txt"])
    article_id = store.read("articles")["article_id"].iloc[0]
    stale = store.read("comments").iloc[[0]].assign(comment_id="cmt_stale", position=99)
    store.upsert("comments", stale)
    # as if parsed by an older parser version only
    store.con.execute("UPDATE articles SET parser_id = 'text_dump.v0'")
    store.con.execute("UPDATE source_parses SET parser_id = 'text_dump.v0'")

    stats = run(ctx)

    assert stats["sources_parsed"] == 1
    assert store.count("comments", "article_id = ?", [article_id]) == 3
    assert store.count("comments", "comment_id = 'cmt_stale'") == 0
    assert store.read("articles")["parser_id"].tolist() == ["text_dump.v1"]


def test_same_article_from_a_second_source_updates_instead_of_duplicating(ctx, store, seeds_dir, tmp_path):
    original = (seeds_dir / "002_2f9c677b878fa41c.txt").read_text(encoding="utf-8")
    rescraped = tmp_path / "002_rescraped.txt"
    rescraped.write_text(original + "\n\n“A fourth comment that arrived later.” – Pat Jones, Leeds\n", encoding="utf-8")
    _ingest_and_parse(ctx, [seeds_dir / "002_2f9c677b878fa41c.txt"])
    _ingest_and_parse(ctx, [rescraped])
    assert store.count("sources") == 2 and store.count("articles") == 1
    assert store.count("comments") == 4            # the three earlier comments were matched, not duplicated
    assert run(ctx)["sources_parsed"] == 0         # both sources are marked as parsed


def test_article_key_prefers_external_id_then_url_then_title_and_date():
    article = TextDumpParser().parse("Title here\n\n2 September 2011\n\nBody text of the article.\n", "x.txt")
    assert article_key(article) == "title:title here|2011-09-02"
    article.url = "https://example.org/News/1/"
    assert article_key(article) == "url:https://example.org/news/1"
    article.external_id = "thread-7"
    assert article_key(article) == "ext:thread-7"


def test_a_source_without_a_body_does_not_blank_what_another_source_gave(ctx, store):
    from commentminer.parse.base import ParsedArticle, ParsedComment
    from commentminer.parse.stage import write_articles

    page = ParsedArticle(title="Board seats", body="Full article body.", url="https://example.org/a", byline="Jo Bloggs")
    export = ParsedArticle(title="Board seats", body="", url="https://example.org/a",
                           comments=[ParsedComment(position=0, text="Agreed.", name="Sam", place="Leeds")])
    write_articles(ctx, "src_page", "page.html", [page], "html.v1")
    write_articles(ctx, "src_export", "export.csv", [export], "table.v1")
    article = store.read("articles").iloc[0]
    assert store.count("articles") == 1
    assert (article["body"], article["byline"], article["source_id"]) == ("Full article body.", "Jo Bloggs", "src_export")
    assert store.count("comments") == 1
