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


@dataclass
class Problem:
    """Something inside a page that could not be parsed; it goes to the quarantine table."""

    item_ref: str                   # e.g. "comment 3" or "comments block"
    reason: str                     # short code, e.g. "unsigned_comment", "no_signatures"
    detail: str                     # a sentence saying what is wrong


@dataclass
class ParsedArticle:
    title: str
    body: str
    published: date | None = None
    date_raw: str | None = None
    byline: str | None = None
    comments: list[ParsedComment] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class Parser(Protocol):
    parser_id: str

    def parse(self, raw_text: str, uri: str) -> ParsedArticle:
        """Parse one page. Raises errors.InputError when the page as a whole is unusable (e.g. no article text)."""
        ...
