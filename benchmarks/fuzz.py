"""Property-based fuzzing of every parser (issue 14): each generated comment ends up exactly once.

For each format (text dump, HTML, CSV/TSV, JSON Lines, Parquet, Disqus XML) Hypothesis generates files of a few
comments, each comment's text starting with a unique marker ("qz0007"), and mutates some of them the way hostile
files do: unclosed quotes, broken or non-object JSON lines, deep nesting, lone surrogates, duplicate ids, cp1252
and control bytes on one line, CR-only line ends, deleted/spam posts, a page cut mid-comment, deep HTML nesting.
Each file goes through the real read path (ingest's `read_text_file` / `read_parquet_file`, the format's parser,
and `parse.stage.article_rows`, which gives the ids the store is keyed by), and each marker is checked:

- stored once: exactly one stored comment (distinct comment id) holds it, and no other marker;
- quarantined: not stored, and a problem names it: its line ("line L"), or a detail quoting it (duplicate ids,
  unclosed quotes, deleted posts), or the whole file was refused (one error naming the file and the cause);
- silently lost: neither (or stored twice, or merged into another comment). Must be 0.

A crash is any exception other than the InputError a refused file raises; a hang is an input taking longer than
--timeout seconds (SIGALRM). Usage:

    python benchmarks/fuzz.py                      # 10,000 inputs per parser, table for benchmarks/README.md
    python benchmarks/fuzz.py --inputs 200 --formats csv jsonl
The test suite runs the same checks on a few dozen inputs per parser (tests/test_fuzz_parsers.py).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from commentminer.errors import InputError  # noqa: E402
from commentminer.ingest.files import ReadFile, read_text_file  # noqa: E402
from commentminer.ingest.formats import read_parquet_file  # noqa: E402
from commentminer.parse.stage import article_rows, distinct_comments  # noqa: E402

FORMATS = ("text_dump", "html", "csv", "jsonl", "parquet", "disqus_xml")


# -- generated cases ---------------------------------------------------------------------------------------------

@dataclass
class Case:
    """One generated file: its bytes (or rows, for Parquet), its name, and the markers of its comments."""

    fmt: str
    name: str
    data: bytes = b""
    rows: list[dict] | None = None            # Parquet only
    markers: dict[str, set[int]] = field(default_factory=dict)  # marker -> the 1-based lines it is written on
    ids: dict[str, str] = field(default_factory=dict)  # marker -> the comment's id in the file, when problems name ids


@dataclass
class Outcome:
    stored: int = 0
    quarantined: int = 0
    lost: int = 0
    crash: str | None = None
    hang: bool = False
    lost_markers: list[str] = field(default_factory=list)


_WORDS = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs"), exclude_characters="\x85\u2028\u2029"),
                 max_size=12)
_PUNCT = st.sampled_from([".", ",", "!", "?", "'", "(", ")", ";", ":", "&", "<", ">", "%", "/"])
# Comment text for the formats where anything goes once quoted/escaped (CSV, JSON, Parquet, XML).
_ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=60)
# Text that cannot contain a signature or a comments header (text dumps and HTML pages are free prose).
_PROSE = st.lists(st.one_of(_WORDS, _PUNCT), max_size=12).map(" ".join)
_NAME = st.lists(st.text(st.characters(categories=("Lu",)), min_size=1, max_size=1).flatmap(
    lambda first: st.text(st.characters(categories=("Ll",)), max_size=8).map(lambda rest: first + rest)),
    min_size=1, max_size=3).map(" ".join)


def _marker(i: int) -> str:
    return f"qz{i:04d}"


def _lines_of(text: str, start: int) -> set[int]:
    """The 1-based lines a chunk starting at character `start` of the file occupies (given the text before)."""
    return set(range(start, start + text.count("\n") + 1))


def _line_no(prefix: str) -> int:
    return prefix.count("\n") + 1


@st.composite
def csv_cases(draw) -> Case:
    tsv = draw(st.booleans())
    delimiter = "\t" if tsv else draw(st.sampled_from([",", ";", "|"]))
    with_ids = draw(st.booleans())
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["id", "text", "author"] if with_ids else ["text", "author"])
    lines: list[str] = [buffer.getvalue()]
    case = Case("csv", "f.tsv" if tsv else "f.csv")
    n = draw(st.integers(0, 8))
    used_ids: list[str] = []
    for i in range(n):
        marker = _marker(i)
        text = marker + " " + draw(_ANY_TEXT)
        kind = draw(st.sampled_from(["plain"] * 6 + ["unclosed", "dup_id", "cp1252", "control"]))
        cell_id = str(i)
        if kind == "dup_id" and used_ids:
            cell_id = draw(st.sampled_from(used_ids))
        used_ids.append(cell_id)
        row = ([cell_id] if with_ids else []) + [text, draw(_NAME)]
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(row)
        line = buffer.getvalue()
        if kind == "unclosed":
            line = '"' + marker + " never closed" + delimiter + "x\n"
        elif kind in ("cp1252", "control") and "\n" not in line[:-1] and "\r" not in line:
            line = line[:-1] + (" caf\udce9" if kind == "cp1252" else " \x01") + "\n"
        prefix = "".join(lines)
        case.markers[marker] = _lines_of(line[:-1], _line_no(prefix))
        lines.append(line)
    text = "".join(lines)
    if draw(st.booleans()) and "\r" not in text:
        text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])))
    case.data = text.encode("utf-8", "surrogateescape")  # "\udce9" -> the single cp1252 byte 0xE9
    return case


@st.composite
def jsonl_cases(draw) -> Case:
    case = Case("jsonl", "f.jsonl")
    lines: list[str] = []
    used_ids: list[str] = []
    for i in range(draw(st.integers(0, 8))):
        marker = _marker(i)
        obj = {"text": marker + " " + draw(_ANY_TEXT), "name": draw(_NAME), "article": {"title": draw(_PROSE)}}
        if draw(st.booleans()):
            obj["id"] = draw(st.sampled_from(used_ids)) if used_ids and draw(st.booleans()) else f"c{i}"
            used_ids.append(obj["id"])
        kind = draw(st.sampled_from(["plain"] * 6 + ["array", "broken", "deep", "surrogate"]))
        line = json.dumps(obj, ensure_ascii=draw(st.booleans()))
        if kind == "array":
            line = json.dumps([obj])
        elif kind == "broken":
            line = line[: len(line) // 2]
        elif kind == "deep":
            line = '{"text": "' + marker + '", "x": ' + "[" * 5000 + "]" * 5000 + "}"
        elif kind == "surrogate":
            line = line.replace(marker, marker + "\\ud800", 1)
        case.markers[marker] = {len(lines) + 1}
        lines.append(line)
    case.data = ("\n".join(lines) + "\n").encode("utf-8")
    return case


@st.composite
def parquet_cases(draw) -> Case:
    case = Case("parquet", "f.parquet", rows=[])
    for i in range(draw(st.integers(1, 8))):
        marker = _marker(i)
        row = {"text": marker + " " + draw(_ANY_TEXT), "author": draw(_NAME),
               "comment_id": draw(st.sampled_from(["1", "2", f"c{i}", f"c{i}"]))}
        case.rows.append(row)
        case.markers[marker] = {i + 1}
    return case


@st.composite
def disqus_cases(draw) -> Case:
    case = Case("disqus_xml", "f.xml")
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
             'xmlns:dsq="http://disqus.com/disqus-internals">\n']
    n_threads = draw(st.integers(1, 3))
    for t in range(n_threads):
        parts.append(f'<thread dsq:id="T{t}"><link>https://example.org/{t}</link>'
                     f"<title>{escape(draw(_PROSE))}</title></thread>\n")
    for i in range(draw(st.integers(0, 8))):
        marker = _marker(i)
        text = escape(marker + " " + draw(_ANY_TEXT))
        message = f"<![CDATA[<p>{text}</p>]]>" if draw(st.booleans()) and "]]>" not in text else text
        flags = draw(st.sampled_from(["plain"] * 6 + ["deleted", "spam", "orphan"]))
        thread = f"T{draw(st.integers(0, n_threads - 1))}" if flags != "orphan" else "T99"
        start = _line_no("".join(parts))
        parts.append(f'<post dsq:id="P{i}"><message>{message}</message>'
                     f"<isDeleted>{'true' if flags == 'deleted' else 'false'}</isDeleted>"
                     f"<isSpam>{'true' if flags == 'spam' else 'false'}</isSpam>"
                     f"<author><name>{escape(draw(_NAME))}</name></author>"
                     f'<thread dsq:id="{thread}"/></post>\n')
        case.markers[marker] = {start}
        case.ids[marker] = f"P{i}"
    parts.append("</disqus>\n")
    text = "".join(parts)
    if draw(st.integers(0, 9)) == 0:  # a file cut off mid-way: refused whole, with the cause
        text = text[: draw(st.integers(0, len(text)))]
    case.data = text.encode("utf-8")
    return case


def _signed_comments(draw, case: Case, prefix: str, html: bool) -> list[str]:
    """“text” – Name, Place paragraphs (some cut, withheld or with long signatures); markers recorded."""
    out: list[str] = []
    n = draw(st.integers(0, 6))
    for i in range(n):
        marker = _marker(i)
        text = marker + " " + draw(_PROSE)
        kind = draw(st.sampled_from(["plain"] * 6 + ["withheld", "long_sig", "cut", "cp1252", "control"]))
        if kind == "cut" and i == n - 1:
            para = f"“{text}"  # the page ends inside this comment
        else:
            name = "Name and address withheld" if kind == "withheld" else draw(_NAME)
            place = (", " + ", ".join(["Practice Manager", "Riverside Family Practice", "NHS Lowland Clinical "
                                       "Commissioning Group", "Market Harborough"])) if kind == "long_sig" else (
                ", " + draw(_NAME) if draw(st.booleans()) else "")
            para = f"“{text}” – {name}{place}"
        if not html and kind in ("cp1252", "control"):
            para += " caf\udce9" if kind == "cp1252" else " \x02"
        if html:
            para = escape(para)
            if draw(st.booleans()):  # inline markup and entities inside the comment: the text must survive them
                tag = draw(st.sampled_from(["b", "i", "em", "span", 'a href="https://x.example/?a=1&amp;b=2"']))
                para = para.replace(" ", f" <{tag}>&amp;&#8217;</{tag.split()[0]}> ", 1)
            para = "<p>" + para + "</p>"
        line = _line_no(prefix + "".join(s + "\n\n" for s in out))
        case.markers[marker] = {line}
        out.append(para)
    return out


@st.composite
def text_dump_cases(draw) -> Case:
    case = Case("text_dump", "f.txt")
    header = draw(st.sampled_from(["Your comments (terms and conditions apply):",
                                   "Your comments: (Terms and conditions apply):", "Your comments"]))
    head = ("This site is intended for health professionals only\n\n\n" if draw(st.booleans()) else "")
    title = "Title " + draw(_PROSE)
    date_line = draw(st.sampled_from(["2 September 2011\n\n", "by\n2 September 2011\n\n", ""]))
    body = "\n\n".join("Body " + draw(_PROSE) + "." for _ in range(draw(st.integers(1, 3))))
    prefix = f"{head}{title}\n\n{date_line}{body}\n\n{header}\n\n"
    comments = _signed_comments(draw, case, prefix, html=False)
    text = prefix + "\n\n".join(comments) + "\n"
    if draw(st.booleans()):
        text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])))
    case.data = text.encode("utf-8", "surrogateescape")
    return case


@st.composite
def html_cases(draw) -> Case:
    case = Case("html", "f.html")
    depth = draw(st.sampled_from([0, 0, 0, 300]))
    title = escape("Title " + draw(_PROSE))
    body = "".join(f"<p>Body paragraph {escape(draw(_PROSE))} about the practice board.</p>\n"
                   for _ in range(draw(st.integers(1, 3))))
    header = draw(st.sampled_from(["Your comments (terms and conditions apply):",
                                   "Your comments: (Terms and conditions apply)"]))
    prefix = (f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body>\n" + "<div>" * depth
              + f"<h1>{title}</h1>\n<div class=\"story\">\n{body}</div>\n<h3>{header}</h3>\n<div class=\"c\">\n")
    comments = _signed_comments(draw, case, prefix, html=True)
    text = prefix + "\n\n".join(comments) + "\n</div>" + "</div>" * depth + "\n</body></html>\n"
    case.data = text.encode("utf-8")
    case.markers = {m: set() for m in case.markers}  # HTML problems name comments, not lines
    return case


STRATEGIES: dict[str, Callable[[], st.SearchStrategy[Case]]] = {
    "text_dump": text_dump_cases, "html": html_cases, "csv": csv_cases, "jsonl": jsonl_cases,
    "parquet": parquet_cases, "disqus_xml": disqus_cases,
}


# -- the invariant ----------------------------------------------------------------------------------------------

_PARSERS: dict[str, object] = {}


def _parser(fmt: str):
    if fmt not in _PARSERS:
        from commentminer.parse.disqus import DisqusParser
        from commentminer.parse.html_page import HtmlPageParser
        from commentminer.parse.table_export import TableExportParser
        from commentminer.parse.text_dump import TextDumpParser

        made = {"text_dump": TextDumpParser, "html": HtmlPageParser, "csv": TableExportParser,
                "jsonl": TableExportParser, "parquet": TableExportParser, "disqus_xml": DisqusParser}[fmt]
        _PARSERS[fmt] = made()
    return _PARSERS[fmt]


def _read(case: Case, folder: Path):
    """The file through ingest's read path: a ReadFile, or the Rejection that quarantines it whole."""
    path = folder / case.name
    if case.fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(case.rows), path)
        return read_parquet_file(path, 50_000_000)
    path.write_bytes(case.data)
    return read_text_file(path, 50_000_000)


def check(case: Case, folder: Path) -> Outcome:
    """Run one case through read + parse + ids and classify each marker (see the module docstring)."""
    outcome = Outcome()
    read = _read(case, folder)
    if not isinstance(read, ReadFile):
        outcome.quarantined = len(case.markers)  # refused whole: one error naming the file and the cause
        return outcome
    notes = [(n.item_ref or "", n.detail) for n in read.notes]
    try:
        articles = _parser(case.fmt).parse_source(read.raw_text, read.uri, None)
    except InputError:
        outcome.quarantined = len(case.markers)
        return outcome
    problems = notes + [(p.item_ref, p.detail) for a in articles for p in a.problems]
    rows = [row for article in articles for row in article_rows("src_fuzz", read.uri, article, "fuzz")[1]]
    rows, collisions = distinct_comments(rows)  # what write_articles stores, and what it quarantines
    problems += [(p["item_ref"], p["detail"]) for p in collisions]
    stored: dict[str, str] = {}  # comment id -> text, as the store keeps them (an upsert: last write wins)
    for row in rows:
        if row["comment_id"] in stored:
            stored[row["comment_id"] + "#overwritten"] = ""  # cannot happen after distinct_comments
        stored[row["comment_id"]] = row["text"]
    texts = list(stored.values())
    for marker, lines in case.markers.items():
        holders = [t for t in texts if marker in t]
        merged = any(other != marker and other in t for t in holders for other in case.markers)
        if len(holders) == 1 and not merged:
            outcome.stored += 1
        elif not holders and any(ref in {f"line {n}" for n in lines} or marker in detail
                                 or (marker in case.ids and re.search(rf"\b{case.ids[marker]}\b", detail))
                                 for ref, detail in problems):
            outcome.quarantined += 1
        else:
            outcome.lost += 1
            outcome.lost_markers.append(marker)
    return outcome


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Timeout


def guarded(case: Case, folder: Path, timeout: float) -> Outcome:
    """`check` with a wall-clock limit (a hang) and every other exception counted as a crash."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return check(case, folder)
    except _Timeout:
        return Outcome(hang=True)
    except Exception as exc:  # noqa: BLE001 - a crash is what this counts
        return Outcome(crash=f"{type(exc).__name__}: {str(exc)[:200]}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the run ------------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    inputs: int = 0
    comments: int = 0
    crashes: int = 0
    hangs: int = 0
    stored: int = 0
    quarantined: int = 0
    lost: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    def add(self, case: Case, outcome: Outcome) -> None:
        self.inputs += 1
        self.comments += len(case.markers)
        self.crashes += outcome.crash is not None
        self.hangs += outcome.hang
        self.stored += outcome.stored
        self.quarantined += outcome.quarantined
        self.lost += outcome.lost
        if (outcome.crash or outcome.hang or outcome.lost) and len(self.examples) < 3:
            what = outcome.crash or ("hang" if outcome.hang else f"lost {outcome.lost_markers}")
            self.examples.append(f"{what} in {case.data[:300]!r}{' rows ' + str(case.rows) if case.rows else ''}")


def fuzz(fmt: str, inputs: int, timeout: float, seed: int | None = None) -> Tally:
    """Run `inputs` generated cases of `fmt` through `guarded` and tally them."""
    tally = Tally()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cm-fuzz-") as tmp:
        folder = Path(tmp)

        @settings(max_examples=inputs, deadline=None, database=None, derandomize=seed is not None,
                  suppress_health_check=list(HealthCheck))
        @given(STRATEGIES[fmt]())
        def run(case: Case) -> None:
            tally.add(case, guarded(case, folder, timeout))

        run()
    tally.seconds = time.perf_counter() - started
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="generated inputs per parser (default 10,000)")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before an input counts as a hang")
    parser.add_argument("--seed", type=int, default=None, help="derandomise (same inputs every run)")
    args = parser.parse_args(argv)
    print("| parser | inputs | comments | crashes | hangs | stored once | quarantined | silently lost | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    failures = 0
    for fmt in args.formats:
        tally = fuzz(fmt, args.inputs, args.timeout, args.seed)
        print(f"| {fmt} | {tally.inputs:,} | {tally.comments:,} | {tally.crashes} | {tally.hangs} | {tally.stored:,} "
              f"| {tally.quarantined:,} | {tally.lost} | {tally.seconds:.0f} |", flush=True)
        failures += tally.crashes + tally.hangs + tally.lost
        for example in tally.examples:
            print(f"  - {fmt}: {example}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
