"""The HTTP fetcher: the only code in commentminer that talks to the network.

One `Fetcher.fetch(url)` call returns either a `Response` (status, headers and body of the final response after
redirects) or a `FetchFailure` saying what went wrong; it never raises for a bad URL or a bad server. It is
polite and defensive by construction:

- a clear User-Agent on every request;
- only http and https (any other scheme, on the first URL or a redirect target, is refused, nothing is sent);
- a per-host delay: requests to one host are at least `delay` seconds apart (retries and redirect hops too);
- retries with exponential backoff on 429 and 5xx and on connection errors/timeouts, honouring Retry-After
  (seconds or an HTTP date), every wait capped at `max_retry_wait`;
- timeouts on connect/read (httpx) and a wall-clock deadline per response, checked on every piece of the body
  as it arrives (a body dripped a byte at a time is cut off at the deadline, plus at most one read timeout);
- a size cap on the decoded body: raw bytes are decompressed here (gzip/deflate) with a length limit, and reading
  stops as soon as the decoded size passes `max_bytes` (a declared Content-Length over the cap stops it before
  any of the body is read), so neither a huge response nor a gzip bomb ever sits in memory;
- redirects followed by hand, at most `max_redirects` hops; a URL seen twice in one chain is a redirect loop.

Time is injected (`clock`, `sleep`, `now`) so tests run the retry and delay logic without waiting. httpx is
imported on first use, so importing this module is cheap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

ALLOWED_SCHEMES = ("http", "https")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

# A redirect hop is checked by the caller (e.g. against robots.txt) before it is requested: the check returns
# None to go on, or a FetchFailure to stop with.
HopCheck = Callable[[str], "FetchFailure | None"]


@dataclass(frozen=True)
class Response:
    """The final response of a fetch. `body` is empty for 304 Not Modified."""

    url: str                       # the URL asked for
    final_url: str                 # the URL that answered (after redirects)
    status: int
    headers: dict[str, str]        # lower-cased names; repeated headers joined with ", "
    body: bytes
    fetched_at: datetime           # UTC, naive (as stored in DuckDB TIMESTAMP columns)
    redirects: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ("" when the server sent none)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class FetchFailure:
    """Why a URL could not be fetched: a short machine reason and a sentence saying what is wrong.

    `url` is the URL asked for; `detail` does not repeat it (the quarantine shows both) but names any redirect
    target involved.

    reason: "bad_url" | "bad_scheme" | "timeout" | "connection_error" | "http_error" | "too_large" |
    "bad_encoding" | "redirect_loop" | "too_many_redirects" | a caller's hop-check reason (e.g. "robots_disallowed").
    """

    url: str
    reason: str
    detail: str
    status: int | None = None
    final_url: str | None = None


def check_url(url: str) -> FetchFailure | None:
    """None when `url` is an absolute http(s) URL with a host, else the failure to report (nothing is sent)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return FetchFailure(url, "bad_url", f"not a valid URL ({exc})")
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        scheme = parts.scheme or "(none)"
        return FetchFailure(url, "bad_scheme",
                            f"scheme '{scheme}' is not supported; only http and https URLs are fetched")
    if not parts.hostname:
        return FetchFailure(url, "bad_url", "URL has no host name")
    return None


def host_key(url: str) -> str:
    """The politeness key of a URL: scheme + host + port (robots.txt and the delay are per such origin)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').rsplit('@', 1)[-1].lower()}"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), or None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


class HostThrottle:
    """Keeps requests to one host at least `delay` seconds apart (the politeness delay)."""

    def __init__(self, delay: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.delay = delay
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}

    def wait(self, url: str) -> None:
        """Sleep until a request to `url`'s host is allowed, then mark the host as just requested."""
        key = host_key(url)
        last = self._last.get(key)
        if last is not None:
            remaining = self.delay - (self.clock() - last)
            if remaining > 0:
                self.sleep(remaining)
        self._last[key] = self.clock()


@dataclass
class _Attempt:
    """The outcome of one HTTP request (no redirect following, no retry)."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    failure: FetchFailure | None = None


class Fetcher:
    """Fetches URLs politely (see the module docstring). Use as a context manager, or call `close()`.

    The constructor only stores its parameters; the HTTP client is created on the first fetch.
    `trust_env=False` ignores proxy settings in the environment (tests use it so that requests to the local test
    server go straight to 127.0.0.1).
    """

    def __init__(
        self, user_agent: str, *, delay: float = 1.0, timeout: float = 30.0, max_bytes: int = 5_000_000,
        max_redirects: int = 5, max_retries: int = 3, backoff: float = 1.0, max_retry_wait: float = 120.0,
        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc), trust_env: bool = True,
    ):
        self.user_agent = user_agent
        self.delay = delay
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._cap_setting = "max_bytes"  # the [scrape] key of the cap of the fetch in progress
        self.max_redirects = max_redirects
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self.trust_env = trust_env
        self._client: Any = None
        self._throttle: HostThrottle | None = None
        self.requests_sent = 0  # every HTTP request, retries and redirect hops included

    @classmethod
    def from_config(cls, settings: Any, **overrides: Any) -> "Fetcher":
        """A fetcher from a [scrape] config section; keyword overrides (e.g. sleep=...) win."""
        user_agent = settings.user_agent + (f" (+{settings.contact})" if settings.contact else "")
        params = dict(
            delay=settings.delay_seconds, timeout=settings.timeout_seconds, max_bytes=settings.max_bytes,
            max_redirects=settings.max_redirects, max_retries=settings.max_retries,
            backoff=settings.backoff_seconds, max_retry_wait=settings.max_retry_wait_seconds,
        )
        params.update(overrides)
        return cls(user_agent, **params)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                # only the encodings _Decoder reads (httpx would also offer br/zstd when those packages exist)
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,  # followed by hand: bounded, loop-checked, scheme- and robots-checked
                trust_env=self.trust_env,
            )
            self._throttle = HostThrottle(self.delay, self.clock, self.sleep)
        return self._client

    # -- fetching --------------------------------------------------------------------------------------------
    def fetch(
        self, url: str, headers: Mapping[str, str] | None = None, *, max_bytes: int | None = None,
        truncate: bool = False, check_hop: HopCheck | None = None, cap_setting: str = "max_bytes",
    ) -> Response | FetchFailure:
        """GET `url`, following redirects, and return the final response or why it failed.

        `headers` are extra request headers (e.g. If-None-Match); `max_bytes` overrides the size cap; with
        `truncate` an oversized body is cut at the cap instead of failing (robots.txt: only the start counts);
        `check_hop` is asked about every redirect target before it is requested; `cap_setting` is the [scrape]
        key a too_large failure names in its `--set` fix (the cap came from it).
        Non-2xx final statuses are returned as Responses except those retried to exhaustion (429/5xx), which
        are FetchFailure "http_error"; the caller decides what a 404 means.
        """
        url = urldefrag(url.strip())[0]  # a fragment is never sent to the server
        cap = self.max_bytes if max_bytes is None else max_bytes
        self._cap_setting = cap_setting  # named by _too_large
        seen = [url]
        current = url
        while True:
            refused = check_url(current)
            if refused is not None:
                if current != url:
                    refused = FetchFailure(url, refused.reason, f"redirected to {current}: {refused.detail}")
                return refused
            attempt = self._get_with_retries(current, headers, cap, truncate)
            if attempt.failure is not None:
                failure = attempt.failure
                if current != url:  # name the URL the user gave, and where the chain went
                    failure = FetchFailure(url, failure.reason, f"redirected to {current}: {failure.detail}",
                                           failure.status, current)
                return failure
            if attempt.status in REDIRECT_STATUSES and "location" in attempt.headers:
                target = urldefrag(urljoin(current, attempt.headers["location"].strip()))[0]
                if target in seen:
                    chain = " -> ".join(seen + [target])
                    return FetchFailure(url, "redirect_loop", f"redirect loop ({chain})", attempt.status)
                if len(seen) > self.max_redirects:
                    return FetchFailure(url, "too_many_redirects",
                                        f"more than {self.max_redirects} redirects ([scrape] max_redirects); "
                                        f"last hop to {target}", attempt.status)
                if check_hop is not None:
                    stopped = check_hop(target)
                    if stopped is not None:
                        return FetchFailure(url, stopped.reason, f"redirected to {target}: {stopped.detail}",
                                            attempt.status, target)
                seen.append(target)
                current = target
                continue
            return Response(url=url, final_url=current, status=attempt.status, headers=attempt.headers,
                            body=attempt.body, fetched_at=self.now().astimezone(timezone.utc).replace(tzinfo=None),
                            redirects=tuple(seen[1:]))

    def _get_with_retries(self, url: str, headers: Mapping[str, str] | None, cap: int, truncate: bool) -> _Attempt:
        """One URL (no redirect following), retried on 429/5xx and on transport errors."""
        attempt = _Attempt()
        for number in range(self.max_retries + 1):
            attempt = self._get_once(url, headers, cap, truncate)
            retryable = attempt.failure is not None and attempt.failure.reason in ("timeout", "connection_error")
            retryable = retryable or attempt.status == 429 or attempt.status >= 500
            if not retryable:
                return attempt
            if number == self.max_retries:
                break
            wait = self.backoff * (2 ** number)  # exponential backoff: 1x, 2x, 4x, ...
            retry_after = parse_retry_after(attempt.headers.get("retry-after"), self.now())
            if retry_after is not None:
                wait = retry_after  # the server knows best; the cap below still applies
            self.sleep(min(wait, self.max_retry_wait))
        if attempt.failure is not None:
            return _Attempt(failure=FetchFailure(
                url, attempt.failure.reason,
                f"{attempt.failure.detail} (gave up after {self.max_retries + 1} attempts)"))
        return _Attempt(status=attempt.status, headers=attempt.headers, failure=FetchFailure(
            url, "http_error", f"HTTP {attempt.status} after {self.max_retries + 1} attempts "
                               "([scrape] max_retries)", attempt.status))

    def _get_once(self, url: str, headers: Mapping[str, str] | None, cap: int, truncate: bool) -> _Attempt:
        """One GET with the size cap and the total deadline; transport errors become failures."""
        import httpx

        client = self._http()
        assert self._throttle is not None
        self._throttle.wait(url)
        self.requests_sent += 1
        deadline = time.monotonic() + self.timeout  # total, on top of httpx's per-operation timeouts
        try:
            with client.stream("GET", url, headers=dict(headers or {})) as response:
                result = _Attempt(status=response.status_code, headers=_header_dict(response.headers))
                if response.status_code in REDIRECT_STATUSES or response.status_code == 304 \
                        or response.status_code == 429 or response.status_code >= 500:
                    return result  # the body is not needed
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap and not truncate:
                    return _too_large(url, f"declares {int(declared):,} bytes", "not read", cap, result,
                                      self._cap_setting)
                decoder = _Decoder.for_encoding(response.headers.get("content-encoding", ""))
                if decoder is None:
                    return _Attempt(status=result.status, headers=result.headers, failure=FetchFailure(
                        url, "bad_encoding",
                        f"unsupported Content-Encoding {response.headers.get('content-encoding')!r} (gzip and deflate "
                        "are read)",
                        result.status))
                # Raw bytes as they arrive (not 64 KiB chunks: a body dripped at 1 byte/s would pass the deadline
                # check only once per 64 KiB), decoded here with a length limit so a gzip bomb never expands past
                # the cap. A list of chunks, joined once at the end: a growing bytearray would hold two copies
                # whenever it reallocates.
                chunks: list[bytes] = []
                size = 0
                for raw in response.iter_raw():
                    for chunk in decoder.feed(raw, cap + 1 - size):
                        chunks.append(chunk)
                        size += len(chunk)
                    if size > cap:
                        if truncate:
                            break
                        return _too_large(url, f"passed {cap:,} bytes", "stopped reading", cap, result,
                                          self._cap_setting)
                    if time.monotonic() > deadline:
                        return _Attempt(failure=FetchFailure(
                            url, "timeout", f"body not received within {self.timeout:g} s "
                                            "([scrape] timeout_seconds)"))
                if decoder.failed:
                    return _Attempt(status=result.status, headers=result.headers, failure=FetchFailure(
                        url, "bad_encoding", f"the {decoder.name} body cannot be decoded ({decoder.failed})",
                        result.status))
                result.body = b"".join(chunks)[:cap]
                return result
        except httpx.TimeoutException as exc:
            return _Attempt(failure=FetchFailure(url, "timeout", f"timed out ({type(exc).__name__}, "
                                                                 f"[scrape] timeout_seconds = {self.timeout:g})"))
        except httpx.TransportError as exc:  # connection refused/reset, DNS failure, protocol error
            return _Attempt(failure=FetchFailure(url, "connection_error", f"cannot connect or read "
                                                                          f"({type(exc).__name__}: {exc})"))
        except httpx.InvalidURL as exc:
            return _Attempt(failure=FetchFailure(url, "bad_url", f"not a valid URL ({exc})"))


class _Decoder:
    """Content-Encoding decoding that never yields more than it is allowed to (gzip bombs stop at the cap)."""

    def __init__(self, name: str, zlib_wbits: int | None):
        import zlib

        self.name = name
        self._zlib = zlib.decompressobj(zlib_wbits) if zlib_wbits is not None else None
        self.failed: str | None = None

    @classmethod
    def for_encoding(cls, header: str) -> "_Decoder | None":
        codings = [c.strip().lower() for c in header.split(",") if c.strip() and c.strip().lower() != "identity"]
        if not codings:
            return cls("identity", None)
        if codings in (["gzip"], ["x-gzip"], ["deflate"]):
            return cls(codings[0], 32 + 15)  # 32: a gzip or zlib header, detected
        return None

    def feed(self, data: bytes, limit: int) -> list[bytes]:
        """Decoded bytes of `data`, at most `limit` of them (input past the limit is dropped: reading stops)."""
        if self._zlib is None:
            return [data[:max(limit, 0)]] if data else []
        import zlib

        out: list[bytes] = []
        try:
            while data and limit > 0 and not self._zlib.eof:
                piece = self._zlib.decompress(data, limit)
                out.append(piece)
                limit -= len(piece)
                data = self._zlib.unconsumed_tail
        except zlib.error as exc:
            self.failed = str(exc)
        return out


def _too_large(url: str, what: str, done: str, cap: int, result: _Attempt, setting: str) -> _Attempt:
    suggested = 10 ** (len(str(cap)) + 1)
    return _Attempt(status=result.status, headers=result.headers, failure=FetchFailure(
        url, "too_large", f"response {what}, over the {cap:,}-byte limit ([scrape] {setting}); {done}; to read it, "
                          f"raise the limit, e.g. --set scrape.{setting}={suggested}", result.status))


def _header_dict(headers: Any) -> dict[str, str]:
    """httpx headers as a plain dict with lower-cased names; repeated headers are joined as HTTP allows."""
    merged: dict[str, str] = {}
    for name, value in headers.multi_items():
        name = name.lower()
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged
