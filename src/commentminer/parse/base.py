"""Parser protocol: one raw source text in, one article with its comments out (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass
class ParsedComment:
    """One reader comment as it appears on the page."""

    position: int                   # 0-based order on the page
    text: str                       # quotes stripped, lines joined with single spaces
    name: str | None                # None when withheld or unsigned
    place: str | None               # text after the name ("Barnet", "Boleyn Road Practice"), None when absent
    withheld: bool = False          # "Name and address withheld"
    signature_raw: str | None = None
    published: date | None = None
    date_raw: str | None = None     # the date as written in the source
    external_id: str | None = None  # id in the source system (export row id, WordPress comment id)
    parent_external_id: str | None = None  # the comment this one replies to, when the source says so
    truncated: bool = False         # the page was cut off inside this comment (kept, left out of counts and quotes)


@dataclass
class Problem:
    """Something inside a page that could not be parsed; it goes to the quarantine table."""

    item_ref: str                   # e.g. "comment 3" or "comments block"
    reason: str                     # short code, e.g. "unsigned_comment", "no_signatures"
    detail: str                     # a sentence saying what is wrong


@dataclass
class ParsedArticle:
    title: str | None               # None when the page has no header (or an export names no article)
    body: str
    published: date | None = None
    date_raw: str | None = None
    byline: str | None = None
    url: str | None = None          # canonical page URL when known
    external_id: str | None = None  # the article's id in the source system (export's article/thread id)
    comments: list[ParsedComment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class Parser(Protocol):
    """Turns one source (a page, or an export file holding many articles) into articles with their comments."""

    parser_id: str

    def parse_source(self, raw_text: str, uri: str, options: dict | None = None) -> list[ParsedArticle]:
        """Raises errors.InputError when the source as a whole is unusable (e.g. no article text)."""
        ...


class PageParser:
    """Base for parsers of single pages (one source = one article): subclasses implement `parse`."""

    parser_id = "abstract"

    def parse(self, raw_text: str, uri: str) -> ParsedArticle:
        raise NotImplementedError

    def parse_source(self, raw_text: str, uri: str, options: dict | None = None) -> list[ParsedArticle]:
        return [self.parse(raw_text, uri)]
