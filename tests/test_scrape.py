"""Scrape stage against a local HTTP server on 127.0.0.1 (tests/fixtures/http_server.py): robots.txt, retries,
redirects, size cap, content types, raw store, conditional re-scrape, resume, schemes, sitemaps."""

from __future__ import annotations

import gzip
import json
import threading
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from commentminer.errors import InputError
from commentminer.ids import content_id, sha256_bytes
from commentminer.ingest.http import Fetcher
from commentminer.ingest.raw_store import RawStore
from commentminer.ingest.scrape import scrape
from fixtures.http_server import LocalServer, Reply

PAGE = b"<html><head><title>T</title></head><body><p>Hello readers</p></body></html>"


class FakeTime:
    """A clock that only moves when the code under test sleeps: retries and delays cost no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def long_sleeps(self) -> list[float]:
        """Sleeps other than the (0.01 s) politeness delay: the retry waits."""
        return [s for s in self.sleeps if s > 0.5]


@pytest.fixture
def server():
    with LocalServer(lifetime=120) as s:
        s.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /private\n", content_type="text/plain"))
        yield s


@pytest.fixture
def sctx(ctx, tmp_path):
    ctx.quarantine.policy = "quarantine"
    ctx.config.scrape.raw_dir = str(tmp_path / "raw")
    ctx.config.scrape.delay_seconds = 0.01
    return ctx


@pytest.fixture
def fake_time():
    return FakeTime()


def fetcher(ctx, fake_time: FakeTime, **overrides) -> Fetcher:
    # trust_env=False: never route test traffic through a proxy from the environment; it goes to 127.0.0.1.
    return Fetcher.from_config(ctx.config.scrape, clock=fake_time.clock, sleep=fake_time.sleep, trust_env=False,
                               **overrides)


def run(ctx, fake_time, urls, sitemap=None, **kw):
    return scrape(ctx, urls, sitemap, fetcher=fetcher(ctx, fake_time), **kw)


def errors(ctx) -> dict[str, tuple[str, str]]:
    """uri -> (reason, detail) of every quarantined item."""
    frame = ctx.store.read("errors")
    return {row.uri: (row.reason, row.detail) for row in frame.itertuples()}


# -- the happy path, raw store and sources -------------------------------------------------------------------------

def test_page_becomes_a_source_and_a_raw_file_with_headers(sctx, server, fake_time):
    server.route("/a", Reply(body=PAGE, headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"}))
    sctx.config.scrape.contact = "mailto:team@example.org"
    stats = run(sctx, fake_time, [server.url("/a")])
    assert stats["fetched"] == 1 and stats["failed"] == 0 and stats["sources_new"] == 1

    source = sctx.store.read("sources").iloc[0]
    assert source.source_id == content_id("src", sha256_bytes(PAGE))
    assert source.uri == server.url("/a") and source.format == "html"
    assert source.content_type == "text/html; charset=utf-8" and source.raw_text == PAGE.decode()
    assert source.options_json is None and source.size_bytes == len(PAGE)

    raw = RawStore(sctx.config.scrape.raw_dir)
    assert raw.get(sha256_bytes(PAGE)) == PAGE
    fetch = raw.metadata(sha256_bytes(PAGE))["fetches"][0]
    assert fetch["url"] == fetch["final_url"] == server.url("/a") and fetch["status"] == 200
    assert fetch["etag"] == '"v1"' and fetch["last_modified"].startswith("Wed") and fetch["fetched_at"]
    assert fetch["headers"]["content-type"] == "text/html; charset=utf-8"

    page_request = [r for r in server.requests if r.path == "/a"][0]
    assert page_request.headers["User-Agent"] == "commentminer/0.1 (+mailto:team@example.org)"


def test_malformed_html_is_stored_as_it_is(sctx, server, fake_time):
    broken = b"<html><body><p>unclosed <div><b>bold</i> & <<< </table>"
    server.route("/broken", Reply(body=broken))
    assert run(sctx, fake_time, [server.url("/broken")])["fetched"] == 1
    assert sctx.store.read("sources").raw_text.iloc[0] == broken.decode()


def test_charset_from_header_and_from_meta_tag(sctx, server, fake_time):
    text = "Caf\u00e9 \u2013 \u201cquoted\u201d"
    server.route("/cp", Reply(body=f"<p>{text}</p>".encode("cp1252"), content_type="text/html; charset=windows-1252"))
    meta = '<html><head><meta charset="iso-8859-1"></head><body>na\u00efve</body></html>'.encode("latin-1")
    server.route("/meta", Reply(body=meta, content_type="text/html"))
    server.route("/bad", Reply(body=b"<p>caf\xe9</p>", content_type="text/html"))  # not UTF-8, no charset
    run(sctx, fake_time, [server.url("/cp"), server.url("/meta"), server.url("/bad")])
    texts = dict(zip(*sctx.store.read("sources")[["uri", "raw_text"]].T.values))
    assert texts[server.url("/cp")] == f"<p>{text}</p>"
    assert "na\u00efve" in texts[server.url("/meta")]
    assert texts[server.url("/bad")] == "<p>caf\ufffd</p>"  # UTF-8 with replacement


# -- robots.txt ----------------------------------------------------------------------------------------------------

def test_robots_disallowed_url_is_reported_and_never_requested(sctx, server, fake_time):
    server.route("/public", Reply(body=PAGE))
    server.route("/private/page", Reply(body=PAGE))
    stats = run(sctx, fake_time, [server.url("/public"), server.url("/private/page")])
    assert stats["fetched"] == 1 and stats["skipped"] == 1
    assert server.paths() == ["/robots.txt", "/public"]  # robots.txt once for the host; /private never
    reason, detail = errors(sctx)[server.url("/private/page")]
    assert reason == "robots_disallowed" and detail == f"disallowed by {server.url('/robots.txt')}, not fetched"


def test_robots_404_allows_all_and_5xx_disallows_the_host(sctx, fake_time):
    sctx.config.scrape.max_retries = 1
    with LocalServer(lifetime=60) as missing, LocalServer(lifetime=60) as broken:
        missing.route("/robots.txt", Reply(404, b"nope", content_type="text/plain"))
        missing.route("/private/x", Reply(body=PAGE))
        broken.route("/robots.txt", Reply(503, b"down", content_type="text/plain"))
        broken.route("/x", Reply(body=PAGE))
        stats = run(sctx, fake_time, [missing.url("/private/x"), broken.url("/x")])
        assert stats["fetched"] == 1 and stats["skipped"] == 1
        assert missing.paths() == ["/robots.txt", "/private/x"]
        assert broken.paths() == ["/robots.txt", "/robots.txt"]  # tried twice (max_retries = 1), page never
        assert errors(sctx)[broken.url("/x")][0] == "robots_unavailable"


def test_redirect_into_a_disallowed_path_is_not_followed(sctx, server, fake_time):
    server.route("/go", Reply(302, headers={"Location": "/private/target"}))
    stats = run(sctx, fake_time, [server.url("/go")])
    assert stats["skipped"] == 1 and "/private/target" not in server.paths()
    reason, detail = errors(sctx)[server.url("/go")]
    assert reason == "robots_disallowed"
    target, robots = server.url("/private/target"), server.url("/robots.txt")
    assert detail == f"redirected to {target}: disallowed by {robots}, not fetched"


# -- retries ---------------------------------------------------------------------------------------------------------

def test_429_then_success_waits_for_retry_after_seconds(sctx, server, fake_time):
    server.route("/busy", Reply(429, b"slow down", headers={"Retry-After": "7"}), Reply(body=PAGE))
    stats = run(sctx, fake_time, [server.url("/busy")])
    assert stats["fetched"] == 1 and stats["failed"] == 0
    assert server.paths().count("/busy") == 2
    assert fake_time.long_sleeps() == [7.0]


def test_retry_after_http_date_is_capped_at_max_wait(sctx, server, fake_time):
    sctx.config.scrape.max_retry_wait_seconds = 30
    later = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    server.route("/busy", Reply(503, headers={"Retry-After": later}), Reply(body=PAGE))
    assert run(sctx, fake_time, [server.url("/busy")])["fetched"] == 1
    assert fake_time.long_sleeps() == [30.0]


def test_5xx_retried_with_exponential_backoff_then_reported(sctx, server, fake_time):
    sctx.config.scrape.max_retries = 3
    sctx.config.scrape.backoff_seconds = 1.0
    server.route("/down", Reply(500, b"oops"))
    server.route("/ok", Reply(body=PAGE))
    stats = run(sctx, fake_time, [server.url("/down"), server.url("/ok")])
    assert stats["failed"] == 1 and stats["fetched"] == 1  # the crawl goes on
    assert server.paths().count("/down") == 4
    assert fake_time.long_sleeps() == [1.0, 2.0, 4.0]
    reason, detail = errors(sctx)[server.url("/down")]
    assert reason == "http_error" and "HTTP 500 after 4 attempts" in detail


def test_per_host_delay_spaces_requests(sctx, server, fake_time):
    sctx.config.scrape.delay_seconds = 2.5
    for name in ("/a", "/b", "/c"):
        server.route(name, Reply(body=PAGE + name.encode()))
    run(sctx, fake_time, [server.url(p) for p in ("/a", "/b", "/c")])
    # robots.txt, /a, /b, /c: every request after the first waited the full delay (the fake clock never moves
    # on its own)
    assert fake_time.sleeps == [2.5, 2.5, 2.5]


def test_404_is_an_http_error_naming_the_url(sctx, server, fake_time):
    stats = run(sctx, fake_time, [server.url("/missing")])
    assert stats["failed"] == 1
    assert errors(sctx)[server.url("/missing")] == ("http_error", "HTTP 404")
    assert sctx.quarantine.messages == [f"{server.url('/missing')}: HTTP 404"]  # what the CLI shows


def test_connection_refused_is_reported_and_the_crawl_goes_on(sctx, server, fake_time):
    sctx.config.scrape.max_retries = 0
    with LocalServer() as gone:
        dead_url = gone.url("/x")
    server.route("/ok", Reply(body=PAGE))
    stats = run(sctx, fake_time, [dead_url, server.url("/ok")])
    assert stats["fetched"] == 1 and stats["skipped"] == 1  # robots.txt unreachable -> host disallowed
    assert errors(sctx)[dead_url][0] == "robots_unavailable"



def test_slow_server_times_out_and_is_retried_then_reported(sctx, server, fake_time):
    sctx.config.scrape.timeout_seconds = 0.3
    sctx.config.scrape.max_retries = 1

    def slow(request):
        time.sleep(1.0)  # longer than the timeout (real time: httpx's timeouts are real)
        return Reply(body=PAGE)

    server.route("/slow", slow)
    assert run(sctx, fake_time, [server.url("/slow")])["failed"] == 1
    reason, detail = errors(sctx)[server.url("/slow")]
    assert reason == "timeout" and "gave up after 2 attempts" in detail

# -- redirects -------------------------------------------------------------------------------------------------------

def test_redirects_followed_and_final_url_is_the_source_uri(sctx, server, fake_time):
    server.route("/old", Reply(301, headers={"Location": "/new"}))
    server.route("/new", Reply(body=PAGE))
    assert run(sctx, fake_time, [server.url("/old")])["fetched"] == 1
    assert sctx.store.read("sources").uri.tolist() == [server.url("/new")]
    assert sctx.store.read("crawl_urls", "kind = 'page'").final_url.tolist() == [server.url("/new")]


def test_redirect_loop_and_too_many_redirects_are_errors(sctx, server, fake_time):
    sctx.config.scrape.max_redirects = 3
    server.route("/a", Reply(302, headers={"Location": "/b"}))
    server.route("/b", Reply(302, headers={"Location": "/a"}))
    for i in range(10):
        server.route(f"/r{i}", Reply(302, headers={"Location": f"/r{i + 1}"}))
    stats = run(sctx, fake_time, [server.url("/a"), server.url("/r0")])
    assert stats["failed"] == 2
    found = errors(sctx)
    assert found[server.url("/a")][0] == "redirect_loop" and "/b" in found[server.url("/a")][1]
    assert found[server.url("/r0")][0] == "too_many_redirects"
    assert server.paths().count("/a") == 1 and "/r5" not in server.paths()


# -- schemes ---------------------------------------------------------------------------------------------------------

def test_only_http_and_https_are_fetched(sctx, server, fake_time):
    bad = ["ftp://127.0.0.1/file", "file:///etc/passwd", "javascript:alert(1)", "not a url", "http:///nohost"]
    server.route("/to-file", Reply(302, headers={"Location": "file:///etc/passwd"}))
    stats = run(sctx, fake_time, bad + [server.url("/to-file")])
    assert stats["failed"] == 6 and stats["fetched"] == 0
    found = errors(sctx)
    for url in bad[:4]:
        assert found[url][0] == "bad_scheme", url
        assert "only http and https" in found[url][1]
    assert found["http:///nohost"][0] == "bad_url"
    assert found[server.url("/to-file")][0] == "bad_scheme"
    assert server.paths() == ["/robots.txt", "/to-file"]


# -- size cap --------------------------------------------------------------------------------------------------------

def _fifty_mb():
    chunk = b"<p>" + b"x" * (64 * 1024 - 7) + b"</p>\n"
    for _ in range(50 * 1024 * 1024 // len(chunk) + 1):
        yield chunk


@pytest.mark.parametrize("declared", [False, True], ids=["streamed", "content-length"])
def test_50mb_body_is_capped_without_reading_it_into_memory(sctx, server, fake_time, declared):
    size = 50 * 1024 * 1024
    if declared:
        server.route("/huge", Reply(body=_fifty_mb, headers={"Content-Length": str(size)}, content_length=False))
    else:
        server.route("/huge", Reply(body=_fifty_mb, content_length=False))
    server.route("/ok", Reply(body=PAGE))
    tracemalloc.start()
    try:
        started = time.monotonic()
        stats = run(sctx, fake_time, [server.url("/huge"), server.url("/ok")])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats["failed"] == 1 and stats["fetched"] == 1
    reason, detail = errors(sctx)[server.url("/huge")]
    assert reason == "too_large" and "5,000,000-byte limit" in detail
    assert peak < 20 * 1024 * 1024, f"peak {peak:,} bytes: the body was read far past the cap"
    assert time.monotonic() - started < 30


# -- content types ---------------------------------------------------------------------------------------------------

def test_non_html_is_reported_unless_it_is_a_format_we_ingest(sctx, server, fake_time):
    server.route("/img", Reply(body=b"\x89PNG\r\n\x1a\n....", content_type="image/png"))
    server.route("/pdf", Reply(body=b"%PDF-1.4", content_type="application/pdf"))
    server.route("/data.json", Reply(body=b'{"text": "hi", "name": "A"}\n', content_type="application/json"))
    server.route("/notes.txt", Reply(body=b"A title\n\nSome text.", content_type="text/plain; charset=utf-8"))
    server.route("/c.csv", Reply(body=b"text,name\nhi,A\n", content_type="text/csv"))
    urls = [server.url(p) for p in ("/img", "/pdf", "/data.json", "/notes.txt", "/c.csv")]
    stats = run(sctx, fake_time, urls)
    assert stats["fetched"] == 3 and stats["failed"] == 2
    found = errors(sctx)
    assert found[server.url("/img")][0] == "not_html" and "image/png" in found[server.url("/img")][1]
    assert found[server.url("/pdf")][0] == "not_html"
    formats = dict(zip(*sctx.store.read("sources")[["uri", "format"]].T.values))
    assert formats == {server.url("/data.json"): "jsonl", server.url("/notes.txt"): "text_dump",
                       server.url("/c.csv"): "csv"}


def test_accept_formats_can_restrict_to_html(sctx, server, fake_time):
    sctx.config.scrape.accept_formats = ["html"]
    server.route("/notes.txt", Reply(body=b"text", content_type="text/plain"))
    assert run(sctx, fake_time, [server.url("/notes.txt")])["failed"] == 1
    assert errors(sctx)[server.url("/notes.txt")][0] == "not_html"


# -- conditional re-scrape -------------------------------------------------------------------------------------------

def test_rescrape_sends_conditional_request_and_reuses_the_stored_body_on_304(sctx, server, fake_time):
    modified = "Wed, 01 Jan 2025 00:00:00 GMT"

    def page(request):
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'}, content_type=None)
        return Reply(body=PAGE, headers={"ETag": '"v1"', "Last-Modified": modified})

    server.route("/a", page)
    first = run(sctx, fake_time, [server.url("/a")])
    second = run(sctx, fake_time, [server.url("/a")])
    assert first["fetched"] == 1 and first["resumed"] == 0
    assert second["not_modified"] == 1 and second["fetched"] == 0 and second["resumed"] == 0
    assert second["crawl_id"] != first["crawl_id"]  # a finished crawl is not resumed: this is a re-scrape
    conditional = [r for r in server.requests if r.path == "/a"][1]
    assert conditional.headers["If-None-Match"] == '"v1"'
    assert conditional.headers["If-Modified-Since"] == modified
    assert sctx.store.count("sources") == 1 and sctx.store.count("errors") == 0
    states = sctx.store.read("crawl_urls", "kind = 'page'").sort_values("fetched_at")
    assert states.status.tolist() == ["fetched", "not_modified"]
    assert states.sha256.nunique() == 1


def test_rescrape_of_changed_page_stores_the_new_version(sctx, server, fake_time):
    server.route("/a", Reply(body=PAGE, headers={"ETag": '"v1"'}), Reply(body=PAGE + b"<!-- v2 -->"))
    run(sctx, fake_time, [server.url("/a")])
    assert run(sctx, fake_time, [server.url("/a")])["fetched"] == 1
    assert sctx.store.count("sources") == 2


# -- resume ----------------------------------------------------------------------------------------------------------

def _five_pages(server) -> list[str]:
    for i in range(5):
        server.route(f"/p{i}", Reply(body=PAGE + f"<!-- {i} -->".encode()))
    return [server.url(f"/p{i}") for i in range(5)]


def test_interrupted_crawl_resumes_without_fetching_any_url_twice(sctx, server, fake_time):
    urls = _five_pages(server)
    seen = []

    def interrupt_after_two(url, status):
        seen.append(url)
        if len(seen) == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C after the second page

    with pytest.raises(KeyboardInterrupt):
        run(sctx, fake_time, urls, on_page=interrupt_after_two)
    assert sctx.store.count("sources") == 2

    stats = run(sctx, fake_time, urls)
    assert stats["resumed"] == 1 and stats["fetched"] == 3 and stats["pending"] == 0
    paths = server.paths()
    assert len(paths) == len(set(paths)) == 6, paths  # robots.txt + 5 pages, each exactly once
    assert sctx.store.count("sources") == 5
    assert not sctx.store.read("crawls").finished_at.isna().any()


def test_max_pages_stops_and_the_next_call_resumes(sctx, server, fake_time):
    urls = _five_pages(server)
    sctx.config.scrape.max_pages = 2
    first, second = run(sctx, fake_time, urls), run(sctx, fake_time, urls)
    assert (first["fetched"], first["pending"], first["resumed"]) == (2, 3, 0)
    assert (second["fetched"], second["pending"], second["resumed"]) == (2, 1, 1)
    assert sctx.store.read("crawls").finished_at.isna().all()  # still unfinished
    last = run(sctx, fake_time, list(reversed(urls)))  # the same set of URLs is the same crawl
    assert last["fetched"] == 1 and last["pending"] == 0 and last["resumed"] == 1
    paths = server.paths()
    assert len(paths) == len(set(paths)) == 6


def test_raise_policy_stops_at_the_first_failure_and_resume_skips_it(sctx, server, fake_time):
    sctx.quarantine.policy = "raise"
    server.route("/ok", Reply(body=PAGE))
    urls = [server.url("/missing"), server.url("/ok")]
    with pytest.raises(InputError, match="/missing: .*HTTP 404"):
        run(sctx, fake_time, urls)
    sctx.quarantine.policy = "quarantine"
    assert run(sctx, fake_time, urls)["fetched"] == 1
    assert server.paths().count("/missing") == 1


# -- sitemaps --------------------------------------------------------------------------------------------------------

def _urlset(*urls: str) -> bytes:
    locs = "".join(f"<url><loc>{u}</loc><lastmod>2024-01-01</lastmod></url>" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{locs}</urlset>").encode()


def _index(*urls: str) -> bytes:
    locs = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>').encode()


def test_sitemap_index_is_followed_to_its_pages(sctx, server, fake_time):
    pages = _five_pages(server)
    xml = "application/xml"
    server.route("/sitemap.xml", Reply(body=_index(server.url("/s1.xml"), server.url("/s2.xml.gz")), content_type=xml))
    server.route("/s1.xml", Reply(body=_urlset(*pages[:3], server.url("/private/no")), content_type=xml))
    gzipped = gzip.compress(_urlset(pages[2], *pages[3:]))  # repeats pages[2]: fetched once all the same
    server.route("/s2.xml.gz", Reply(body=gzipped, content_type="application/gzip"))
    stats = scrape(sctx, [], sitemap=server.url("/sitemap.xml"), fetcher=fetcher(sctx, fake_time))
    assert stats["sitemaps"] == 3 and stats["fetched"] == 5 and stats["skipped"] == 1 and stats["pages"] == 6
    assert sctx.store.count("sources") == 5
    paths = server.paths()
    assert len(paths) == len(set(paths)) and "/private/no" not in paths
    assert errors(sctx)[server.url("/private/no")][0] == "robots_disallowed"


def test_sitemap_depth_is_bounded(sctx, server, fake_time):
    sctx.config.scrape.sitemap_max_depth = 1
    xml = "application/xml"
    server.route("/i0.xml", Reply(body=_index(server.url("/i1.xml")), content_type=xml))
    server.route("/i1.xml", Reply(body=_index(server.url("/i2.xml")), content_type=xml))
    server.route("/i2.xml", Reply(body=_urlset(server.url("/p")), content_type=xml))
    stats = scrape(sctx, [], sitemap=server.url("/i0.xml"), fetcher=fetcher(sctx, fake_time))
    assert stats["sitemaps"] == 2 and "/i2.xml" not in server.paths()
    assert errors(sctx)[server.url("/i1.xml")][0] == "sitemap_too_deep"


def test_sitemap_with_entities_is_refused(sctx, server, fake_time):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b'<urlset><url><loc>&lol2;</loc></url></urlset>')
    server.route("/bomb.xml", Reply(body=bomb, content_type="application/xml"))
    stats = scrape(sctx, [], sitemap=server.url("/bomb.xml"), fetcher=fetcher(sctx, fake_time))
    assert stats["failed"] == 1 and stats["pages"] == 0
    reason, detail = errors(sctx)[server.url("/bomb.xml")]
    assert reason == "bad_sitemap" and "DOCTYPE or ENTITY" in detail


def test_progress_bar_runs(sctx, server, fake_time, capsys):
    sctx.config.run.progress = True
    server.route("/a", Reply(body=PAGE))
    assert run(sctx, fake_time, [server.url("/a"), server.url("/private/x")])["fetched"] == 1


def test_server_log_is_thread_safe_under_concurrent_requests(server):
    # The fixture itself: concurrent clients all get answers and all land in the log.
    import httpx

    server.route("/a", Reply(body=PAGE))
    results = []

    def get():
        with httpx.Client(trust_env=False) as client:
            results.append(client.get(server.url("/a")).status_code)

    threads = [threading.Thread(target=get) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [200] * 8 and server.paths().count("/a") == 8


def test_sidecar_json_is_valid_for_every_stored_body(sctx, server, fake_time):
    server.route("/a", Reply(body=PAGE))
    run(sctx, fake_time, [server.url("/a")])
    sidecars = list(Path(sctx.config.scrape.raw_dir).rglob("*.json"))
    assert len(sidecars) == 2  # robots.txt and the page
    for sidecar in sidecars:
        data = json.loads(sidecar.read_text())
        assert data["sha256"] == sidecar.stem and data["fetches"]
