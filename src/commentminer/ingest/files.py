"""Local files: find them under folders, read them, and decide whether they are usable text.

Plain functions, no store access: `read_text_file` returns either a ReadFile or a Rejection saying what is wrong,
and the stage decides what to do with it (store it, or report it to the quarantine).

Decoding rule: UTF-8 (a leading byte-order mark is dropped). When that fails, the configured fallback encoding
(cp1252 by default: text saved by older Windows tools) is used, but only when the result reads as text — no
control characters other than tab, newline, carriage return and form feed. Anything else is a binary file.
A NUL byte always means binary (no text format we read contains one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..ids import sha256_bytes

_TEXT_CONTROL_CHARS = frozenset("\t\n\r\f")


@dataclass(frozen=True)
class ReadFile:
    """A file read as text: the decoded text exactly as in the file, and the hash of its bytes."""

    uri: str
    raw_text: str
    sha256: str
    size_bytes: int
    encoding: str


@dataclass(frozen=True)
class Rejection:
    """A file that cannot be ingested: a short reason code and a sentence saying what is wrong."""

    uri: str
    # "not_found" | "not_a_file" | "unreadable" | "too_large" | "empty_file" | "binary_file"
    reason: str
    detail: str


def find_files(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Files under `folder` (recursively) matching any of `patterns`, sorted so runs are deterministic."""
    found = {path for pattern in patterns for path in folder.rglob(pattern) if path.is_file()}
    return sorted(found)


def has_control_chars(text: str) -> bool:
    """True when `text` holds control characters that never occur in plain text (so it is likely binary)."""
    return any(ord(ch) < 32 and ch not in _TEXT_CONTROL_CHARS for ch in text)


def decode_text(data: bytes, fallback_encoding: str = "cp1252") -> tuple[str, str] | None:
    """(text, encoding) for bytes that are text, else None. See the module docstring for the rule."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
        encoding = "utf-8"
    except UnicodeDecodeError:
        if not fallback_encoding:
            return None
        try:
            text = data.decode(fallback_encoding)
            encoding = fallback_encoding
        except (UnicodeDecodeError, LookupError):
            return None
    if has_control_chars(text):
        return None
    return text, encoding


def too_large(uri: str, size: int, max_bytes: int, cap_key: str) -> Rejection:
    """The refusal of a file over the [ingest] `cap_key` limit, naming the --set override that reads it."""
    suggested = 10 ** len(str(size))  # the next power of ten above the file's size
    return Rejection(uri, "too_large", f"file is {size:,} bytes, over the {max_bytes:,}-byte limit ([ingest] "
                                       f"{cap_key}); to read it, raise the limit, e.g. --set ingest.{cap_key}={suggested}")


def read_text_file(path: Path, max_bytes: int, fallback_encoding: str = "cp1252",
                   cap_key: str = "max_file_bytes") -> ReadFile | Rejection:
    """Read one file as text, or say why it cannot be ingested (never raises for a bad file).

    `max_bytes` is the size cap and `cap_key` the [ingest] setting it comes from (named in the refusal).
    """
    uri = str(path)
    try:
        if not path.exists():
            return Rejection(uri, "not_found", "no such file or folder")
        if not path.is_file():
            return Rejection(uri, "not_a_file", "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            return too_large(uri, size, max_bytes, cap_key)
        data = path.read_bytes()
    except OSError as exc:
        return Rejection(uri, "unreadable", f"cannot be read ({exc.strerror or exc})")
    if not data:
        return Rejection(uri, "empty_file", "file is empty (0 bytes)")
    decoded = decode_text(data, fallback_encoding)
    if decoded is None:
        tried = "UTF-8" + (f" or {fallback_encoding}" if fallback_encoding else "")
        return Rejection(uri, "binary_file", f"not a text file (NUL or control bytes, or not decodable as {tried})")
    text, encoding = decoded
    if not text.strip():
        return Rejection(uri, "empty_file", f"file has {len(data)} bytes but only whitespace")
    return ReadFile(uri=uri, raw_text=text, sha256=sha256_bytes(data), size_bytes=len(data), encoding=encoding)
