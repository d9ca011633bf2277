"""Issue 14: the fetcher's wall-clock deadline per response and its size cap on decoded bytes, against a local
server; and runs killed mid-way marked `interrupted` by the next run."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import pandas as pd
import pytest

from commentminer import api
from commentminer.errors import StoreError
from commentminer.ingest.http import Fetcher, FetchFailure, Response
from commentminer.store import Store
from fixtures.http_server import LocalServer, Reply

PAGE = b"<html><head><title>T</title></head><body><p>Hello readers</p></body></html>"


@pytest.fixture
def server():
    with LocalServer(lifetime=60) as s:
        yield s


def _fetcher(**kw) -> Fetcher:
    settings = dict(user_agent="commentminer-test", delay=0.0, trust_env=False, max_retries=0)
    settings.update(kw)
    return Fetcher(**settings)


def test_a_dripped_body_is_cut_off_at_the_deadline(server):
    def drip():
        yield b"<html><body>"
        for _ in range(40):  # one byte every 0.1 s: never idle long enough for a read timeout
            time.sleep(0.1)
            yield b"x"

    server.route("/drip", Reply(body=drip, content_length=False))
    with _fetcher(timeout=0.8) as fetcher:
        started = time.monotonic()
        result = fetcher.fetch(server.url("/drip"))
        elapsed = time.monotonic() - started
    assert isinstance(result, FetchFailure) and result.reason == "timeout"
    assert "timeout_seconds" in result.detail
    assert elapsed < 2.5, f"took {elapsed:.1f} s for a 0.8 s deadline (the body would take 4 s)"


def test_gzip_bomb_stops_at_the_cap_on_decoded_bytes(server):
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)  # 200 MB decoded, ~200 KB on the wire
    server.route("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        with _fetcher(timeout=20, max_bytes=2_000_000) as fetcher:
            result = fetcher.fetch(server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, FetchFailure) and result.reason == "too_large"
    assert "--set scrape.max_bytes=" in result.detail
    assert peak < 12 * 1024 * 1024, f"peak {peak:,} bytes: decoded far past the 2 MB cap"


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", lambda b: b),
])
def test_encoded_bodies_are_decoded(server, encoding, encode):
    server.route("/p", Reply(body=encode(PAGE), headers={"Content-Encoding": encoding}))
    with _fetcher(timeout=5) as fetcher:
        result = fetcher.fetch(server.url("/p"))
    assert isinstance(result, Response) and result.body == PAGE


def test_unknown_or_broken_encoding_is_a_one_line_failure(server):
    server.route("/br", Reply(body=b"????", headers={"Content-Encoding": "br"}))
    server.route("/bad", Reply(body=b"\x1f\x8bnot gzip at all", headers={"Content-Encoding": "gzip"}))
    with _fetcher(timeout=5) as fetcher:
        unknown, broken = fetcher.fetch(server.url("/br")), fetcher.fetch(server.url("/bad"))
    assert isinstance(unknown, FetchFailure) and unknown.reason == "bad_encoding" and "'br'" in unknown.detail
    assert isinstance(broken, FetchFailure) and broken.reason == "bad_encoding"


def test_sitemap_cap_names_its_setting(server):
    server.route("/big", Reply(body=b"x" * 5000))
    with _fetcher(timeout=5) as fetcher:
        result = fetcher.fetch(server.url("/big"), max_bytes=1000, cap_setting="sitemap_max_bytes")
    assert isinstance(result, FetchFailure) and "--set scrape.sitemap_max_bytes=" in result.detail


def test_runs_left_running_are_marked_interrupted_by_the_next_run(tmp_path, config):
    db = tmp_path / "s.duckdb"
    with Store(db) as store:
        store.upsert("runs", pd.DataFrame([
            {"run_id": "run_killed", "status": "running", "started_at": pd.Timestamp("2026-01-01")},
            {"run_id": "run_done", "status": "ok", "started_at": pd.Timestamp("2026-01-01")},
        ]))
    with pytest.raises(StoreError, match="no articles"):
        api.analyse(config=config, db=db)
    with Store(db) as store:
        statuses = dict(store.query("SELECT run_id, status FROM runs").values.tolist())
    assert statuses == {"run_killed": "interrupted", "run_done": "ok"}
