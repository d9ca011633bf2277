"""Scraper building blocks without a network: robots.txt rules, Retry-After, the per-host delay, sitemap parsing,
text decoding, content types, URL checks and the raw store."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from commentminer.ids import sha256_bytes
from commentminer.ingest.http import Fetcher, HostThrottle, check_url, parse_retry_after
from commentminer.ingest.raw_store import RawFetch, RawStore
from commentminer.ingest.robots import RobotsRules, product_token, robots_url
from commentminer.ingest.scrape import SitemapError, crawl_key, decode_body, parse_sitemap, source_format

UA = "commentminer/0.1 (+mailto:x@example.org)"


# -- robots.txt --------------------------------------------------------------------------------------------------

def test_product_token_and_robots_url():
    assert product_token(UA) == "commentminer"
    assert robots_url("https://Example.org:8443/a/b?c=1#x") == "https://example.org:8443/robots.txt"


def test_longest_match_wins_and_allow_wins_ties():
    rules = RobotsRules.parse("User-agent: *\nDisallow: /news/\nAllow: /news/public\nDisallow: /*.pdf$\n", UA)
    assert rules.allowed("http://h/") and rules.allowed("http://h/other")
    assert not rules.allowed("http://h/news/secret")
    assert rules.allowed("http://h/news/public/1")        # longer Allow beats shorter Disallow
    assert not rules.allowed("http://h/files/a.pdf") and rules.allowed("http://h/files/a.pdf?x=1")
    tie = RobotsRules.parse("User-agent: *\nDisallow: /page\nAllow: /page\n", UA)
    assert tie.allowed("http://h/page")
    assert rules.allowed("http://h/robots.txt")


def test_our_group_replaces_the_star_group():
    text = ("User-agent: *\nDisallow: /\n\n"
            "User-agent: OtherBot\nUser-agent: CommentMiner\nDisallow: /private\n")
    rules = RobotsRules.parse(text, UA)
    assert rules.allowed("http://h/public") and not rules.allowed("http://h/private/x")
    assert not RobotsRules.parse(text, "otherthing/1.0").allowed("http://h/public")


def test_empty_disallow_comments_and_no_groups_allow_everything():
    assert RobotsRules.parse("User-agent: *\nDisallow:\n", UA).allowed("http://h/x")
    assert RobotsRules.parse("# nothing here\nSitemap: http://h/s.xml\n", UA).allowed("http://h/x")
    assert RobotsRules.parse("", UA).allowed("http://h/x")
    rules = RobotsRules.parse("User-agent: * # all\nDisallow: /a # not /a\n", UA)
    assert not rules.allowed("http://h/a") and rules.allowed("http://h/b")


def test_percent_encoding_is_compared_decoded():
    rules = RobotsRules.parse("User-agent: *\nDisallow: /caf%C3%A9\n", UA)
    assert not rules.allowed("http://h/caf%C3%A9/menu") and not rules.allowed("http://h/café/menu")


# -- http helpers --------------------------------------------------------------------------------------------------

def test_retry_after_seconds_date_and_garbage():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0  # in the past: retry now
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_host_throttle_waits_per_host_only():
    clock, sleeps = [100.0], []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    throttle = HostThrottle(1.5, clock=lambda: clock[0], sleep=sleep)
    throttle.wait("http://a/1")
    throttle.wait("http://b/1")             # another host: no wait
    clock[0] += 0.5
    throttle.wait("http://a/2")             # 0.5 s after the last request to a: wait 1.0 s more
    assert sleeps == [1.0]


@pytest.mark.parametrize("url, reason", [
    ("ftp://h/x", "bad_scheme"), ("mailto:a@b", "bad_scheme"), ("//h/x", "bad_scheme"), ("http://", "bad_url"),
    ("data:text/html,<p>", "bad_scheme"),
])
def test_check_url_rejects_other_schemes(url, reason):
    assert check_url(url).reason == reason
    assert check_url("https://example.org/a") is None


def test_fetcher_refuses_other_schemes_without_network():
    with Fetcher(UA, trust_env=False) as fetcher:
        failure = fetcher.fetch("file:///etc/passwd")
    assert failure.reason == "bad_scheme" and "only http and https" in failure.detail
    assert fetcher.requests_sent == 0 and fetcher._client is None  # nothing created, nothing sent


# -- sitemaps ------------------------------------------------------------------------------------------------------

URLSET = (b'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
          b"<url><loc> http://h/a </loc></url><url><loc>http://h/b?x=1&amp;y=2</loc></url>"
          b"<url><loc>http://h/a</loc></url></urlset>")


def test_parse_sitemap_urlset_index_and_gzip():
    assert parse_sitemap(URLSET, 10_000) == parse_sitemap(gzip.compress(URLSET), 10_000)
    sitemap = parse_sitemap(URLSET, 10_000)
    assert sitemap.kind == "urlset" and sitemap.locs == ("http://h/a", "http://h/b?x=1&y=2")
    index = parse_sitemap(b"<sitemapindex><sitemap><loc>http://h/s1.xml</loc></sitemap></sitemapindex>", 10_000)
    assert index.kind == "index" and index.locs == ("http://h/s1.xml",)


@pytest.mark.parametrize("data, message", [
    (b'<!DOCTYPE urlset SYSTEM "http://evil/x.dtd"><urlset/>', "DOCTYPE or ENTITY"),
    (b'<?xml version="1.0"?><!ENTITY x "y"><urlset/>', "DOCTYPE or ENTITY"),
    (b"<urlset><url><loc>http://h/a</loc></url>", "not well-formed"),
    (b"<html><body>hi</body></html>", "not <urlset> or <sitemapindex>"),
    ("<urlset/>".encode("utf-16"), "not UTF-8"),
    (b"<urlset>" + b"<url><loc>http://h/a</loc></url>" * 100 + b"</urlset>", "over 1,000 bytes"),
    (gzip.compress(b"<urlset>" + b" " * 1_000_000 + b"</urlset>"), "over 1,000 bytes"),  # gzip bomb stops at the cap
    (b"\x1f\x8bnot gzip", "not a valid gzip"),
])
def test_parse_sitemap_refuses_unsafe_or_bad_documents(data, message):
    with pytest.raises(SitemapError, match=message):
        parse_sitemap(data, 1_000)


# -- decoding and formats ------------------------------------------------------------------------------------------

def test_decode_body_rule():
    assert decode_body("café".encode("cp1252"), "text/html; charset=windows-1252", "html") == "café"
    assert decode_body(b"\xef\xbb\xbfcaf\xc3\xa9", "text/html; charset=latin-1", "html") == "café"  # BOM wins
    meta = b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>caf\xe9'
    assert decode_body(meta, "text/html", "html").endswith("café")
    assert decode_body(b"caf\xe9", "text/plain", "text_dump") == "caf\ufffd"            # no meta sniffing
    assert decode_body(b"caf\xc3\xa9", "text/html; charset=no-such-codec", "html") == "café"


def test_source_format_by_content_type():
    accepted = ["html", "text_dump", "csv", "jsonl"]
    assert source_format("text/html", b"", accepted) == "html"
    assert source_format("application/xhtml+xml", b"", accepted) == "html"
    assert source_format("application/json", b"", accepted) == "jsonl"
    assert source_format("text/plain", b"", ["html"]) is None
    assert source_format("image/png", b"", accepted) is None
    assert source_format("", b"  <html>", accepted) == "html" and source_format("", b"PK\x03", accepted) is None


def test_crawl_key_ignores_url_order_but_not_the_sitemap():
    assert crawl_key(["a", "b"], None) == crawl_key(["b", "a"], None) != crawl_key(["a", "b"], "s")


# -- raw store -----------------------------------------------------------------------------------------------------

def test_raw_store_is_content_addressed_and_keeps_one_fetch_per_url(tmp_path):
    raw = RawStore(tmp_path)
    when = datetime(2025, 1, 1)
    fetch = lambda url: RawFetch(url, url, 200, {"etag": "e"}, when, "e", None)  # noqa: E731
    sha = raw.put(b"body", fetch("http://h/a"))
    assert raw.put(b"body", fetch("http://h/b")) == sha == sha256_bytes(b"body")
    raw.put(b"body", fetch("http://h/a"))
    assert raw.get(sha) == b"body" and raw.has(sha)
    assert [f["url"] for f in raw.metadata(sha)["fetches"]] == ["http://h/b", "http://h/a"]
    assert (tmp_path / sha[:2] / f"{sha}.body").read_bytes() == b"body"
    (tmp_path / sha[:2] / f"{sha}.body").write_bytes(b"tampered")
    assert raw.get(sha) is None  # a damaged body is never served as the original
    assert not list(tmp_path.rglob(".tmp-*"))
