"""Ingest stage: files and folders -> `sources` rows (raw text kept exactly), bad files -> quarantine.

Writes: sources (and errors via the quarantine). Idempotent: a source's id is derived from the hash of its
bytes, so ingesting identical content again writes nothing new; the same content under a new path only
updates `uri` (the path it was last seen at).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..context import StageContext
from ..ids import content_id
from ..schema import SOURCES
from .files import ReadFile, Rejection, find_files, read_text_file
from .formats import FORMATS, detect_format, read_parquet_file, size_cap

_BATCH_FILES = 200  # files read per store write (one transaction each)


def ingest_paths(ctx: StageContext, paths: list[Path], fmt: str | None = None, options: dict | None = None) -> dict:
    """Read every file in `paths` (folders are searched recursively with [ingest] patterns) into `sources`.

    The format of each file follows its suffix (see ingest.formats) unless `fmt` forces one; `options` (e.g. an
    export's column mapping {"map": {"text": "body"}}) is stored with each source and is part of its id, so the
    same bytes read with another mapping are another source.

    A missing path, an empty, binary or too-large file ([ingest] max_export_bytes for comment exports,
    max_file_bytes for pages and text dumps), or a folder with no matching files is reported to the
    quarantine (policy "raise": InputError naming the file; "quarantine": an `errors` row) and never stops the
    other files. Returns counts: files_seen, sources_new, sources_updated (same content, new path),
    sources_unchanged, quarantined.
    """
    settings = ctx.config.ingest
    recorded_before = ctx.quarantine.recorded
    stats = {"files_seen": 0, "sources_new": 0, "sources_updated": 0, "sources_unchanged": 0, "quarantined": 0}

    files, empty_folders = _expand(paths, settings.patterns)
    for folder in empty_folders:
        ctx.quarantine.report(
            stage="ingest", uri=str(folder), reason="no_files",
            detail=f"folder has no files matching {settings.patterns} ([ingest] patterns)",
        )
    options_json = json.dumps(options, sort_keys=True) if options else None
    read_files: list[tuple[ReadFile, str]] = []
    rejections: list[Rejection] = []
    for path in ctx.progress(files, total=len(files), desc="ingest", unit="file"):
        try:
            result = _read(path, fmt, settings)
        except (OSError, ValueError, MemoryError, RecursionError) as exc:  # a hostile file never stops the others
            result = Rejection(str(path), "unreadable", f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})")
        file_format = fmt or detect_format(path)
        stats["files_seen"] += 1
        if isinstance(result, ReadFile):
            read_files.append((result, file_format))
        else:
            rejections.append(result)
        if len(read_files) + len(rejections) >= _BATCH_FILES:
            _flush(ctx, read_files, rejections, stats, options_json)
    _flush(ctx, read_files, rejections, stats, options_json)
    stats["quarantined"] = ctx.quarantine.recorded - recorded_before
    return stats


def _read(path: Path, fmt: str | None, settings) -> ReadFile | Rejection:
    """One file read for its format, or why it cannot be (a missing path is named before its type is judged)."""
    if not path.exists():
        return Rejection(str(path), "not_found", f"no such file or folder: {path}")
    file_format = fmt or detect_format(path)
    if file_format is None:
        return Rejection(str(path), "unknown_format",
                         f"unknown file type '{path.suffix}' (known: {', '.join(FORMATS)}); pass --format to say which")
    if file_format == "parquet":
        return read_parquet_file(path, *size_cap(file_format, settings))
    cap, cap_key = size_cap(file_format, settings)
    return read_text_file(path, cap, settings.fallback_encoding, cap_key)


def _flush(ctx: StageContext, read_files: list[tuple[ReadFile, str]], rejections: list[Rejection], stats: dict,
           options_json: str | None) -> None:
    """Write a batch of good files, then report the bad ones; empties both lists.

    Good files go first so that under policy "raise" the files read before the first bad one are kept.
    """
    batch_files, batch_rejections = list(read_files), list(rejections)
    read_files.clear()
    rejections.clear()
    _store_sources(ctx, batch_files, stats, options_json)
    notes = [note for read_file, _ in batch_files for note in read_file.notes]
    ctx.quarantine.report_many([
        {"stage": "ingest", "uri": r.uri, "reason": r.reason, "detail": r.detail,
         "item_ref": r.item_ref}
        for r in notes + batch_rejections
    ])


def _expand(paths: list[Path], patterns: list[str]) -> tuple[list[Path], list[Path]]:
    """Files to read (folders expanded, duplicates dropped, order kept) and folders with nothing to read.

    A path that does not exist is kept as a "file" so that reading it reports not_found with its name.
    """
    files: list[Path] = []
    empty_folders: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = find_files(path, patterns)
            files.extend(found)
            if not found:
                empty_folders.append(path)
        else:
            files.append(path)
    return list(dict.fromkeys(files)), empty_folders


def _store_sources(ctx: StageContext, read_files: list[tuple[ReadFile, str]], stats: dict,
                   options_json: str | None) -> None:
    """Upsert new sources; for content already stored only a changed uri is written (ingested_at is kept)."""
    if not read_files:
        return
    ids = [content_id("src", f.sha256, options_json) if options_json else content_id("src", f.sha256)
           for f, _ in read_files]
    existing = ctx.store.query(
        "SELECT source_id, uri, ingested_at FROM sources WHERE list_contains(?::VARCHAR[], source_id)", [ids]
    )
    # source_id -> (uri, ingested_at) of what is stored (or written earlier in this batch)
    known = {row.source_id: (row.uri, row.ingested_at) for row in existing.itertuples(index=False)}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for source_id, (read_file, file_format) in zip(ids, read_files):
        previous = known.get(source_id)
        if previous is not None and previous[0] == read_file.uri:
            stats["sources_unchanged"] += 1
            continue
        stats["sources_new" if previous is None else "sources_updated"] += 1
        ingested_at = now if previous is None else previous[1]
        known[source_id] = (read_file.uri, ingested_at)
        rows.append({
            "source_id": source_id,
            "uri": read_file.uri,
            "format": file_format,
            "sha256": read_file.sha256,
            "size_bytes": read_file.size_bytes,
            "raw_text": read_file.raw_text,
            "options_json": options_json,
            "ingested_at": ingested_at,
        })
    if rows:
        ctx.store.upsert("sources", pd.DataFrame(rows, columns=SOURCES.column_names))
