"""Scrape stage: URLs (or a sitemap) -> raw responses on disk + `sources` rows; failures -> quarantine.

    from commentminer.ingest.scrape import scrape
    stats = scrape(ctx, ["https://example.org/article-1"], sitemap="https://example.org/sitemap.xml")

Reads and writes: crawls, crawl_urls (the crawl state), sources, errors; raw bodies go to the raw store
(`[scrape] raw_dir`). All network access goes through `ingest.http.Fetcher`.

Rules, in the order a URL meets them:

1. Only absolute http/https URLs (else "bad_scheme" / "bad_url").
2. robots.txt of the URL's host, fetched once per host per crawl and kept with the crawl (so a resumed crawl
   does not fetch it again): a disallowed URL is never requested ("robots_disallowed"); a host whose robots.txt
   answered 5xx or could not be reached is treated as all-disallowed ("robots_unavailable"); a 4xx robots.txt
   allows everything (RFC 9309; see ingest.robots). Redirect targets are checked the same way before they are
   requested.
3. A conditional request when the URL was fetched before and its body is still in the raw store
   (If-None-Match / If-Modified-Since from that fetch); a 304 re-uses the stored body ("not_modified").
4. The response: 2xx with a content type we ingest becomes a `sources` row; other statuses are "http_error",
   other content types "not_html", an empty body "empty_body". Malformed HTML is stored as it is: the parser
   decides what it can read.

Content types -> source format (only those listed in `[scrape] accept_formats` are kept): text/html and
application/xhtml+xml -> "html"; text/plain -> "text_dump"; text/csv -> "csv"; application/json,
application/x-ndjson, application/jsonl -> "jsonl" (stored as received; the table parser reads JSON Lines). A
response without a Content-Type is taken as HTML when its body starts with "<", else it is "not_html".

Decoding the text (`sources.raw_text`): a byte-order mark wins; then the charset of the Content-Type header;
then, for HTML, a <meta charset> or <meta http-equiv="Content-Type"> in the first 4 KB; else UTF-8. Bytes that
do not decode are replaced with U+FFFD (never an error: the raw bytes stay in the raw store).

Resuming: each crawl has a row in `crawls` and its frontier in `crawl_urls` (status per URL, written after each
URL). Scraping the same inputs again continues an unfinished crawl, fetching only what is still "pending"; once
a crawl has finished, the next scrape of the same inputs is a new crawl (with conditional requests).
"""

from __future__ import annotations

import json
import re
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd

from ..context import StageContext
from ..ids import content_id, sha256_bytes
from ..schema import CRAWL_URLS, CRAWLS, SOURCES
from .http import Fetcher, FetchFailure, Response, check_url, host_key
from .raw_store import RawFetch, RawStore
from .robots import RobotsRules, robots_url

STAGE = "scrape"
ROBOTS_MAX_BYTES = 512_000  # RFC 9309: parse at least the first 500 KiB; the rest is ignored

CONTENT_TYPE_FORMATS = {
    "text/html": "html", "application/xhtml+xml": "html", "text/plain": "text_dump", "text/csv": "csv",
    "application/json": "jsonl", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
    "application/ndjson": "jsonl",
}

# Called after each page URL is settled, with (url, status); tests use it to interrupt a crawl.
PageHook = Callable[[str, str], None]


# -- small pure helpers ------------------------------------------------------------------------------------------

def source_format(content_type: str, body: bytes, accepted: Iterable[str]) -> str | None:
    """The source format for a response's media type (see the module docstring), or None when not kept."""
    if not content_type:
        fmt: str | None = "html" if body.lstrip()[:1] == b"<" else None
    else:
        fmt = CONTENT_TYPE_FORMATS.get(content_type)
    return fmt if fmt in set(accepted) else None


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _charset_param(content_type_header: str) -> str | None:
    match = re.search(r"""charset\s*=\s*["']?([^"';\s]+)""", content_type_header or "", re.IGNORECASE)
    return match.group(1) if match else None


def decode_body(body: bytes, content_type_header: str, fmt: str) -> str:
    """The body as text, by the rule in the module docstring (never raises)."""
    encoding = next((name for bom, name in _BOMS if body.startswith(bom)), None)
    encoding = encoding or _charset_param(content_type_header)
    if encoding is None and fmt == "html":
        match = _META_CHARSET.search(body[:4096])
        encoding = match.group(1).decode("ascii") if match else None
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name: UTF-8 is the web's default
        return body.decode("utf-8", errors="replace")


class SitemapError(ValueError):
    """A sitemap that cannot be used; the message says why."""


@dataclass(frozen=True)
class Sitemap:
    kind: str                   # "urlset" (page URLs) | "index" (URLs of further sitemaps)
    locs: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_sitemap(data: bytes, max_bytes: int) -> Sitemap:
    """The <loc> URLs of a sitemap or sitemap index (optionally gzipped), parsed safely.

    Safety without defusedxml: the size is capped (also after gunzip, so a gzip bomb stops at the cap), the
    document must be UTF-8 as the sitemaps protocol requires (so the byte check below sees every declaration),
    and any DOCTYPE or ENTITY declaration is refused before parsing, so entity-expansion attacks never reach
    the XML parser.
    """
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, max_bytes + 1)
        except zlib.error as exc:
            raise SitemapError(f"not a valid gzip file ({exc})") from None
    if len(data) > max_bytes:
        raise SitemapError(f"over {max_bytes:,} bytes ([scrape] sitemap_max_bytes; to read it, raise the limit, "
                           f"e.g. --set scrape.sitemap_max_bytes={10 ** (len(str(max_bytes)) + 1)})")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise SitemapError("not UTF-8 (sitemaps must be UTF-8)")
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise SitemapError("has a DOCTYPE or ENTITY declaration (refused: entity expansion risk)")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise SitemapError(f"not well-formed XML ({exc})") from None
    kind = {"urlset": "urlset", "sitemapindex": "index"}.get(_local(root.tag))
    if kind is None:
        raise SitemapError(f"root element is <{_local(root.tag)}>, not <urlset> or <sitemapindex>")
    locs = [el.text.strip() for el in root.iter() if _local(el.tag) == "loc" and el.text and el.text.strip()]
    return Sitemap(kind, tuple(dict.fromkeys(locs)))


def default_raw_dir(ctx: StageContext) -> Path:
    """`[scrape] raw_dir`, else .commentminer/raw/ next to the store file (cwd for an in-memory store)."""
    if ctx.config.scrape.raw_dir:
        return Path(ctx.config.scrape.raw_dir)
    base = Path(".") if ctx.store.path == ":memory:" else Path(ctx.store.path).parent
    return base / ".commentminer" / "raw"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# -- crawl state in the store ------------------------------------------------------------------------------------

class CrawlState:
    """The `crawls` row and `crawl_urls` frontier of one crawl (see the module docstring on resuming)."""

    def __init__(self, store: Any, crawl_key: str):
        self.store = store
        self.crawl_key = crawl_key
        self.crawl_id = ""
        self.resumed = False
        self.rows: dict[str, dict] = {}   # url -> crawl_urls row, for every URL of this crawl
        self.next_position = 0

    def open(self, start: list[tuple[str, str]]) -> None:
        """Resume the unfinished crawl of these inputs, or start a new one with `start` [(url, kind)] pending."""
        latest = self.store.query(
            "SELECT crawl_id, generation, finished_at FROM crawls WHERE crawl_key = ? "
            "ORDER BY generation DESC LIMIT 1", [self.crawl_key])
        if not latest.empty and pd.isna(latest.finished_at.iloc[0]):
            self.crawl_id, self.resumed = str(latest.crawl_id.iloc[0]), True
        else:
            generation = 1 if latest.empty else int(latest.generation.iloc[0]) + 1
            self.crawl_id = content_id("crawl", self.crawl_key, generation)
            self.store.upsert("crawls", pd.DataFrame([{
                "crawl_id": self.crawl_id, "crawl_key": self.crawl_key, "generation": generation,
                "started_at": _utcnow(), "finished_at": None, "stats_json": None,
            }], columns=CRAWLS.column_names))
        stored = self.store.read("crawl_urls", "crawl_id = ?", [self.crawl_id])
        self.rows = {r["url"]: r for r in stored.astype(object).where(stored.notna(), None).to_dict("records")}
        self.next_position = max((int(r["position"]) for r in self.rows.values()), default=-1) + 1
        # Rows are only added, never reset: a crash between writing the crawl row and its frontier is harmless.
        self.add([(url, kind, 0) for url, kind in start])

    def add(self, items: Iterable[tuple[str, str, int]]) -> list[dict]:
        """Add (url, kind, depth) items not yet in the crawl as pending, and write them; returns the new rows."""
        new = self.new_rows(items)
        self.save(new)
        return new

    def new_rows(self, items: Iterable[tuple[str, str, int]]) -> list[dict]:
        """Pending rows, in crawl order, for the (url, kind, depth) items not yet in the crawl (not written)."""
        new: dict[str, dict] = {}
        for url, kind, depth in items:
            if url in self.rows or url in new:
                continue
            new[url] = {"crawl_id": self.crawl_id, "url": url, "kind": kind, "position": self.next_position,
                        "depth": depth, "status": "pending"}
            self.next_position += 1
        return list(new.values())

    def save(self, rows: list[dict]) -> None:
        """Write rows (one transaction, so a sitemap's outcome and the URLs it listed land together)."""
        if rows:
            for row in rows:
                self.rows[row["url"]] = row
            self.store.upsert("crawl_urls", pd.DataFrame(rows).reindex(columns=CRAWL_URLS.column_names))

    def pending(self) -> list[dict]:
        """Pending page and sitemap rows in crawl order."""
        rows = [r for r in self.rows.values() if r["status"] == "pending" and r["kind"] != "robots"]
        return sorted(rows, key=lambda r: int(r["position"]))

    def previous_fetch(self, url: str) -> dict | None:
        """The latest stored fetch of `url` in any crawl (what a conditional request is built from)."""
        found = self.store.query(
            "SELECT * FROM crawl_urls WHERE url = ? AND kind = 'page' AND sha256 IS NOT NULL "
            "AND status IN ('fetched', 'not_modified') ORDER BY fetched_at DESC LIMIT 1", [url])
        if found.empty:
            return None
        return found.astype(object).where(found.notna(), None).to_dict("records")[0]

    def finish(self, stats: dict, finished: bool) -> None:
        row = self.store.read("crawls", "crawl_id = ?", [self.crawl_id]).to_dict("records")[0]
        row["finished_at"] = _utcnow() if finished else None
        row["stats_json"] = json.dumps(stats, sort_keys=True)
        self.store.upsert("crawls", pd.DataFrame([row], columns=CRAWLS.column_names))


# -- the crawler -------------------------------------------------------------------------------------------------

@dataclass
class _Counts:
    fetched: int = 0
    not_modified: int = 0
    skipped: int = 0
    failed: int = 0
    sitemaps: int = 0
    sources_new: int = 0


class Crawler:
    """Works through one crawl's frontier with one fetcher (see the module docstring for the rules)."""

    def __init__(self, ctx: StageContext, fetcher: Fetcher, state: CrawlState, raw: RawStore,
                 on_page: PageHook | None = None):
        self.ctx = ctx
        self.settings = ctx.config.scrape
        self.fetcher = fetcher
        self.state = state
        self.raw = raw
        self.on_page = on_page
        self.counts = _Counts()
        self._robots: dict[str, RobotsRules] = {}

    # -- the loop ----------------------------------------------------------------------------------------------
    def run(self) -> bool:
        """Process pending URLs in order; True when the frontier is empty (the crawl is finished)."""
        queue = deque(self.state.pending())
        pages_this_call, limit = 0, self.settings.max_pages
        bar = self._progress_bar(len(queue))
        try:
            while queue:
                if queue[0]["kind"] == "page" and limit and pages_this_call >= limit:
                    return False  # the next scrape of the same inputs resumes here
                row = queue.popleft()
                if row["kind"] == "sitemap":
                    added = self._sitemap(row)
                    queue.extend(r for r in added if r["kind"] in ("page", "sitemap"))
                    if bar is not None:
                        bar.total += len(added)
                else:
                    status = self._page(row)
                    pages_this_call += 1
                    if self.on_page is not None:
                        self.on_page(row["url"], status)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(fetched=self.counts.fetched + self.counts.not_modified,
                                    skipped=self.counts.skipped, failed=self.counts.failed, refresh=False)
            return True
        finally:
            if bar is not None:
                bar.close()

    def _progress_bar(self, total: int) -> Any:
        if not self.ctx.config.run.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, desc="scrape", unit="url", leave=False)

    # -- outcomes ----------------------------------------------------------------------------------------------
    def _settle(self, row: dict, status: str, reason: str | None = None, detail: str | None = None,
                extra_rows: list[dict] | None = None, **fields: Any) -> str:
        """Write a URL's outcome (before reporting, so that under policy "raise" a resume still skips it)."""
        done = {**row, "status": status, "reason": reason, "fetched_at": _utcnow(), **fields}
        self.state.save([done] + (extra_rows or []))
        if status in ("skipped", "failed"):
            setattr(self.counts, status, getattr(self.counts, status) + 1)
        elif status in ("fetched", "not_modified") and row["kind"] == "page":
            setattr(self.counts, status, getattr(self.counts, status) + 1)
        if reason is not None:
            self.ctx.quarantine.report(stage=STAGE, uri=row["url"], reason=reason, detail=detail or reason)
        return status

    def _fail(self, row: dict, failure: FetchFailure) -> str:
        status = "skipped" if failure.reason.startswith("robots_") else "failed"
        return self._settle(row, status, failure.reason, failure.detail, http_status=failure.status,
                            final_url=failure.final_url)

    # -- robots.txt --------------------------------------------------------------------------------------------
    def _rules(self, url: str) -> RobotsRules:
        """The robots rules for `url`'s host: from this crawl's state, else fetched now (once per host)."""
        key = host_key(url)
        if key not in self._robots:
            self._robots[key] = self._stored_robots(robots_url(url)) or self._fetch_robots(robots_url(url))
        return self._robots[key]

    def _stored_robots(self, url: str) -> RobotsRules | None:
        row = self.state.rows.get(url)
        if row is None or row["kind"] != "robots":
            return None
        if row["status"] == "missing":
            return RobotsRules.allow_all()
        if row["status"] == "unavailable":
            return RobotsRules.disallow_all()
        body = self.raw.get(row["sha256"]) if row.get("sha256") else None
        if body is None:
            return None  # raw file gone: fetch again
        return RobotsRules.parse(body.decode("utf-8", errors="replace"), self.fetcher.user_agent)

    def _fetch_robots(self, url: str) -> RobotsRules:
        """Fetch robots.txt and apply the RFC 9309 rule for its outcome (see ingest.robots)."""
        result = self.fetcher.fetch(url, max_bytes=ROBOTS_MAX_BYTES, truncate=True)
        row: dict[str, Any] = {"crawl_id": self.state.crawl_id, "url": url, "kind": "robots", "position": -1,
                               "depth": 0, "fetched_at": _utcnow()}
        if isinstance(result, FetchFailure):
            # Too many redirects or a bad redirect: RFC 9309 treats robots.txt as unavailable (4xx-like).
            missing = result.reason in ("redirect_loop", "too_many_redirects", "bad_scheme", "bad_url")
            rules = RobotsRules.allow_all() if missing else RobotsRules.disallow_all()
            row.update(status="missing" if missing else "unavailable", http_status=result.status,
                       reason=result.reason)
        elif 200 <= result.status < 300:
            sha = self.raw.put(result.body, _raw_fetch(result))
            rules = RobotsRules.parse(result.body.decode("utf-8", errors="replace"), self.fetcher.user_agent)
            row.update(status="fetched", http_status=result.status, sha256=sha, final_url=result.final_url)
        elif 400 <= result.status < 500:
            rules = RobotsRules.allow_all()
            row.update(status="missing", http_status=result.status, final_url=result.final_url)
        else:
            rules = RobotsRules.disallow_all()
            row.update(status="unavailable", http_status=result.status, final_url=result.final_url,
                       reason="http_error")
        self.state.save([row])
        return rules

    def _permission(self, url: str) -> FetchFailure | None:
        """None when `url` may be requested, else why not (robots_disallowed / robots_unavailable)."""
        rules = self._rules(url)
        if rules.kind == "disallow_all" and self.state.rows.get(robots_url(url), {}).get("status") == "unavailable":
            return FetchFailure(url, "robots_unavailable",
                                f"not fetched: {robots_url(url)} could not be read (server error or "
                                "unreachable), so the whole host is treated as disallowed")
        if not rules.allowed(url):
            return FetchFailure(url, "robots_disallowed", f"disallowed by {robots_url(url)}, not fetched")
        return None

    def _check(self, url: str) -> FetchFailure | None:
        """Scheme and robots checks before any request to `url` (also used for redirect hops)."""
        return check_url(url) or self._permission(url)

    # -- pages -------------------------------------------------------------------------------------------------
    def _page(self, row: dict) -> str:
        url = row["url"]
        refused = self._check(url)
        if refused is not None:
            return self._fail(row, refused)
        previous = self.state.previous_fetch(url)
        if previous is not None and not self.raw.has(previous["sha256"]):
            previous = None  # the stored body is gone, so a 304 would leave us with nothing
        headers = {}
        if previous is not None and previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous is not None and previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
        result = self.fetcher.fetch(url, headers, check_hop=self._check)
        if isinstance(result, FetchFailure):
            return self._fail(row, result)
        if result.status == 304 and previous is not None:
            body = self.raw.get(previous["sha256"]) or b""
            content_type = previous.get("content_type") or ""
            source_id = self._store_source(result.final_url, body, content_type)
            return self._settle(
                row, "not_modified", http_status=304, final_url=result.final_url, sha256=previous["sha256"],
                source_id=source_id, content_type=content_type,
                etag=result.headers.get("etag") or previous.get("etag"),
                last_modified=result.headers.get("last-modified") or previous.get("last_modified"))
        if not 200 <= result.status < 300 or result.status == 304:
            return self._settle(row, "failed", "http_error", f"HTTP {result.status}"
                                + (f" from {result.final_url}" if result.final_url != url else "")
                                + (" (no Location header)" if 300 <= result.status < 400 else ""),
                                http_status=result.status, final_url=result.final_url)
        header = result.headers.get("content-type", "")
        fmt = source_format(result.content_type, result.body, self.settings.accept_formats)
        if fmt is None:
            return self._settle(row, "failed", "not_html",
                                f"content type '{result.content_type or '(none)'}' is not HTML or a format "
                                f"we ingest ([scrape] accept_formats = {self.settings.accept_formats})",
                                http_status=result.status, final_url=result.final_url, content_type=header)
        if not result.body.strip():
            return self._settle(row, "failed", "empty_body", f"HTTP {result.status} with an empty body",
                                http_status=result.status, final_url=result.final_url, content_type=header)
        sha = self.raw.put(result.body, _raw_fetch(result))
        source_id = self._store_source(result.final_url, result.body, header)
        return self._settle(row, "fetched", http_status=result.status, final_url=result.final_url, sha256=sha,
                            source_id=source_id, content_type=header, etag=result.headers.get("etag"),
                            last_modified=result.headers.get("last-modified"))

    def _store_source(self, uri: str, body: bytes, content_type_header: str) -> str:
        """Upsert the `sources` row for a body (id from its hash, like ingested files); returns its id.

        Content already stored under the same URI is left alone; under a new URI only the uri changes
        (ingested_at is kept), as for files.
        """
        fmt = source_format(content_type_header.split(";", 1)[0].strip().lower(), body,
                            CONTENT_TYPE_FORMATS.values()) or "html"
        sha = sha256_bytes(body)
        source_id = content_id("src", sha)
        existing = self.ctx.store.query("SELECT uri, ingested_at FROM sources WHERE source_id = ?", [source_id])
        if not existing.empty and existing.uri.iloc[0] == uri:
            return source_id
        if existing.empty:
            self.counts.sources_new += 1
        self.ctx.store.upsert("sources", pd.DataFrame([{
            "source_id": source_id, "uri": uri, "format": fmt, "content_type": content_type_header or None,
            "sha256": sha, "size_bytes": len(body), "raw_text": decode_body(body, content_type_header, fmt),
            "options_json": None, "ingested_at": _utcnow() if existing.empty else existing.ingested_at.iloc[0],
        }], columns=SOURCES.column_names))
        return source_id

    # -- sitemaps ----------------------------------------------------------------------------------------------
    def _sitemap(self, row: dict) -> list[dict]:
        """Fetch and read one sitemap; its URLs join the frontier. Returns the rows added."""
        url, depth = row["url"], int(row["depth"])
        refused = self._check(url)
        if refused is not None:
            self._fail(row, refused)
            return []
        result = self.fetcher.fetch(url, max_bytes=self.settings.sitemap_max_bytes, check_hop=self._check,
                                    cap_setting="sitemap_max_bytes")
        if isinstance(result, FetchFailure):
            self._fail(row, result)
            return []
        if result.status != 200:
            self._settle(row, "failed", "http_error", f"sitemap answered HTTP {result.status}",
                         http_status=result.status, final_url=result.final_url)
            return []
        try:
            sitemap = parse_sitemap(result.body, self.settings.sitemap_max_bytes)
        except SitemapError as exc:
            self._settle(row, "failed", "bad_sitemap", f"sitemap {exc}", http_status=result.status,
                         final_url=result.final_url)
            return []
        self.counts.sitemaps += 1
        kind = "sitemap" if sitemap.kind == "index" else "page"
        too_deep = kind == "sitemap" and depth + 1 > self.settings.sitemap_max_depth
        # The URLs it lists and this sitemap's outcome are written in one transaction: a resume never loses URLs.
        new_rows = [] if too_deep else self.state.new_rows((loc, kind, depth + 1) for loc in sitemap.locs)
        reason = detail = None
        if too_deep:
            reason = "sitemap_too_deep"
            detail = (f"sitemap index at depth {depth} lists {len(sitemap.locs)} further sitemaps, beyond "
                      f"[scrape] sitemap_max_depth = {self.settings.sitemap_max_depth}; they were not read")
        sha = self.raw.put(result.body, _raw_fetch(result))  # kept, like pages, to show what the crawl saw
        self._settle(row, "fetched", reason, detail, extra_rows=new_rows, http_status=result.status,
                     final_url=result.final_url, sha256=sha, content_type=result.headers.get("content-type"))
        return new_rows


def _raw_fetch(response: Response) -> RawFetch:
    return RawFetch(url=response.url, final_url=response.final_url, status=response.status,
                    headers=response.headers, fetched_at=response.fetched_at, etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"))


# -- the stage entry point ---------------------------------------------------------------------------------------

def _clean(urls: Iterable[str]) -> list[str]:
    """Start URLs stripped, blank lines and duplicates dropped, order kept."""
    return list(dict.fromkeys(u.strip() for u in urls if u and u.strip()))


def crawl_key(urls: list[str], sitemap: str | None) -> str:
    """What identifies "the same crawl": the start URLs (as a set) and the sitemap URL."""
    return content_id("crawlkey", json.dumps({"urls": sorted(urls), "sitemap": sitemap}))


def scrape(ctx: StageContext, urls: list[str], sitemap: str | None = None, *, fetcher: Fetcher | None = None,
           on_page: PageHook | None = None) -> dict:
    """Fetch `urls` (and the pages a `sitemap` lists) into raw files and `sources` rows; return counts.

    Resumes the unfinished crawl of the same inputs if there is one (see the module docstring). Every URL that
    cannot be fetched or kept is reported to the quarantine with the URL and the reason, and the crawl goes on.
    `fetcher` replaces the one built from [scrape] (tests inject one with a fake sleep); `on_page(url, status)`
    is called after each page is settled.

    Counts: crawl_id, resumed (0/1), pages (page URLs in the crawl), fetched, not_modified, skipped, failed,
    sitemaps (read), pending (left for a later call, e.g. after [scrape] max_pages), sources_new, requests
    (HTTP requests sent, robots.txt, retries and redirects included), quarantined.
    """
    start = [(url, "page") for url in _clean(urls)]
    if sitemap and sitemap.strip():
        start.append((sitemap.strip(), "sitemap"))
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher.from_config(ctx.config.scrape)
    recorded_before = ctx.quarantine.recorded
    requests_before = fetcher.requests_sent
    state = CrawlState(ctx.store, crawl_key([url for url, kind in start if kind == "page"], sitemap))
    state.open(start)
    crawler = Crawler(ctx, fetcher, state, RawStore(default_raw_dir(ctx)), on_page=on_page)
    finished = False
    try:
        finished = crawler.run()
    finally:
        if own_fetcher:
            fetcher.close()
        counts = crawler.counts
        stats = {
            "crawl_id": state.crawl_id, "resumed": int(state.resumed),
            "pages": sum(1 for r in state.rows.values() if r["kind"] == "page"),
            "fetched": counts.fetched, "not_modified": counts.not_modified, "skipped": counts.skipped,
            "failed": counts.failed, "sitemaps": counts.sitemaps, "pending": len(state.pending()),
            "sources_new": counts.sources_new, "requests": fetcher.requests_sent - requests_before,
            "quarantined": ctx.quarantine.recorded - recorded_before,
        }
        state.finish(stats, finished)
    return stats
