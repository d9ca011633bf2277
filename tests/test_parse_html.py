import re
"""HtmlPageParser: golden pages per site profile (tests/fixtures/html), header variants, WordPress markup,
unsplittable and malformed pages, and ingest + parse end to end."""

import json
import shutil
from dataclasses import asdict
from datetime import date
from pathlib import Path

import pytest
from lxml import html as lxml_html

from commentminer import registry
from commentminer.errors import InputError
from commentminer.ingest.stage import ingest_paths
from commentminer.parse.html_page import HtmlPageParser, render_text
from commentminer.parse.site_profiles import PROFILES_DIR
from commentminer.parse.stage import run
from commentminer.parse.text_dump import TextDumpParser

HTML_DIR = Path(__file__).resolve().parent / "fixtures" / "html"
SEEDS_DIR = Path(__file__).resolve().parents[1] / "corpus" / "seeds"
GOLDEN = {k: v for k, v in json.loads((HTML_DIR / "golden.json").read_text("utf-8")).items() if not k.startswith("_")}


def _parse(raw: str, uri: str = "page.html", **params):
    return HtmlPageParser(**params).parse(raw, uri)


def _mip_page(header: str, comments_html: str) -> str:
    return (
        "<html><head><title>Boards | Management in Practice</title></head><body>"
        "<h1>Boards need managers</h1><p class='date'>2 September 2011</p>"
        "<div class='story'><p>First paragraph of the article about boards and managers.</p>"
        "<p>Second paragraph of the article, with a little more to say about the boards.</p></div>"
        f"<p>{header}</p>{comments_html}<footer>Copyright 2011</footer></body></html>"
    )


# -- golden pages ---------------------------------------------------------------------------------------------
def test_golden_covers_every_fixture_page():
    assert sorted(GOLDEN) == sorted(p.name for p in HTML_DIR.glob("*.html"))


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_page(name):
    expected = GOLDEN[name]
    raw = (HTML_DIR / name).read_text("utf-8")
    parser = HtmlPageParser()
    article = parser.parse(raw, str(HTML_DIR / name))
    assert parser.choose_profile(raw, lxml_html.document_fromstring(raw), [name]).name == expected["profile"]
    assert article.title == expected["title"]
    assert article.published == (date.fromisoformat(expected["published"]) if expected["published"] else None)
    assert article.date_raw == expected["date_raw"]
    assert article.byline == expected["byline"]
    assert article.url == expected["url"]
    assert article.external_id is None
    paragraphs = article.body.split("\n\n")
    assert (len(paragraphs), paragraphs[0], paragraphs[-1]) == (
        expected["body_paragraphs"], expected["body_first"], expected["body_last"])
    assert "\n\n\n" not in article.body and "  " not in article.body
    for furniture in ("Your comments", "Share this article", "Copyright", "Leave a Reply", "Reply", "says:"):
        assert furniture.casefold() not in article.body.casefold()
    got = [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(c).items()} for c in article.comments]
    assert got == expected["comments"]
    assert [[p.item_ref, p.reason] for p in article.problems] == expected["problems"]


def test_mip_html_page_parses_like_its_text_dump_seed():
    """The MiP fixture is seed 002 as HTML: same body, same comments as the text-dump parser gives."""
    from_html = _parse((HTML_DIR / "mip_sidelined.html").read_text("utf-8"))
    from_text = TextDumpParser().parse((SEEDS_DIR / "002_2f9c677b878fa41c.txt").read_text("utf-8"), "002.txt")
    assert [" ".join(p.split()) for p in from_text.body.split("\n\n")] == from_html.body.split("\n\n")
    assert (from_html.title, from_html.published, from_html.byline) == (
        from_text.title, from_text.published, from_text.byline)
    assert [asdict(c) for c in from_html.comments] == [asdict(c) for c in from_text.comments]


# -- Management in Practice header variants -------------------------------------------------------------------
@pytest.mark.parametrize("header", [
    "Your comments (terms and conditions apply):",
    "Your Comments (Terms and conditions apply)",
    "Your comments (Terms and Conditions apply):",
    "Do you agree with the DH? Your comments (terms and conditions apply):",
    "YOUR COMMENTS [terms &amp; conditions apply]",
    "<strong>Your comments</strong>",
])
def test_mip_header_variants(header):
    comments = "<p>“Boards must listen” – Ann Lee, Leeds</p><p>“Agreed” - Bob Ray</p>"
    article = _parse(_mip_page(header, comments))
    assert [(c.text, c.name, c.place) for c in article.comments] == [
        ("Boards must listen", "Ann Lee", "Leeds"), ("Agreed", "Bob Ray", None)]
    assert article.problems == []
    assert article.body.split("\n\n")[:2] == [
        "First paragraph of the article about boards and managers.",
        "Second paragraph of the article, with a little more to say about the boards."]
    if header.startswith("Do you agree"):
        assert article.body.endswith("Do you agree with the DH?")  # the question stays, as in the text dumps
    assert (article.published, article.date_raw) == (date(2011, 9, 2), "2 September 2011")


def test_mip_unsigned_last_comment_is_kept_and_reported():
    article = _parse(_mip_page("Your comments (terms and conditions apply):",
                               "<p>“Signed one” – Ann Lee, Leeds</p><p>“Cut off before the signature</p>"))
    assert [(c.text, c.name) for c in article.comments] == [("Signed one", "Ann Lee"),
                                                             ("Cut off before the signature", None)]
    assert [(p.item_ref, p.reason) for p in article.problems] == [("comment 1", "unsigned_comment")]


def test_no_comments_yet_is_no_comments_and_no_problem():
    article = _parse(_mip_page("Your comments (terms and conditions apply):", "<p>No comments yet.</p>"))
    assert article.comments == [] and article.problems == []


def test_page_without_comment_section_has_no_comments_and_no_problem():
    article = _parse(_mip_page("A closing line of the story that is not a header.", ""))
    assert article.comments == [] and article.problems == []
    assert article.body.endswith("A closing line of the story that is not a header.")


def test_long_comment_is_truncated_and_reported():
    article = _parse(_mip_page("Your comments:", "<p>“" + "word " * 40 + "” – Ann Lee, Leeds</p>"),
                     max_comment_chars=50)
    assert len(article.comments[0].text) == 50
    assert [p.reason for p in article.problems] == ["comment_truncated"]


# -- WordPress ------------------------------------------------------------------------------------------------
OLD_WORDPRESS = """<html><head><title>Old theme post</title></head><body>
<h2 class="posttitle">Old theme post</h2><small>Posted on 3 March 2010</small>
<div class="entry"><p>An older WordPress theme with the classic comment markup, kept for the many blogs that still use it.</p>
<p>Comments use cite.fn, the commentmetadata link and bare paragraphs.</p></div>
<h3 id="comments">2 Responses</h3>
<ol class="commentlist">
<li class="comment even thread-even depth-1" id="li-comment-5"><div id="comment-5">
<div class="comment-author vcard"><cite class="fn">Mary O'Neill</cite> <span class="says">says:</span></div>
<div class="comment-meta commentmetadata"><a href="#comment-5">04/03/2010 at 8:15 pm</a></div>
<p>First line of the comment.</p><p>Second line.</p>
<div class="reply"><a class="comment-reply-link" href="#">Reply</a></div></div>
<ul class="children"><li class="comment odd alt depth-2" id="li-comment-6"><div id="comment-6">
<div class="comment-author vcard"><cite class="fn">Name withheld</cite></div>
<div class="comment-meta commentmetadata"><a href="#comment-6">March 5, 2010 at 9:00 am</a></div>
<p>A reply.</p></div></li></ul>
</li></ol></body></html>"""


def test_wordpress_classic_markup():
    article = _parse(OLD_WORDPRESS)
    assert (article.title, article.published, article.date_raw) == ("Old theme post", date(2010, 3, 3), "3 March 2010")
    got = [(c.position, c.text, c.name, c.withheld, c.published, c.date_raw, c.external_id, c.parent_external_id)
           for c in article.comments]
    assert got == [
        (0, "First line of the comment. Second line.", "Mary O'Neill", False, date(2010, 3, 4),
         "04/03/2010 at 8:15 pm", "comment-5", None),
        (1, "A reply.", None, True, date(2010, 3, 5), "March 5, 2010 at 9:00 am", "comment-6", "comment-5"),
    ]
    assert article.problems == []
    assert "First line of the comment" not in article.body


def test_wordpress_comment_without_text_is_reported_and_all_empty_is_unsplit():
    one_empty = OLD_WORDPRESS.replace("<p>A reply.</p>", "")
    article = _parse(one_empty)
    assert [c.external_id for c in article.comments] == ["comment-5"]
    assert [(p.item_ref, p.reason) for p in article.problems] == [("comment comment-6", "empty_comment")]

    all_empty = one_empty.replace("<p>First line of the comment.</p><p>Second line.</p>", "")
    article = _parse(all_empty)
    assert article.comments == []
    assert [p.reason for p in article.problems] == ["empty_comment", "empty_comment", "comments_unsplit"]
    assert "2 comment elements" in article.problems[-1].detail


# -- unsplittable and malformed pages -------------------------------------------------------------------------
def test_unsplittable_comments_keep_the_article_and_say_why():
    article = _parse((HTML_DIR / "unsplittable_comments.html").read_text("utf-8"))
    assert article.title == "New appointment system goes live" and article.comments == []
    (problem,) = article.problems
    assert (problem.item_ref, problem.reason) == ("comments block", "comments_unsplit")
    assert "'Reader comments'" in problem.detail and "site profile 'generic'" in problem.detail


@pytest.mark.parametrize("raw", [
    "<html><body><h1>Title<p>Text of an article that is never closed properly <b><i>at all",
    "</div></div><h1>Stray closers</h1></span><p>Body text after stray closing tags.</td></tr>",
    "<h1>Bad entities &#xZZ; &bogus; &</h1><p>Body &#0; with bad entities &#99999999; here.</p>",
    "<h1>NUL</h1><p>Body with a \x00 NUL and \x0b control character.</p>",
    "<?xml version='1.0' encoding='utf-8'?><html><body><h1>XHTML</h1><p>An XHTML page body.</p></body></html>",
    "\ufeff<h1>BOM</h1><p>A page that starts with a byte order mark.</p>",
    "<h1>Comments header only</h1><p>Body text here.</p><h2>Comments</h2>",
])
def test_malformed_html_never_crashes(raw):
    article = _parse(raw)
    assert article.title and article.body


@pytest.mark.parametrize("raw, reason", [
    ("", "empty_page"),
    ("  \n\t", "empty_page"),
    ("<html></html>", "empty_page"),
    ("<!-- nothing but a comment -->", "empty_page"),
    ("<html><head><title>T</title><script>document.write('x')</script></head><body></body></html>", "empty_page"),
    ("<h1>Only a title</h1>", "no_body"),
    ("<p>Article text with no title anywhere on the page, which is not an article we can key.</p>", "no_title"),
])
def test_unusable_page_raises_input_error_naming_the_file(raw, reason):
    with pytest.raises(InputError, match=r"^saved/page\.html: ") as info:
        _parse(raw, "saved/page.html")
    assert info.value.reason == reason


def test_url_is_canonical_link_else_http_uri_else_none():
    page = "<html><head><title>T</title></head><body><h1>T</h1><p>Some body text for the page.</p></body></html>"
    assert _parse(page, "https://example.org/a?x=1").url == "https://example.org/a?x=1"
    assert _parse(page, "/home/me/saved/a.html").url is None
    canonical = page.replace("</head>", "<link rel='canonical' href='https://example.org/canon'></head>")
    assert _parse(canonical, "https://example.org/a?x=1").url == "https://example.org/canon"


def test_render_text_keeps_paragraphs_and_drops_scripts_and_navigation():
    root = lxml_html.fromstring("<div>a<script>x()</script>b<p>one<br>two</p><!-- c -->c<nav>menu</nav>d "
                                "<b>bold</b>&nbsp; e<form><label>Name</label></form></div>")
    assert render_text(root) == "ab\n\none\ntwo\n\ncd bold e"


def test_registry_creates_the_html_parser_with_stage_parameters():
    parser = registry.create("parse", "html.v1", max_comment_chars=123)
    assert isinstance(parser, HtmlPageParser) and parser.max_comment_chars == 123
    assert re.fullmatch(r"html\.v1\+[0-9a-f]{10}", parser.parser_id)


# -- end to end: ingest a folder of pages, parse, re-ingest -----------------------------------------------------
def test_ingest_and_parse_html_folder_end_to_end(ctx, store):
    ctx.quarantine.policy = "quarantine"
    ingest_stats = ingest_paths(ctx, [HTML_DIR])
    assert (ingest_stats["sources_new"], ingest_stats["quarantined"]) == (6, 0)
    assert set(store.query("SELECT format FROM sources")["format"]) == {"html"}
    stats = run(ctx)
    n_comments = sum(len(page["comments"]) for page in GOLDEN.values())
    assert stats == {"sources_parsed": 6, "sources_failed": 0, "articles": 6, "comments": n_comments,
                     "quarantined": 1}
    articles = store.read("articles").set_index("title")
    assert {pid.split("+")[0] for pid in articles["parser_id"]} == {"html.v1"}
    wordpress = articles.loc["Why practice managers belong on the board"]
    assert wordpress.url == "https://pmblog.example.org/2012/03/why-practice-managers-belong-on-the-board/"
    assert (str(wordpress.published)[:10], wordpress.date_raw, wordpress.byline) == (
        "2012-03-05", "March 5, 2012", "Jo Kerr")
    replies = store.query("SELECT external_id, parent_external_id, date_raw FROM comments "
                          "WHERE parent_external_id IS NOT NULL")
    assert replies.to_dict("records") == [
        {"external_id": "comment-102", "parent_external_id": "comment-101", "date_raw": "March 6, 2012 at 9:02 am"}]
    error = store.read("errors").iloc[0]
    assert (error.stage, error.reason, error.item_ref) == ("parse", "comments_unsplit", "comments block")
    assert error.uri.endswith("unsplittable_comments.html")

    before = {name: store.read(name) for name in ("articles", "comments")}
    again = ingest_paths(ctx, [HTML_DIR])
    assert (again["sources_new"], again["sources_unchanged"]) == (0, 6)
    assert run(ctx)["sources_parsed"] == 0
    for name, frame in before.items():
        assert store.read(name).sort_values(frame.columns[0]).reset_index(drop=True).equals(
            frame.sort_values(frame.columns[0]).reset_index(drop=True))


def test_page_scraped_twice_with_a_new_comment_updates_one_article(ctx, store, tmp_path):
    """Same canonical URL in both copies: one article; the comments of both copies are kept once each."""
    ctx.quarantine.policy = "quarantine"
    first = (HTML_DIR / "mip_variant_header.html").read_text("utf-8")
    second = first.replace("</div>\n</div>\n<footer>",
                           "<p>“A third comment, added later” – Chris Bell, Wigan</p>\n</div>\n</div>\n<footer>")
    assert second != first
    (tmp_path / "monday.html").write_text(first, "utf-8")
    (tmp_path / "tuesday.html").write_text(second, "utf-8")
    ingest_paths(ctx, [tmp_path])
    run(ctx)
    assert store.count("articles") == 1
    comments = store.query("SELECT name, withheld FROM comments")
    assert sorted(comments["name"].dropna()) == ["Chris Bell", "Pat Hughes"]
    assert len(comments) == 3 and comments["withheld"].sum() == 1


def test_custom_profiles_folder_is_used(tmp_path):
    folder = tmp_path / "profiles"
    shutil.copytree(PROFILES_DIR, folder)
    (folder / "forum.toml").write_text(
        'name = "forum"\npriority = 1\n[match]\nselector = "div.post-reply"\n'
        '[comments]\nmode = "selectors"\nitem = "div.post-reply"\nauthor = ".who"\nbody = ".what"\n'
        'date = ".when"\nid = "@data-id"\n', "utf-8")
    page = ("<html><body><h1>Forum thread</h1><p>The opening post of a thread, long enough to be the article.</p>"
            "<div class='post-reply' data-id='r1'><span class='who'>Sam</span><span class='when'>3 Sep 2011</span>"
            "<div class='what'>First reply.</div></div></body></html>")
    article = HtmlPageParser(profiles_dir=folder).parse(page, "forum.html")
    assert [(c.name, c.text, c.published, c.external_id) for c in article.comments] == [
        ("Sam", "First reply.", date(2011, 9, 3), "r1")]
