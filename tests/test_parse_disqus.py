"""DisqusParser ("disqus.v1"): threads -> articles, posts -> comments, deleted/spam counted, unsafe XML refused."""

import json
from pathlib import Path

import pytest

from fixtures.golden import as_golden

from commentminer.errors import InputError
from commentminer.ingest.stage import ingest_paths
from commentminer.parse.disqus import DisqusParser, html_to_text
from commentminer.parse.stage import run as parse_run

EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"
GOLDEN = json.loads((EXPORTS / "golden.json").read_text("utf-8"))

_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
_OPEN = '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'


def _parse(xml: str, uri: str = "export.xml", **params):
    return DisqusParser(**params).parse_source(xml, uri)


def _export(*items: str) -> str:
    return _HEAD + _OPEN + "".join(items) + "</disqus>"


def _thread(dsq_id="1", title="T", link="https://x.example/t"):
    return f'<thread dsq:id="{dsq_id}"><link>{link}</link><title>{title}</title><createdAt>2011-09-02T08:00:00Z</createdAt></thread>'


def _post(dsq_id, message, thread="1", parent=None, deleted=False, spam=False, name="Ann", username="ann"):
    parent_el = f'<parent dsq:id="{parent}"/>' if parent else ""
    return (f'<post dsq:id="{dsq_id}"><message><![CDATA[{message}]]></message>'
            f"<createdAt>2011-09-02T10:00:00Z</createdAt><isDeleted>{str(deleted).lower()}</isDeleted>"
            f"<isSpam>{str(spam).lower()}</isSpam><author><name>{name}</name><username>{username}</username></author>"
            f'<thread dsq:id="{thread}"/>{parent_el}</post>')


def test_golden_disqus_export():
    articles = _parse((EXPORTS / "disqus.xml").read_text("utf-8"), "disqus.xml")
    assert as_golden(articles) == GOLDEN["disqus.xml"]


def test_deleted_and_spam_posts_are_skipped_and_counted():
    article = _parse((EXPORTS / "disqus.xml").read_text("utf-8"))[0]
    (problem,) = article.problems
    assert (problem.reason, problem.item_ref) == ("deleted_or_spam", "deleted and spam posts")
    assert problem.detail == "skipped 1 deleted and 1 spam posts (ids 7003, 7004)"


def test_threads_without_kept_posts_are_left_out():
    titles = [a.title for a in _parse((EXPORTS / "disqus.xml").read_text("utf-8"))]
    assert "A page nobody commented on" not in titles


def test_reply_and_name_fallback_to_username():
    article = _parse(_export(_thread(), _post("10", "Top"), _post("11", "Reply", parent="10", name="")))[0]
    assert [(c.external_id, c.parent_external_id, c.name) for c in article.comments] == [
        ("10", None, "Ann"), ("11", "10", "ann")]


def test_post_in_a_thread_missing_from_the_file_is_kept_with_a_problem():
    article = _parse(_export(_post("10", "Orphan", thread="99")))[0]
    assert (article.external_id, article.title, article.url) == ("99", "Disqus thread 99", None)
    assert [c.text for c in article.comments] == ["Orphan"]
    assert [(p.item_ref, p.reason) for p in article.problems] == [("post 10 (line 2)", "unknown_thread")]


def test_empty_message_and_long_message():
    article = _parse(_export(_thread(), _post("10", "<p> </p>"), _post("11", "one two three")), max_comment_chars=7)[0]
    assert [c.text for c in article.comments] == ["one two"]
    assert [p.reason for p in article.problems] == ["empty_comment", "comment_truncated"]


def test_only_deleted_posts_is_an_input_error_that_still_counts_them():
    with pytest.raises(InputError, match=r"no comments to keep in 1 posts .*skipped 1 deleted") as info:
        _parse(_export(_thread(), _post("10", "x", deleted=True)))
    assert info.value.reason == "empty_export"


def test_html_to_text():
    assert html_to_text("<p>A &amp; B</p><p>C<br>D</p><script>alert('x')</script><style>p{}</style>"
                        "<a href='javascript:evil()'>E</a> &lt;F&gt; &#8220;G&#8221;") == "A & B C D E <F> “G”"


# -- safety ------------------------------------------------------------------------------------------------------
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<disqus><post><message>&lol3;</message></post></disqus>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE disqus [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<disqus><post><message>&xxe;</message></post></disqus>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY, '<!DOCTYPE disqus SYSTEM "http://x.example/d.dtd"><disqus/>'])
def test_doctype_and_entities_are_refused(xml):
    with pytest.raises(InputError, match="DOCTYPE declaration") as info:
        _parse(xml)
    assert info.value.reason == "unsafe_xml"


def test_malformed_xml_and_other_roots():
    with pytest.raises(InputError, match=r"not well-formed XML \(no element found at line 2, column \d+\)") as info:
        _parse(_HEAD + _OPEN + "<post>")
    assert info.value.reason == "bad_xml"
    with pytest.raises(InputError, match="root element is <rss>, expected <disqus>") as info:
        _parse("<rss><channel/></rss>")
    assert info.value.reason == "not_disqus"


def test_size_cap(monkeypatch):
    import commentminer.parse.disqus as disqus

    monkeypatch.setattr(disqus, "MAX_XML_CHARS", 100)
    with pytest.raises(InputError, match="over the 100 limit") as info:
        _parse(_export(_thread(), _post("1", "x" * 100)))
    assert info.value.reason == "too_large"


# -- through the stages -------------------------------------------------------------------------------------------
def test_stage_stores_threads_and_posts_and_quarantines_the_skipped_count(ctx, store):
    ctx.quarantine.policy = "quarantine"
    ingest_paths(ctx, [EXPORTS / "disqus.xml"])
    stats = parse_run(ctx)
    assert (stats["articles"], stats["comments"], stats["quarantined"]) == (2, 3, 1)
    rows = store.query("SELECT a.external_id, a.url, c.external_id, c.parent_external_id, c.name FROM comments c "
                       "JOIN articles a USING (article_id) ORDER BY c.external_id")
    rows = rows.astype(object).where(rows.notna(), None).to_numpy().tolist()
    assert rows == [
        ["5001", "https://example.org/news/ccg-talks", "7001", None, "Val Denton"],
        ["5001", "https://example.org/news/ccg-talks", "7002", "7001", "guest_123"],
        ["5002", "https://example.org/news/pay", "7005", None, "Sam Khan"],
    ]
    error = store.read("errors").iloc[0]
    assert (error.stage, error.reason, error.item_ref) == ("parse", "deleted_or_spam", "deleted and spam posts")


def test_unsafe_xml_source_fails_alone(ctx, store, tmp_path):
    ctx.quarantine.policy = "quarantine"
    (tmp_path / "evil.xml").write_text(BILLION_LAUGHS, "utf-8")
    (tmp_path / "good.xml").write_text((EXPORTS / "disqus.xml").read_text("utf-8"), "utf-8")
    ingest_paths(ctx, [tmp_path])
    stats = parse_run(ctx)
    assert (stats["sources_failed"], stats["sources_parsed"], stats["comments"]) == (1, 1, 3)
    reasons = store.query("SELECT reason FROM errors ORDER BY reason")["reason"].tolist()
    assert reasons == ["deleted_or_spam", "unsafe_xml"]
