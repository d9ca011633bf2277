"""`commentminer scrape` end to end: a local server (127.0.0.1) serves a page; the CLI fetches and parses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fixtures.http_server import LocalServer, Reply

from commentminer.store import Store

PAGE = (Path(__file__).resolve().parent / "fixtures" / "html" / "mip_sidelined.html").read_bytes()


def _scrape(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "commentminer.cli", "scrape", *args], capture_output=True,
                          text=True, timeout=120)


def test_scrape_fetches_parses_and_resumes_without_refetching(tmp_path):
    db = tmp_path / "s.duckdb"
    settings = ["--set", "scrape.delay_seconds=0", "--set", f"scrape.raw_dir='{tmp_path / 'raw'}'", "-q"]
    with LocalServer() as server:
        server.route("/robots.txt", Reply(200, body=b"User-agent: *\nDisallow: /private\n", content_type="text/plain"))
        server.route("/news/sidelined", Reply(body=PAGE, headers={"ETag": '"v1"'}))
        urls = tmp_path / "urls.txt"
        urls.write_text(f"# pages\n{server.url('/news/sidelined')}\n{server.url('/private/x')}\n")
        first = _scrape("--urls", str(urls), "--db", str(db), *settings)
        assert first.returncode == 0, first.stderr
        assert "1 fetched" in first.stdout and "1 skipped" in first.stdout and "3 comments parsed" in first.stdout
        second = _scrape("--urls", str(urls), "--db", str(db), *settings)
        assert second.returncode == 0, second.stderr
        assert "not modified" in second.stdout
        requested = server.paths()
    assert "/private/x" not in requested                       # robots.txt honoured
    assert requested.count("/news/sidelined") == 2             # second time as a conditional request
    with Store(db, read_only=True) as store:
        assert store.count("articles") == 1 and store.count("comments") == 3
        assert store.read("errors")["reason"].tolist() == ["robots_disallowed"]


def test_scrape_without_urls_is_a_one_line_error(tmp_path):
    result = _scrape("--db", str(tmp_path / "s.duckdb"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "give page URLs, --urls FILE or --sitemap URL" in result.stderr
