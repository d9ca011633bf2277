"""Local files: find them under folders, read them, and decide whether they are usable text.

Plain functions, no store access: `read_text_file` returns either a ReadFile or a Rejection saying what is wrong,
and the stage decides what to do with it (store it, or report it to the quarantine).

Decoding rule: UTF-8 (a leading byte-order mark is dropped). When the file as a whole is not UTF-8, it is
decoded line by line: each line that is UTF-8 stays so, a line that is not is decoded with the configured
fallback encoding (cp1252 by default: a paragraph pasted from an older Windows tool) when the result reads as
text — no control characters other than tab, newline, carriage return and form feed — and is noted (reason
"line_decoded_cp1252", naming the line); a line that reads as neither is left out (blanked, so line numbers
hold) and quarantined (reason "undecodable_line"). One bad line never costs the rest of the file (14). A file
where every line, or three or more lines and over a tenth of them, are unreadable, or with a NUL byte (no text
format we read contains one),
is a binary file (but one or two bad lines in a small file are just bad lines).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..ids import sha256_bytes

_TEXT_CONTROL_CHARS = frozenset("\t\n\r\f")
_MAX_BAD_LINES = 3  # with fewer unreadable lines (and some readable ones) a file is text with a few bad lines


@dataclass(frozen=True)
class ReadFile:
    """A file read as text: the decoded text exactly as in the file, and the hash of its bytes."""

    uri: str
    raw_text: str
    sha256: str
    size_bytes: int
    encoding: str
    notes: tuple["Rejection", ...] = ()  # lines decoded with the fallback encoding or left out (see module doc)


@dataclass(frozen=True)
class Rejection:
    """A file that cannot be ingested: a short reason code and a sentence saying what is wrong."""

    uri: str
    # "not_found" | "not_a_file" | "unreadable" | "too_large" | "empty_file" | "binary_file"
    reason: str
    detail: str
    item_ref: str | None = None  # "line N" for a note about one line of a file that is otherwise read


def find_files(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Files under `folder` (recursively) matching any of `patterns`, sorted so runs are deterministic."""
    found = {path for pattern in patterns for path in folder.rglob(pattern) if path.is_file()}
    return sorted(found)


def has_control_chars(text: str) -> bool:
    """True when `text` holds control characters that never occur in plain text (so it is likely binary)."""
    return any(ord(ch) < 32 and ch not in _TEXT_CONTROL_CHARS for ch in text)


def decode_text(data: bytes, fallback_encoding: str = "cp1252") -> tuple[str, str] | None:
    """(text, encoding) for bytes that are text as a whole, else None. See the module docstring for the rule."""
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


def decode_lines(data: bytes, fallback_encoding: str = "cp1252") -> tuple[str, list[tuple[int, str]]] | None:
    """Decode line by line (see the module docstring): (text, [(line number, "fallback" | "bad")]), or None
    when the bytes are not text (a NUL byte, or too many lines unreadable: see the module docstring)."""
    if b"\x00" in data:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out: list[str] = []
    marks: list[tuple[int, str]] = []
    raw_lines = data.splitlines(keepends=True)
    for number, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = _fallback(raw, fallback_encoding)
            marks.append((number, "fallback" if line is not None else "bad"))
            if line is None:
                line = "\n" if raw.endswith((b"\n", b"\r")) else ""
        if has_control_chars(line):
            marks.append((number, "bad"))
            line = "\n" if line.endswith(("\n", "\r")) else ""
        out.append(line)
    n_bad = len({number for number, kind in marks if kind == "bad"})
    if n_bad and (n_bad == len(raw_lines) or (n_bad >= _MAX_BAD_LINES and n_bad * 10 > len(raw_lines))):
        return None
    return "".join(out), marks


def _decode_whole(data: bytes, fallback_encoding: str) -> tuple[str, str] | None:
    """The whole file as UTF-8, or in the fallback encoding when no line of it is non-ASCII UTF-8 (a file saved
    in one legacy encoding is not noted line by line); None when lines must be decoded one by one."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if any(not line.isascii() and _is_utf8(line) for line in data.splitlines()):
            return None  # mixed: some lines UTF-8, some not
        return decode_text(data, fallback_encoding)
    return None if has_control_chars(text) else (text, "utf-8")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _fallback(raw: bytes, encoding: str) -> str | None:
    if not encoding:
        return None
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


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
    decoded = _decode_whole(data, fallback_encoding)
    notes: list[Rejection] = []
    if decoded is None:
        by_line = decode_lines(data, fallback_encoding)
        if by_line is None:
            tried = "UTF-8" + (f" or {fallback_encoding}" if fallback_encoding else "")
            return Rejection(uri, "binary_file", f"not a text file (a NUL byte, or most lines hold control bytes or "
                                                 f"are not decodable as {tried})")
        text, marks = by_line
        encoding = "utf-8" if not any(kind == "fallback" for _, kind in marks) else f"utf-8+{fallback_encoding}"
        for number, kind in marks:
            if kind == "fallback":
                notes.append(Rejection(uri, "line_decoded_cp1252" if fallback_encoding == "cp1252" else
                                       "line_decoded_fallback",
                                       f"line {number} is not UTF-8; read as {fallback_encoding}", f"line {number}"))
            else:
                notes.append(Rejection(uri, "undecodable_line", f"line {number} is neither UTF-8 nor "
                                                                f"{fallback_encoding} text (or holds control bytes); "
                                                                "left out", f"line {number}"))
    else:
        text, encoding = decoded
    if not text.strip():
        return Rejection(uri, "empty_file", f"file has {len(data)} bytes but only whitespace")
    return ReadFile(uri=uri, raw_text=text, sha256=sha256_bytes(data), size_bytes=len(data), encoding=encoding,
                    notes=tuple(notes))
