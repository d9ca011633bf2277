"""Parser "table.v1": comment exports with one row per comment — CSV/TSV, JSON Lines, and Parquet (stored by
ingest as JSON Lines of its rows).

Fields we understand (the column holding each one is found by name, case-insensitively, with spaces, dashes and
dots read as "_", so "Created At" matches created_at):

    field          columns matched by default                   becomes
    text           text, comment, comment_text, comment_content, comments.text (required; whitespace runs -> " ")
                   message
    name           name, author, comment_author, author_name,   comments.name
                   user, username, user_name, commenter
    place          place, location                              comments.place
    signature      signature                                    "Name, Place" split by parse/signatures.py
    date           date, created_at, created, posted,           comments.published (ISO) + date_raw (as written)
                   timestamp, comment_date
    comment_id     comment_id, id                               comments.external_id
    parent_id      parent_id, in_reply_to, comment_parent       comments.parent_external_id
    article_id     article_id, thread, thread_id, post_id,      articles.external_id
                   comment_post_id
    article_title  article_title, title, headline               articles.title
    article_url    article_url, url, link                       articles.url
    article_date   article_date                                 articles.published + date_raw
    article_body   article_body                                 articles.body ("" when absent)

`options["map"]` ({our_field: their_column}, from `commentminer ingest --map text=body,name=user`) overrides the
default for the fields it names; a column it names is not matched to any other field by default. An unknown
field in the map, or a mapped column the file does not have, is an InputError (reason "bad_mapping") that names
it and lists the file's columns; a file with no column for `text` is an InputError (reason "no_text_column").

Names and places: a name column is kept as written — "Smith, John" is not split (a name column in a comment
system's export is a display name, and splitting on the comma would invent places). A "Name and address
withheld" style name marks the comment withheld. Exports that print the reader's sign-off ("Val Denton, Weston
Super Mare") in one column should map it as `signature` (`--map signature=signed_by`): it is split like the
text dumps' signatures, and explicit name/place columns still win where they have a value.

Dates (comments' and articles'): Unix epoch seconds or milliseconds (numbers or digit strings), ISO dates and
datetimes (with or without offsets: the date is the one written, not converted to UTC; epochs are UTC), and
every form parse/dates.parse_date reads ("2 September 2011", "02/09/2011" day-first, "Sep 2, 2011 at 10:15
am"...). The raw value is always kept in date_raw; values that cannot be read leave published null and are
summed up in one problem per file (reason "unparsed_date").

Articles: rows are grouped by article_id, else article_url, else article_title; rows with none of them form one
article per file. An article's title/url/date/body come from the first row of the group that has a value. With
no title, an article is titled "Article <its id in the source>", else its URL, else left empty (the parse stage
then titles it "Article <store source id>"): never with the file name, which would show in every quote.

Per-row problems never stop the file: a row with empty text is skipped (reason "empty_comment", item_ref
"row N"; N counts data rows from 1, the CSV header not counted), a JSON line that is not a JSON object is
skipped (reason "bad_json_line", item_ref "line N", the physical line number), and a text longer than
[parse] max_comment_chars is truncated (reason "comment_truncated"). A second row with a comment id already
seen in the same article is skipped (reason "duplicate_id", naming both rows: the first one wins, and whether
the texts differ). Problems of the file are attached to its first article. A file with no usable comment at all
is an InputError (reason "empty_export").

Reading (parse.table_read): JSON or CSV is decided from the file name and content, CSV's delimiter from the
header line; a quote left open to the end of the file skips one line, not every row after it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from ..errors import InputError
from .base import ParsedArticle, ParsedComment, Problem
from .dates import parse_date
from .signatures import is_withheld, parse_signature
from .table_read import read_table

# our field -> column names matched by default (after the field's own name), in order of preference
# (WordPress' comment table exports as comment_content, comment_author, comment_date, comment_parent and
# comment_post_ID; the SFU news comments corpus has comment_text and comment_author)
FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("comment", "comment_text", "comment_content", "message"),
    "name": ("author", "comment_author", "author_name", "user", "username", "user_name", "commenter"),
    "place": ("location",),
    "signature": (),
    "date": ("created_at", "created", "posted", "timestamp", "comment_date"),
    "comment_id": ("id",),
    "parent_id": ("in_reply_to", "comment_parent"),
    "article_id": ("thread", "thread_id", "post_id", "comment_post_id"),
    "article_title": ("title", "headline"),
    "article_url": ("url", "link"),
    "article_date": (),
    "article_body": (),
}

_MAX_EXAMPLES = 3  # unparsed date values quoted in the summary problem

# Epoch values are accepted in these ranges only (1973..2286), so a small number is never taken for a date.
_EPOCH_SECONDS = (1e8, 1e10)
_EPOCH_MILLIS = (1e11, 1e13)
_DIGITS = re.compile(r"^-?\d+(?:\.\d+)?$")


def column_key(column: str) -> str:
    """How column names are compared: case-insensitive, runs of non-alphanumerics read as "_"."""
    return re.sub(r"[^0-9a-z]+", "_", column.casefold()).strip("_")


def export_date(value: Any) -> tuple[date | None, str | None]:
    """(published, date_raw) for a date value from an export: epoch seconds/milliseconds, ISO, or any form
    parse_date reads. date_raw is the value as written (None for an empty value)."""
    if value is None or isinstance(value, bool):
        return None, None
    raw = clean_text(value)  # a float column's 1315000000.0 is written 1315000000
    if raw is None:
        return None, None
    return _read_date(raw), raw


def _read_date(raw: str) -> date | None:
    if _DIGITS.match(raw):
        number = float(raw)
        if _EPOCH_SECONDS[0] <= abs(number) < _EPOCH_SECONDS[1]:
            return datetime.fromtimestamp(number, tz=timezone.utc).date()
        if _EPOCH_MILLIS[0] <= abs(number) < _EPOCH_MILLIS[1]:
            return datetime.fromtimestamp(number / 1000, tz=timezone.utc).date()
        if len(raw) == 8:  # compact ISO: 20110902
            try:
                return datetime.strptime(raw, "%Y%m%d").date()
            except ValueError:
                return None
        return None
    return parse_date(raw)


def clean_text(value: Any) -> str | None:
    """A cell as text: None/empty -> None, numbers without a spurious ".0", whitespace runs -> one space."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    text = " ".join(text.split())
    return text or None


def resolve_columns(columns: list[str], mapping: dict[str, str] | None, uri: str) -> dict[str, str]:
    """Which column holds each of our fields: the map first, then default names (see the module docstring)."""
    available = ", ".join(repr(c) for c in columns) or "none"
    resolved: dict[str, str] = {}
    for our_field, their_column in (mapping or {}).items():
        if our_field not in FIELDS:
            raise InputError(uri, f"--map names unknown field {our_field!r} (={their_column!r}); fields are: "
                                  f"{', '.join(FIELDS)}", reason="bad_mapping")
        column = _find_column(columns, their_column)
        if column is None:
            raise InputError(uri, f"--map {our_field}={their_column}: the file has no column {their_column!r}; "
                                  f"its columns are: {available}", reason="bad_mapping")
        resolved[our_field] = column
    taken = set(resolved.values())
    by_key: dict[str, str] = {}
    for column in columns:
        by_key.setdefault(column_key(column), column)
    for our_field, aliases in FIELDS.items():
        if our_field in resolved:
            continue
        for candidate in (our_field, *aliases):
            column = by_key.get(candidate)
            if column is not None and column not in taken:
                resolved[our_field] = column
                taken.add(column)
                break
    if "text" not in resolved:
        raise InputError(
            uri, f"no column for the comment text (looked for {', '.join((('text',) + FIELDS['text']))}); its "
                 f"columns are: {available}; name it with --map text=COLUMN (fields: {', '.join(FIELDS)})",
            reason="no_text_column",
        )
    return resolved


def _find_column(columns: list[str], wanted: str) -> str | None:
    if wanted in columns:
        return wanted
    matches = [c for c in columns if column_key(c) == column_key(wanted)]
    return matches[0] if len(matches) == 1 else None


# -- rows -> articles ---------------------------------------------------------------------------------------------

@dataclass
class _Dates:
    """Unread date values, summed up in one problem per file."""

    n_read: int = 0
    unread: list[tuple[str, str]] = field(default_factory=list)  # (item_ref, raw)

    def read(self, value: Any, item_ref: str) -> tuple[date | None, str | None]:
        published, raw = export_date(value)
        if raw is not None:
            if published is None:
                self.unread.append((item_ref, raw))
            else:
                self.n_read += 1
        return published, raw

    def problem(self, what: str) -> Problem | None:
        if not self.unread:
            return None
        examples = ", ".join(f"{raw!r} ({ref})" for ref, raw in self.unread[:_MAX_EXAMPLES])
        return Problem(f"{what} column", "unparsed_date",
                       f"{len(self.unread)} of {len(self.unread) + self.n_read} {what} values could not be read as "
                       f"dates, e.g. {examples}; kept as written in date_raw with no date")


class TableExportParser:
    """Reads a CSV/TSV, JSON Lines or Parquet-as-JSON-Lines comment export (see the module docstring)."""

    parser_id = "table.v1"

    def __init__(self, max_comment_chars: int = 20_000):
        self.max_comment_chars = max_comment_chars

    def parse_source(self, raw_text: str, uri: str, options: dict | None = None) -> list[ParsedArticle]:
        table = read_table(raw_text, uri)
        if not table.columns:
            raise InputError(uri, "the file has no columns (no header row or no JSON keys)", reason="empty_export")
        fields = resolve_columns(table.columns, (options or {}).get("map"), uri)
        articles: dict[tuple[str, str], ParsedArticle] = {}
        problems: list[Problem] = []
        comment_dates, article_dates = _Dates(), _Dates()
        n_rows = 0
        seen_ids: dict[tuple[int, str], tuple[str, str]] = {}  # (article, comment id) -> (item_ref, text)

        for item_ref, row in table.rows:
            n_rows += 1
            value = {f: row.get(column) for f, column in fields.items()}
            text = clean_text(value.get("text"))
            if text is None:
                problems.append(Problem(item_ref, "empty_comment",
                                        f"{item_ref} has no text in column {fields['text']!r}; skipped"))
                continue
            article = self._article(articles, value, article_dates, item_ref)
            external_id = clean_text(value.get("comment_id"))
            if external_id is not None:
                first = seen_ids.setdefault((id(article), external_id), (item_ref, text))
                if first[0] != item_ref:
                    same = "the same text" if first[1] == text else f"a different text ({text[:40]!r})"
                    problems.append(Problem(item_ref, "duplicate_id",
                                            f"{item_ref} repeats comment id {external_id!r} of {first[0]} with {same}; "
                                            f"skipped (the first row is kept)"))
                    continue
            if len(text) > self.max_comment_chars:
                problems.append(Problem(item_ref, "comment_truncated",
                                        f"comment is {len(text)} characters; kept the first "
                                        f"{self.max_comment_chars} ([parse] max_comment_chars; to keep more, e.g. "
                                        "--set parse.max_comment_chars=100000)"))
                text = text[: self.max_comment_chars]
            name, place, withheld, signature_raw = _who(value)
            published, date_raw = comment_dates.read(value.get("date"), item_ref)
            article.comments.append(ParsedComment(
                position=len(article.comments), text=text, name=name, place=place, withheld=withheld,
                signature_raw=signature_raw, published=published, date_raw=date_raw,
                external_id=external_id,
                parent_external_id=clean_text(value.get("parent_id")),
            ))

        problems.extend(p for p in (comment_dates.problem("date"), article_dates.problem("article_date")) if p)
        all_problems = table.problems + problems
        if not articles:
            summary = "; ".join(f"{p.item_ref}: {p.reason}" for p in all_problems[:5])
            raise InputError(uri, f"no comment with text in {n_rows} rows (text column {fields['text']!r})"
                                  + (f" — {summary}" if summary else ""), reason="empty_export")
        for article in articles.values():
            article.title = article.title or (f"Article {article.external_id}" if article.external_id else None) \
                or article.url
        first = next(iter(articles.values()))
        first.problems.extend(all_problems)
        return list(articles.values())

    @staticmethod
    def _article(articles: dict[tuple[str, str], ParsedArticle], value: dict[str, Any], dates: _Dates,
                 item_ref: str) -> ParsedArticle:
        external_id = clean_text(value.get("article_id"))
        url = clean_text(value.get("article_url"))
        title = clean_text(value.get("article_title"))
        if external_id:
            key = ("id", external_id)
        elif url:
            key = ("url", url.rstrip("/").casefold())
        elif title:
            key = ("title", title)
        else:
            key = ("file", "")
        article = articles.get(key)
        if article is None:
            article = articles[key] = ParsedArticle(title=None, body="", external_id=external_id)
        # the first row of the group with a value gives each article field
        if url and not article.url:
            article.url = url
        if title and not article.title:
            article.title = title
        if article.published is None and article.date_raw is None and value.get("article_date") is not None:
            article.published, article.date_raw = dates.read(value.get("article_date"), item_ref)
        body = value.get("article_body")
        if body and not article.body:
            article.body = str(body).replace("\r\n", "\n").strip()
        return article


def _who(value: dict[str, Any]) -> tuple[str | None, str | None, bool, str | None]:
    """(name, place, withheld, signature_raw) of a row (see "Names and places" in the module docstring)."""
    name, place = clean_text(value.get("name")), clean_text(value.get("place"))
    signature = clean_text(value.get("signature"))
    withheld = False
    if signature is not None:
        sig_name, sig_place, withheld = parse_signature(signature)
        name, place = name or sig_name, place or sig_place
    if name is not None and is_withheld(name):
        name, withheld = None, True
    return name, place, withheld, signature
