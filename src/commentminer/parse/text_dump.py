"""Parser for the text-dump page format of corpus/seeds: an article, then a "Your comments" block.

Page layout (see the seeds):

    This site is intended for health professionals only      <- boilerplate, dropped
    <title>
    by / <date> / Share this article                         <- header lines, each optional
    <article paragraphs, blank-line separated>
    [By <Name>]                                              <- byline paragraph, optional
    [<question>] Your comments (terms and conditions apply):
    “<comment text>” – <Name>, <Place>                       <- one per paragraph
    ...

Byline rule (first that applies):
  1. a header "by" line followed by a name (in the seeds "by" is always followed by the date, so never);
  2. a paragraph that is only "By <Name>" (002: "By Louise Naughton"), removed from the body;
  3. an author block right after the header: a name-like short line plus role/organisation lines, or a name
     whose first word starts the next paragraph (004: "Rebecca Thornley / Associate Director / Primary Care
     Commissioning" -> "Rebecca Thornley, Associate Director, Primary Care Commissioning"), removed from the body;
  otherwise None. A byline is never guessed from article prose.
"""

from __future__ import annotations

import re
from datetime import date

from ..errors import InputError
from .base import PageParser, ParsedArticle, ParsedComment, Problem
from .signatures import parse_signature

# Whole lines the site adds to every page; they are neither title nor body.
BOILERPLATE_LINES = frozenset({
    "this site is intended for health professionals only",
    "share this article",
})

# The comments header. With the "(terms and conditions apply)" clause it may follow a question on the same line
# (002); without it, "Your comments" must stand alone on its line so article prose like "we welcome your
# comments" is never mistaken for it. Case, parenthesis style, spacing and the trailing colon are all optional.
_HEADER_WITH_TERMS = re.compile(
    r"your\s+comments\s*:?\s*[(\[（]?\s*terms\s+(?:and|&)\s+conditions\s+apply\s*[)\]）]?\s*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_ALONE = re.compile(r"^[ \t]*your\s+comments\s*:?[ \t]*$", re.IGNORECASE | re.MULTILINE)

# The end of one comment: a closing quote, a dash (en, em or ASCII hyphen) and the signature up to the end of
# the line. Splitting on this (not on opening quotes) keeps inner quotes (“cosy gents club”, ‘trusted’) and
# dashes inside the text intact. The signature may not contain quotes and is at most 250 characters (a name,
# job title, practice, CCG and town run past 120: 07), so a
# quote-dash pair in the middle of a long line of comment text is not taken for a signature.
_SIGNATURE = re.compile(
    r"[”\"][ \t]*\n?[ \t]*[–—-][ \t]*(?P<signature>[^\n“”\"]{1,250}?)[ \t]*$", re.MULTILINE
)

_OPENING_QUOTES = "“\""
_CLOSING_QUOTES = "”\""

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
         ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}
_DATE_LINE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})$")

# Author-block limits: a name plus at most two role/organisation lines, each short and not a sentence.
_AUTHOR_BLOCK_MAX_LINES = 3
_AUTHOR_LINE_MAX_CHARS = 60


def parse_date_line(line: str) -> date | None:
    """The date on a line that is only a date ("2 September 2011", "1st Dec 2010"), else None."""
    match = _DATE_LINE.match(line.strip())
    if not match:
        return None
    day, month_name, year = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    try:
        return date(int(year), month, int(day))
    except ValueError:  # "31 February 2011" is not a date
        return None


def looks_like_name(line: str) -> bool:
    """True for a short run of capitalised words ("Louise Naughton", "Dr Jane Povey"), not a date."""
    words = line.split()
    if not 1 <= len(words) <= 5 or parse_date_line(line):
        return False
    return all(word[0].isupper() and all(ch.isalpha() or ch in "'’.-" for ch in word) for word in words)


# A date stated in the body of a page with no date line: "published today (3 June 2008)", "issued on 3 June 2008".
_BODY_DATE = re.compile(
    r"\b(?:published|issued|released|announced|posted)\b[^.()\n]{0,30}?\(?\s*"
    r"(?P<date>\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]+\.?,?\s+\d{4})\s*\)?", re.IGNORECASE)
_HEADLINE_MAX_CHARS = 200
# "A B and C D", "A B, C D and E F", "A B & C D": every part a name
_BYLINE_SEPARATORS = re.compile(r"\s*,\s*|\s+and\s+|\s*&\s*")


def looks_like_byline(text: str) -> bool:
    """True for one or more names joined by "and", "&" or commas ("Ann Lee and Tom Brown-Smith")."""
    parts = [p for p in _BYLINE_SEPARATORS.split(text.strip()) if p]
    return bool(parts) and len(parts) <= 4 and all(looks_like_name(p) for p in parts)


def body_date(body: str) -> tuple[date, str, str] | None:
    """(date, the date as written, the phrase) of the first "published ... <date>" statement in `body`."""
    for match in _BODY_DATE.finditer(body):
        published = parse_date_line(match.group("date"))
        if published is not None:
            return published, match.group("date"), match.group(0).strip()
    return None


def _looks_like_headline(lines: list[str], index: int) -> bool:
    """A headline is one short line standing alone (blank line or end after it), not ending like a sentence."""
    line = lines[index]
    alone = index + 1 >= len(lines) or not lines[index + 1]
    return alone and len(line) <= _HEADLINE_MAX_CHARS and line[-1] not in ".,;:"


def find_comments_header(text: str) -> re.Match[str] | None:
    """The first comments header in `text` (either form), or None."""
    matches = [m for m in (_HEADER_WITH_TERMS.search(text), _HEADER_ALONE.search(text)) if m]
    return min(matches, key=lambda m: m.start()) if matches else None


class TextDumpParser(PageParser):
    """Parses one text-dump page into a ParsedArticle (see the module docstring for the layout and rules)."""

    parser_id = "text_dump.v1"

    def __init__(self, max_comment_chars: int = 20_000):
        self.max_comment_chars = max_comment_chars

    def parse(self, raw_text: str, uri: str) -> ParsedArticle:
        """Parse one page. Raises InputError when there is no title or no article body."""
        text = raw_text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        header = find_comments_header(text)
        article_text = text[: header.start()] if header else text
        comments_text = text[header.end() :] if header else None

        # Runs of spaces/no-break spaces inside a line become one space; line breaks are kept.
        lines = [" ".join(line.split()) for line in article_text.split("\n")]
        had_banner = any(line.rstrip(".").casefold() in BOILERPLATE_LINES for line in lines)
        lines = [line for line in lines if line.rstrip(".").casefold() not in BOILERPLATE_LINES]
        content = [i for i, line in enumerate(lines) if line]
        if not content:
            raise InputError(uri, "the page has no text besides the site boilerplate", reason="empty_page")
        problems: list[Problem] = []
        # Blog layout: "by <Author>" and the date line come before the headline.
        published, date_raw, byline, title_index = _read_header(lines, content[0])
        before_title = title_index > content[0]
        title_index = _next_content(lines, title_index)
        if title_index is None:
            raise InputError(uri, "the page has a by-line or date but no headline or text", reason="no_body")
        after_published, after_date_raw, after_byline, body_start = _read_header(lines, title_index + 1)
        published, date_raw = (published, date_raw) if published else (after_published, after_date_raw)
        byline = byline or after_byline
        title: str | None = lines[title_index]
        has_header = (before_title or had_banner or after_published is not None or after_byline is not None
                      or _looks_like_headline(lines, title_index))
        if not has_header:
            # Saved without its header: the first line is body text, not a title (the title stays empty).
            title, body_start = None, content[0]
            problems.append(Problem("article", "no_header", "the page has no header (no headline, by-line or date "
                                                            "line before the text); title left empty, body kept whole"))
        paragraphs = _paragraphs(lines[body_start:])
        if byline is None:
            byline, paragraphs = _take_byline_paragraph(paragraphs)
        if byline is None:
            byline, paragraphs = _take_author_block(paragraphs)
        body = "\n\n".join(paragraphs)
        if not body:
            raise InputError(uri, f"the page has a title ({title!r}) but no article text", reason="no_body")
        if published is None:
            found = body_date(body)
            if found is not None:
                published, date_raw, phrase = found
                problems.append(Problem("article date", "date_from_body",
                                        f"no date line; the date {date_raw!r} is taken from the body ({phrase!r})"))

        article = ParsedArticle(title=title, body=body, published=published, date_raw=date_raw, byline=byline,
                                problems=problems)
        if comments_text is not None:
            article.comments, comment_problems = self._parse_comments(comments_text)
            article.problems.extend(comment_problems)
        return article

    def _parse_comments(self, block: str) -> tuple[list[ParsedComment], list[Problem]]:
        return split_signed_comments(block, self.max_comment_chars)


def split_signed_comments(
    block: str, max_comment_chars: int = 20_000, quoted_only: bool = False
) -> tuple[list[ParsedComment], list[Problem]]:
    """Split a block of "“text” – Name, Place" comments into comments, at each closing quote + dash + signature.

    The one implementation of signed-comment splitting: the text-dump parser and the HTML parser's
    "signed_paragraphs" site profiles (parse.html_page) both use it. `block` is the text after the comments
    header, paragraphs separated by blank lines. Returns the comments (position 0..n-1) and the problems found:
    "no_signatures" (text but no signature at all; nothing is split), "empty_comment" (a signature with no text
    before it), "comment_truncated" (longer than `max_comment_chars`), "unsigned_comment" (a last comment with
    no signature, kept with no name or place).

    `quoted_only=True` is for blocks cut from web pages, which may also hold page furniture ("3 comments",
    "Leave a reply", footer links): in each comment's chunk, paragraphs before the first one that opens with a
    quote mark are dropped, and text after the last signature is kept (as an unsigned comment) only when it
    opens with a quote mark.
    """
    comments: list[ParsedComment] = []
    problems: list[Problem] = []
    signatures = list(_SIGNATURE.finditer(block))
    if block.strip() and not signatures and not _is_lone_cut_comment(block):
        problems.append(Problem(
            item_ref="comments block", reason="no_signatures",
            detail=f"the comments block has {len(block.strip())} characters of text but no "
                   "'” – Name, Place' signature, so it cannot be split into comments",
        ))
        return comments, problems

    start = 0
    chunks: list[tuple[str, str | None]] = []
    for match in signatures:
        chunks.append((block[start : match.start()], match.group("signature").strip()))
        start = match.end()
    if block[start:].strip():
        chunks.append((block[start:], None))  # a last comment cut off before its signature

    for chunk, signature in chunks:
        if quoted_only:
            chunk = _from_first_quoted_paragraph(chunk)
            if signature is None and chunk.strip()[:1] not in _OPENING_QUOTES:
                continue  # page furniture after the last comment
        text = _comment_text(chunk)
        position = len(comments)
        ref = f"comment {position}"
        if not text:
            problems.append(Problem(
                item_ref=f"signature {signature!r}", reason="empty_comment",
                detail=f"the signature {signature!r} has no comment text before it",
            ))
            continue
        if len(text) > max_comment_chars:
            problems.append(Problem(
                item_ref=ref, reason="comment_truncated",
                detail=f"comment is {len(text)} characters; kept the first {max_comment_chars} "
                       "([parse] max_comment_chars; to keep more, e.g. --set parse.max_comment_chars=100000)",
            ))
            text = text[:max_comment_chars]
        if signature is None:
            problems.append(Problem(
                item_ref=ref, reason="unsigned_comment",
                detail=f"the last comment ({text[:40]!r}...) has no '– Name, Place' signature: the page was cut "
                       "off inside it; kept with no name or place, marked truncated (left out of commenter "
                       "counts, quotes and regional figures)",
            ))
            name, place, withheld = None, None, False
        else:
            name, place, withheld = parse_signature(signature)
        comments.append(ParsedComment(
            position=position, text=text, name=name, place=place, withheld=withheld, signature_raw=signature,
            truncated=signature is None,
        ))
    return comments, problems


def _is_lone_cut_comment(block: str) -> bool:
    """A block with no signature that is one comment cut off: a single paragraph, or text opening with a quote
    mark that never closes. (Several unsigned paragraphs are a block that cannot be split: "no_signatures".)"""
    text = block.strip()
    if re.search(r"\n[ \t]*\n", text) is None:
        return True
    return text[:1] in _OPENING_QUOTES and not any(q in text[1:] for q in _CLOSING_QUOTES)


def _from_first_quoted_paragraph(chunk: str) -> str:
    """The chunk from its first paragraph that opens with a quote mark (the whole chunk when none does)."""
    match = re.search(r"(?:^|\n[ \t]*\n)[ \t]*(?=[“\"])", chunk)
    return chunk[match.end():] if match else chunk


def _read_header(lines: list[str], start: int) -> tuple[date | None, str | None, str | None, int]:
    """Read the optional header lines after the title ("by", a date, blank lines).

    Returns (published, date_raw, byline, index of the first body line). Boilerplate lines such as "Share this
    article" were already removed.
    """
    published: date | None = None
    date_raw: str | None = None
    byline: str | None = None
    index = start
    while index < len(lines):
        line = lines[index]
        if not line:
            index += 1
        elif line.casefold() == "by":
            # "by" is normally followed by the author; in the seeds it is followed by the date instead.
            following = _next_content(lines, index + 1)
            if following is not None and looks_like_byline(lines[following]):
                byline = lines[following]
                index = following + 1
            else:
                index += 1
        elif line.casefold().startswith("by ") and looks_like_byline(line[3:]):
            byline = line[3:].strip()
            index += 1
        elif published is None and parse_date_line(line):
            published, date_raw = parse_date_line(line), line
            index += 1
        else:
            break
    return published, date_raw, byline, index


def _next_content(lines: list[str], start: int) -> int | None:
    return next((i for i in range(start, len(lines)) if lines[i]), None)


def _paragraphs(lines: list[str]) -> list[str]:
    """Group stripped lines into paragraphs at blank lines; lines inside a paragraph keep their newline."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines + [""]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    return paragraphs


def _take_byline_paragraph(paragraphs: list[str]) -> tuple[str | None, list[str]]:
    """A paragraph that is only "By <Name>" gives the byline and leaves the body."""
    for index, paragraph in enumerate(paragraphs):
        if paragraph.casefold().startswith("by ") and looks_like_byline(paragraph[3:]):
            return paragraph[3:].strip(), paragraphs[:index] + paragraphs[index + 1 :]
    return None, paragraphs


def _take_author_block(paragraphs: list[str]) -> tuple[str | None, list[str]]:
    """An author block opening the body: "Name" [+ "Role" + "Organisation"] before the first real paragraph.

    Accepted when the first line looks like a name and either role lines follow it or the next paragraph
    starts with the name's first word ("Rebecca is an associate director..."); a lone short heading is not.
    """
    block: list[str] = []
    for paragraph in paragraphs[:_AUTHOR_BLOCK_MAX_LINES]:
        is_short_line = "\n" not in paragraph and len(paragraph) <= _AUTHOR_LINE_MAX_CHARS
        if not is_short_line or paragraph[-1] in ".?!:;" + _CLOSING_QUOTES:
            break
        block.append(paragraph)
    rest = paragraphs[len(block) :]
    if not block or not rest or not looks_like_name(block[0]):
        return None, paragraphs
    first_word = block[0].split()[0]
    if len(block) > 1 or rest[0].startswith(first_word + " "):
        return ", ".join(block), rest
    return None, paragraphs


def _comment_text(chunk: str) -> str:
    """Comment text from its chunk: lines joined and whitespace runs collapsed to single spaces, the enclosing
    quotes removed."""
    text = " ".join(chunk.split())
    if text[:1] in _OPENING_QUOTES:
        text = text[1:]
        if text[-1:] in _CLOSING_QUOTES:  # only for an unsigned last comment; signed ones lose it in the split
            text = text[:-1]
    return text.strip()
