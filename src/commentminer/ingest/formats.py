"""Source formats: which parser reads a file, decided from its name, and Parquet files turned into text.

Every source is stored as text (`sources.raw_text`), so parsers have one input type. A Parquet export is binary,
so it is stored as JSON Lines of its rows (one object per row, dates as ISO strings); the user's file is never
modified.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..ids import sha256_bytes
from .files import ReadFile, Rejection, too_large

FORMATS = ("text_dump", "html", "csv", "jsonl", "parquet", "disqus_xml")

_BY_SUFFIX = {
    ".txt": "text_dump", ".html": "html", ".htm": "html", ".xhtml": "html", ".csv": "csv", ".tsv": "csv",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet",
    ".xml": "disqus_xml",
}


# Comment exports (many comments per file, often many megabytes) are capped by [ingest] max_export_bytes; pages
# and text dumps by [ingest] max_file_bytes.
EXPORT_FORMATS = frozenset({"csv", "jsonl", "parquet", "disqus_xml"})


def size_cap(file_format: str, settings) -> tuple[int, str]:
    """(cap in bytes, the [ingest] key it comes from) for a file of `file_format` under IngestConfig `settings`."""
    if file_format in EXPORT_FORMATS:
        return settings.max_export_bytes, "max_export_bytes"
    return settings.max_file_bytes, "max_file_bytes"


def detect_format(path: Path) -> str | None:
    """The source format for a file name, or None when the suffix is not one we read."""
    return _BY_SUFFIX.get(path.suffix.lower())


def read_parquet_file(path: Path, max_bytes: int, cap_key: str = "max_export_bytes") -> ReadFile | Rejection:
    """A Parquet file as JSON Lines text (see the module docstring), or why it cannot be read."""
    uri = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return too_large(uri, size, max_bytes, cap_key)
        data = path.read_bytes()
    except FileNotFoundError:
        return Rejection(uri, "not_found", "no such file or folder")
    except OSError as exc:
        return Rejection(uri, "unreadable", f"cannot be read ({exc.strerror or exc})")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        return Rejection(uri, "bad_parquet", f"not a readable Parquet file ({exc})")
    lines = [json.dumps(row, ensure_ascii=False, default=str) for row in table.to_pylist()]
    if not lines:
        return Rejection(uri, "empty_file", "Parquet file has no rows")
    return ReadFile(uri=uri, raw_text="\n".join(lines) + "\n", sha256=sha256_bytes(data), size_bytes=len(data),
                    encoding="parquet")
