"""Content-addressed store of raw HTTP responses on disk, so re-parsing (or a 304) never needs a re-fetch.

Layout under the root folder (default `.commentminer/raw/` next to the DuckDB store, or `[scrape] raw_dir`):

    ab/abcdef...0123.body    the response body exactly as received (decoded only of Content-Encoding)
    ab/abcdef...0123.json    sidecar: {"sha256", "size_bytes", "fetches": [{url, final_url, status, headers,
                             fetched_at, etag, last_modified}, ...]} - one entry per URL that served this body,
                             the latest fetch of each URL kept

The file name is the SHA-256 of the body, so identical bodies are stored once. Writes go to a temporary file
that is then renamed, so an interrupted crawl never leaves a half-written body under a valid name.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..ids import sha256_bytes


@dataclass(frozen=True)
class RawFetch:
    """What the sidecar records about one fetch of a body."""

    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    fetched_at: datetime
    etag: str | None
    last_modified: str | None

    def to_json(self) -> dict:
        return {
            "url": self.url, "final_url": self.final_url, "status": self.status, "headers": self.headers,
            "fetched_at": self.fetched_at.isoformat(), "etag": self.etag, "last_modified": self.last_modified,
        }


class RawStore:
    """Bodies and their fetch metadata, addressed by the SHA-256 of the body."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, sha256: str, suffix: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    def has(self, sha256: str) -> bool:
        return self._path(sha256, ".body").is_file()

    def put(self, body: bytes, fetch: RawFetch) -> str:
        """Store `body` (once) and record `fetch` in its sidecar; returns the body's SHA-256."""
        sha256 = sha256_bytes(body)
        body_path = self._path(sha256, ".body")
        if not body_path.is_file():
            _atomic_write(body_path, body)
        sidecar = self.metadata(sha256) or {"sha256": sha256, "size_bytes": len(body), "fetches": []}
        fetches = [f for f in sidecar["fetches"] if f.get("url") != fetch.url]  # keep the latest per URL
        sidecar["fetches"] = fetches + [fetch.to_json()]
        _atomic_write(self._path(sha256, ".json"),
                      json.dumps(sidecar, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        return sha256

    def get(self, sha256: str) -> bytes | None:
        """The stored body, or None when it is not there (or does not match its hash: a damaged file)."""
        try:
            data = self._path(sha256, ".body").read_bytes()
        except OSError:
            return None
        return data if sha256_bytes(data) == sha256 else None

    def metadata(self, sha256: str) -> dict | None:
        """The sidecar of a body, or None."""
        try:
            return json.loads(self._path(sha256, ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
