"""Reading comment exports into rows: JSON Lines / JSON arrays and CSV/TSV, decided from the content.

Used by parse.table_export (which turns rows into articles and comments). Every row either comes out, or is
reported as a Problem naming its line/row and the cause; a bad row never stops the file.

JSON or CSV: JSON when the file name says so (.jsonl, .ndjson, .json, and Parquet, which ingest stores as JSON
Lines), or when the first non-blank line is itself a JSON object or array (a CSV header never is). A text that
starts with "[" and parses whole is a JSON array of objects; otherwise it is read as JSON Lines, so a first line
that is not an object (05: "[1, 2]") is one bad line, not a reason to read the file as CSV.

JSON values: a line nested deeper than MAX_JSON_DEPTH, or one Python's decoder cannot hold (RecursionError), is
a bad line; an unpaired surrogate escape ("\\ud800", which no UTF-8 text can hold) is replaced by U+FFFD and
noted (reason "bad_unicode").

CSV dialect: tab for .tsv files, else the delimiter (comma, semicolon, tab or pipe) found most often outside
quotes in the header line. No csv.Sniffer: on some 60-80 KB files it spends 10-30 s backtracking. Line ends may
be LF, CRLF or CR alone. A quote left open to the end of the file (08) does not swallow the rows after it: its
first line is reported (reason "unclosed_quote") and reading resumes on the next line; the same when a quoted
field runs over a line end and then breaks the quoting rules (a stray quote that closed only at a later row's
quote). Quoting faults within one line ("text "with" quotes") are read leniently, as Excel does.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from ..errors import InputError
from .base import Problem

MAX_JSON_DEPTH = 64
_DELIMITERS = ",;\t|"
_JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json", ".parquet", ".pq"})
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Table:
    """An export's columns and its rows, (item_ref, column -> value), read lazily."""

    columns: list[str]
    rows: Iterator[tuple[str, dict[str, Any]]]
    problems: list[Problem] = field(default_factory=list)


def read_table(raw_text: str, uri: str) -> Table:
    """Columns and rows of an export (JSON Lines / JSON array or CSV, see the module docstring)."""
    text = raw_text.lstrip("\ufeff")
    if not text.strip():
        raise InputError(uri, "the file is empty", reason="empty_export")
    return _read_json(text, uri) if _is_json(text, uri) else _read_csv(text, uri)


def _is_json(text: str, uri: str) -> bool:
    if PurePath(uri.split("?")[0]).suffix.lower() in _JSON_SUFFIXES:
        return True
    first = next((line for line in lines(text) if line.strip()), "").strip()
    if not first.startswith(("{", "[")):
        return False
    try:
        return isinstance(json.loads(first), (dict, list))
    except (ValueError, RecursionError):
        return first.startswith("{")  # a broken first object still makes a JSON Lines file


def lines(text: str, start: int = 0) -> Iterator[str]:
    """Lines of `text` from offset `start`, each with its line end (LF, CRLF or CR), without copying the text."""
    for match in _LINE.finditer(text, start):
        yield match.group()


# -- JSON -------------------------------------------------------------------------------------------------------

def _depth_ok(value: Any) -> bool:
    """True when `value` nests at most MAX_JSON_DEPTH levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    """{"author": {"name": "A"}} -> {"author.name": "A"}, so nested exports can be mapped with dotted names."""
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _scrub(value: Any) -> tuple[Any, bool]:
    """`value` with unpaired surrogates replaced by U+FFFD, and whether any was."""
    if isinstance(value, str):
        fixed = _SURROGATE.sub("\ufffd", value)
        return fixed, fixed != value
    if isinstance(value, dict):
        out, changed = {}, False
        for key, item in value.items():
            new_key, key_changed = _scrub(key)
            out[new_key], item_changed = _scrub(item)
            changed = changed or key_changed or item_changed
        return out, changed
    if isinstance(value, list):
        pairs = [_scrub(item) for item in value]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return value, False


def _decode_line(line: str, ref: str) -> tuple[dict | None, Problem | None]:
    """One JSON line as a flat object, or the problem that makes it unusable (a fixable one comes with it)."""
    try:
        obj = json.loads(line)
    except RecursionError:
        return None, Problem(ref, "bad_json_line", f"{ref} is nested too deeply to read; skipped")
    except ValueError as exc:
        return None, Problem(ref, "bad_json_line", f"{ref} is not valid JSON ({exc}); skipped")
    if not isinstance(obj, dict):
        return None, Problem(ref, "bad_json_line", f"{ref} is a JSON {type(obj).__name__}, not an object; skipped")
    if not _depth_ok(obj):
        return None, Problem(ref, "bad_json_line", f"{ref} nests more than {MAX_JSON_DEPTH} levels; skipped")
    obj, changed = _scrub(obj)
    note = Problem(ref, "bad_unicode", f"{ref} holds an unpaired surrogate escape (e.g. \\ud800); replaced by "
                                      "U+FFFD") if changed else None
    return flatten(obj), note


def _read_json(text: str, uri: str) -> Table:
    problems: list[Problem] = []
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):
            items = None  # not one array: read as JSON Lines below (05's first line is "[1, 2]")
        if isinstance(items, list):
            return _json_array(items, problems)

    def parsed_lines(report: bool) -> Iterator[tuple[str, dict[str, Any]]]:
        for number, line in enumerate(lines(text), start=1):
            if not line.strip():
                continue
            ref = f"line {number}"
            obj, problem = _decode_line(line, ref)
            if problem is not None and report:
                problems.append(problem)
            if obj is not None:
                yield ref, obj

    # Two passes over the text: the first finds every column (keys vary between lines), the second reads rows.
    columns = list(dict.fromkeys(key for _, obj in parsed_lines(report=False) for key in obj))
    return Table(columns, parsed_lines(report=True), problems)


def _json_array(items: list, problems: list[Problem]) -> Table:
    objects = []
    for number, item in enumerate(items, start=1):
        ref = f"item {number}"
        if not isinstance(item, dict):
            problems.append(Problem(ref, "bad_json_line", f"array {ref} is a {type(item).__name__}, not an object; "
                                                          "skipped"))
        elif not _depth_ok(item):
            problems.append(Problem(ref, "bad_json_line", f"array {ref} nests more than {MAX_JSON_DEPTH} levels; "
                                                          "skipped"))
        else:
            item, changed = _scrub(item)
            if changed:
                problems.append(Problem(ref, "bad_unicode", f"array {ref} holds an unpaired surrogate escape; "
                                                            "replaced by U+FFFD"))
            objects.append((ref, flatten(item)))
    columns = list(dict.fromkeys(key for _, obj in objects for key in obj))
    return Table(columns, iter(objects), problems)


# -- CSV --------------------------------------------------------------------------------------------------------

def _count_outside_quotes(line: str, char: str) -> int:
    return sum(part.count(char) for part in line.split('"')[::2])


def dialect(header: str, uri: str) -> type[csv.Dialect]:
    """The CSV dialect: tab for .tsv, else the delimiter most frequent outside quotes in the header line."""
    if PurePath(uri).suffix.lower() == ".tsv":
        return csv.excel_tab
    counts = {d: _count_outside_quotes(header, d) for d in _DELIMITERS}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    # Only a delimiter is chosen: exports quote with '"', and an apostrophe is never a quote character.
    return type("DetectedDialect", (csv.excel,), {"delimiter": delimiter})


class _Cursor:
    """Physical lines of the text from an offset, counting line numbers, so reading can restart at any line."""

    def __init__(self, text: str, offset: int = 0, line_no: int = 0):
        self.text, self.offset, self.line_no = text, offset, line_no

    def __iter__(self) -> "_Cursor":
        return self

    def __next__(self) -> str:
        match = _LINE.match(self.text, self.offset)
        if match is None or match.end() == self.offset:
            raise StopIteration
        self.offset = match.end()
        self.line_no += 1
        return match.group()


def _read_csv(text: str, uri: str) -> Table:
    if csv.field_size_limit() < 100_000_000:  # long comments; the file itself is capped at ingest
        csv.field_size_limit(100_000_000)
    header_line = next(lines(text), "")
    chosen = dialect(header_line, uri)
    cursor = _Cursor(text)
    try:
        header = next(csv.reader(cursor, chosen))
    except StopIteration:
        raise InputError(uri, "the file is empty (no header row)", reason="empty_export") from None
    except csv.Error as exc:
        raise InputError(f"{uri} (line 1)", f"the header row is not readable as CSV ({exc})",
                         reason="bad_csv") from None
    columns = [c.strip() for c in header]
    problems: list[Problem] = []

    def skip_line(row_offset: int, row_line: int, what: str) -> tuple[int, int]:
        """Note the line at `row_line` as an unclosed quote that `what`; the position of the line after it."""
        first = _Cursor(text, row_offset, row_line)
        bad = next(first)
        problems.append(Problem(
            f"line {row_line + 1}", "unclosed_quote",
            f"line {row_line + 1} opens a quote that {what} ({bad.strip()[:60]!r}); the line is skipped and the "
            "rows after it are read"))
        return first.offset, first.line_no

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        number = 0
        position = (cursor.offset, cursor.line_no)
        while True:
            row_offset, row_line = position
            strict = _Cursor(text, row_offset, row_line)
            try:
                cells = next(csv.reader(strict, chosen, strict=True))
            except StopIteration:
                return
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    # A quote opened on this line never closes: report the line, read on from the next one.
                    position = skip_line(row_offset, row_line, "is never closed")
                    continue
                lenient = _Cursor(text, row_offset, row_line)  # stray quotes inside a field: read as Excel does
                cells = next(csv.reader(lenient, chosen))
                if lenient.line_no - row_line > 1:  # a quoted field ran over a line end and then broke
                    position = skip_line(row_offset, row_line, "swallows the rows after it")
                    continue
                strict = lenient
            position = (strict.offset, strict.line_no)
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            number += 1
            ref = f"row {number}"
            if len(cells) > len(columns):
                extra = [c for c in cells[len(columns):] if c.strip()]
                if extra:
                    problems.append(Problem(ref, "extra_cells", f"{ref} (line {row_line + 1}) has {len(cells)} cells "
                                            f"for {len(columns)} columns; the extra ones ({extra[0][:40]!r}...) are "
                                            "not read"))
            yield ref, {c: v for c, v in zip(columns, cells) if c}

    return Table([c for c in columns if c], rows(), problems)
