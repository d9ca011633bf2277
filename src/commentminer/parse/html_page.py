"""Parser for HTML pages (saved files or scraped pages): the article through trafilatura, comments by site profile.

Article:
  - title, byline, body and (as a fallback) the date come from trafilatura (`bare_extraction` with metadata,
    favor_precision, comments excluded); elements the profile lists under [article] prune are removed first.
    When trafilatura finds no main text, the page's own text (scripts, navigation and forms left out) is used.
  - The body is cut at the comments header when the comment section leaked into it; leading lines that repeat
    the title or the date, and a "By <Name>" paragraph (taken as the byline when there is no other), are removed.
  - date: the first element of the profile's [article] date selectors whose text is a date; `date_raw` is the
    text as written (a `<time datetime>` attribute, when present, decides the date itself); else trafilatura's
    date. Dates are read by `parse.dates.parse_date`.
  - url: the page's canonical link or og:url, else the source uri when it is an http(s) URL.

Comments: the first site profile whose [match] fits the page (parse/profiles/*.toml, see parse.site_profiles),
else the fallback profile. "signed_paragraphs" profiles find the header in the page text and split the text
after it with `text_dump.split_signed_comments` (the same rules as the text dumps); "selectors" profiles read
one element per comment (author, date, body, id; replies nested in their parent's element get
parent_external_id). A page whose comment section is found but cannot be split keeps its article and gets a
Problem with reason "comments_unsplit" saying why.

Nothing from the page is executed or fetched; text is stored raw (escaping is the report's job).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InputError
from .base import PageParser, ParsedArticle, ParsedComment, Problem
from .dates import parse_date
from .signatures import clean_signature, is_withheld
from .site_profiles import SelectorsSpec, SignedParagraphsSpec, SiteProfile, load_profiles, parse_selector, profiles_digest
from .text_dump import looks_like_name, split_signed_comments

# Elements whose text is never page text.
_SKIP_TAGS = frozenset({
    "script", "style", "noscript", "template", "nav", "form", "button", "select", "option", "textarea",
    "iframe", "svg", "math", "head", "object", "embed", "canvas", "audio", "video", "input",
})
# Elements that start a new paragraph in the page text (<br> starts a new line).
_BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "aside", "li", "ul", "ol", "dl", "dt", "dd",
    "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "td", "th", "pre",
    "figure", "figcaption", "address", "hr", "details", "summary", "center", "body", "html", "caption",
})
# "Posted on", "Published:" before a date: not part of the date as written.
_DATE_LABEL = re.compile(r"^(?:posted|published|updated|date)\b\s*(?:on\b)?\s*:?\s*", re.IGNORECASE)
_BOILERPLATE_LINES = frozenset({"by", "share this article", "this site is intended for health professionals only"})


def render_text(element: Any) -> str:
    """The text of an lxml element as a reader sees it: block elements become paragraphs (blank-line separated),
    <br> a line break, runs of spaces one space; scripts, styles, navigation and forms are left out."""
    from lxml import etree

    parts: list[str] = []
    walker = etree.iterwalk(element, events=("start", "end", "comment", "pi"))
    for event, node in walker:
        tag = node.tag.lower() if isinstance(node.tag, str) else None
        if event in ("comment", "pi"):  # left out, but the text after them is not
            parts.append(node.tail or "")
        elif event == "start":
            if tag in _SKIP_TAGS:
                walker.skip_subtree()  # its "end" event still comes, and adds the tail
            elif tag == "br":
                parts.append("\n")
            else:
                parts.append("\n\n" if tag in _BLOCK_TAGS else "")
                parts.append(node.text or "")
        else:
            if tag in _BLOCK_TAGS and tag not in _SKIP_TAGS:
                parts.append("\n\n")
            if node is not element:
                parts.append(node.tail or "")
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    return " ".join(text.split())


class HtmlPageParser(PageParser):
    """Parses one HTML page into a ParsedArticle (see the module docstring)."""

    def __init__(self, max_comment_chars: int = 20_000, profiles_dir: str | Path | None = None):
        self.max_comment_chars = max_comment_chars
        self.profiles_dir = profiles_dir or None

    @property
    def parser_id(self) -> str:
        """"html.v1+" + a hash of the profile files: editing a profile makes the next run re-parse HTML sources."""
        return f"html.v1+{profiles_digest(self.profiles_dir)}"

    @property
    def profiles(self) -> tuple[SiteProfile, ...]:
        return load_profiles(self.profiles_dir)

    def parse(self, raw_text: str, uri: str) -> ParsedArticle:
        """Parse one page. Raises InputError for a page with no text ("empty_page"), no article text ("no_body")
        or no title ("no_title")."""
        root = _parse_html(raw_text, uri)
        page_text = render_text(root)
        if not page_text:
            raise InputError(uri, "the page has no text (or all of it is nested more than 2,048 elements deep)",
                             reason="empty_page")
        page_url = _page_url(root, uri)
        profile = self.choose_profile(raw_text, root, [u for u in (uri, page_url) if u])
        problems: list[Problem] = []

        # Comments first: their elements must not be taken for the article's date.
        items: list[Any] = []
        if isinstance(profile.comments, SelectorsSpec):
            items = _select(root, profile.comments.item)
            comments, comment_problems = self._selector_comments(items, profile)
            header = None
        else:
            comments, comment_problems, header = self._signed_comments(root, page_text, profile)

        doc = _trafilatura(raw_text, page_url, profile, problems)
        title = one_line((doc or {}).get("title") or "") or _first_text(root, "h1 | title")
        published, date_raw = _article_date(root, profile, set(items))
        if published is None and doc and doc.get("date"):
            published, date_raw = parse_date(doc["date"]), doc["date"]
        byline = _first_text(root, *profile.article.byline) or one_line((doc or {}).get("author") or "") or None

        paragraphs = self._article_paragraphs(_paragraphs((doc or {}).get("text") or "", single_newlines=True),
                                              header, profile, title, date_raw)
        if not paragraphs:
            # The extractor found nothing, or took the comment section for the article (06: a page with 100
            # comments): the page's own text before the comments header is the article.
            paragraphs = self._article_paragraphs(_paragraphs(page_text), header, profile, title, date_raw)
        byline, paragraphs = _take_byline(byline, paragraphs)
        body = "\n\n".join(paragraphs)
        if not body:
            raise InputError(uri, f"the page has no article text (title {title!r})" if title else
                             "the page has no article text", reason="no_body")
        if not title:
            raise InputError(uri, "the page has article text but no title (no <title>, <h1> or og:title)",
                             reason="no_title")
        return ParsedArticle(
            title=title, body=body, published=published, date_raw=date_raw, byline=byline, url=page_url,
            comments=comments, problems=problems + comment_problems,
        )

    @staticmethod
    def _article_paragraphs(paragraphs: list[str], header: Any, profile: SiteProfile, title: str,
                            date_raw: str | None) -> list[str]:
        if header is not None:
            paragraphs = _cut_at_header(paragraphs, profile.comments)
        return _drop_header_lines(paragraphs, title, date_raw)

    def choose_profile(self, raw_text: str, root: Any, urls: list[str]) -> SiteProfile:
        """The first profile whose [match] fits the page, else the fallback profile."""
        lowered = raw_text.casefold()
        for profile in self.profiles:
            match = profile.match
            if match is None:
                continue
            if (any(s.casefold() in u.casefold() for s in match.url_contains for u in urls)
                    or any(s.casefold() in lowered for s in match.html_contains)
                    or (match.selector and _select(root, match.selector))):
                return profile
        return self.profiles[-1]

    # -- comments -------------------------------------------------------------------------------------------

    def _signed_comments(self, root: Any, page_text: str, profile: SiteProfile
                         ) -> tuple[list[ParsedComment], list[Problem], re.Match[str] | None]:
        """Quoted, signed paragraphs after the header. Of several header matches the first that yields comments
        is used (a sidebar heading may come before the real one); none yielding any -> the first, unsplit."""
        spec = profile.comments
        assert isinstance(spec, SignedParagraphsSpec)
        text = page_text
        if spec.container:
            containers = _select(root, spec.container)
            if containers:
                text = "\n\n".join(render_text(c) for c in containers)
        first: tuple[list[ParsedComment], list[Problem], re.Match[str]] | None = None
        for header in re.finditer(spec.header_pattern, text):
            block = text[header.end():]
            if spec.end_pattern and (end := re.search(spec.end_pattern, block)):
                block = block[: end.start()]
            if not block.strip() or (spec.empty_pattern and re.search(spec.empty_pattern, block.strip())):
                result: tuple[list[ParsedComment], list[Problem], re.Match[str]] = ([], [], header)
            else:
                comments, problems = split_signed_comments(block, self.max_comment_chars, quoted_only=True)
                if not comments:
                    problems = [Problem(
                        item_ref="comments block", reason="comments_unsplit",
                        detail=f"the page has a comments header ({one_line(header.group(0))!r}) but the "
                               f"{len(block.strip())} characters after it hold no '“comment” – Name, Place' "
                               f"signature, so they cannot be split into comments (site profile "
                               f"'{profile.name}', {Path(profile.source).name})",
                    )]
                result = (comments, problems, header)
            if result[0]:
                return result
            first = first or result
        return first if first else ([], [], None)

    def _selector_comments(self, items: list[Any], profile: SiteProfile) -> tuple[list[ParsedComment], list[Problem]]:
        """One comment per item element; a reply's parent is the nearest enclosing item."""
        spec = profile.comments
        assert isinstance(spec, SelectorsSpec)
        item_set = set(items)
        ids = {item: _item_id(item, spec) for item in items}
        comments: list[ParsedComment] = []
        problems: list[Problem] = []
        for index, item in enumerate(items):
            def own(element: Any, item: Any = item) -> bool:
                return _owner(element, item_set) is item

            ref = f"comment {ids[item] or index}"
            body_elements, attr = _find(item, spec.body, own)
            text = one_line(" ".join(
                (element.get(attr) or "") if attr else render_text(element) for element in body_elements))
            if not text:
                problems.append(Problem(item_ref=ref, reason="empty_comment",
                                        detail=f"comment element {index} has no text under {spec.body!r} "
                                               f"(site profile '{profile.name}')"))
                continue
            if len(text) > self.max_comment_chars:
                problems.append(Problem(
                    item_ref=ref, reason="comment_truncated",
                    detail=f"comment is {len(text)} characters; kept the first {self.max_comment_chars} "
                           "([parse] max_comment_chars; to keep more, e.g. --set parse.max_comment_chars=100000)"))
                text = text[: self.max_comment_chars]
            author = clean_signature(_value(item, spec.author, own) or "") or None
            withheld = author is not None and is_withheld(author)
            published, date_raw = _date_of(item, spec.date, own) if spec.date else (None, None)
            parent = _owner(item.getparent(), item_set) if item.getparent() is not None else None
            comments.append(ParsedComment(
                position=len(comments), text=text, name=None if withheld else author, place=None,
                withheld=withheld, signature_raw=None, published=published, date_raw=date_raw,
                external_id=ids[item], parent_external_id=ids.get(parent) if parent is not None else None,
            ))
        if items and not comments:
            problems.append(Problem(
                item_ref="comments block", reason="comments_unsplit",
                detail=f"the page has {len(items)} comment elements ({spec.item!r}) but none has text under "
                       f"{spec.body!r} (site profile '{profile.name}', {Path(profile.source).name})"))
        return comments, problems


# -- HTML helpers ---------------------------------------------------------------------------------------------

def _parse_html(raw_text: str, uri: str) -> Any:
    """The page as an lxml tree (lenient: unclosed and stray tags are repaired, never an error)."""
    from lxml import etree, html

    text = raw_text.lstrip("\ufeff")
    if not text.strip():
        raise InputError(uri, "the page is empty", reason="empty_page")
    try:
        try:
            # huge_tree: libxml2 otherwise drops everything nested deeper than 255 elements (13: "no text")
            return html.document_fromstring(text, parser=html.HTMLParser(huge_tree=True))
        except ValueError:  # a str with an <?xml encoding=...?> declaration
            return html.document_fromstring(text.encode("utf-8"),
                                            parser=html.HTMLParser(encoding="utf-8", huge_tree=True))
    except (etree.ParserError, ValueError) as exc:
        raise InputError(uri, f"the page has no HTML content ({exc})", reason="empty_page") from None


@lru_cache(maxsize=256)
def _compiled(selector: str):
    return parse_selector(selector)


def _find(element: Any, selector: str, keep=lambda e: True) -> tuple[list[Any], str | None]:
    """Elements of the first alternative of `selector` that finds any (kept by `keep`), and its attribute."""
    for alternative in _compiled(selector):
        found = [element] if alternative.xpath is None else element.xpath(alternative.xpath)
        found = [e for e in found if keep(e) and (alternative.attr is None or e.get(alternative.attr))]
        if found:
            return found, alternative.attr
    return [], None


def _select(element: Any, selector: str) -> list[Any]:
    return _find(element, selector)[0]


def _value(element: Any, selector: str, keep=lambda e: True) -> str | None:
    found, attr = _find(element, selector, keep)
    if not found:
        return None
    return one_line(found[0].get(attr) if attr else render_text(found[0])) or None


def _first_text(root: Any, *selectors: str) -> str:
    for selector in selectors:
        value = _value(root, selector)
        if value:
            return value
    return ""


def _owner(element: Any, items: set) -> Any:
    """The nearest item element that is `element` or encloses it, else None."""
    while element is not None and element not in items:
        element = element.getparent()
    return element


def _item_id(item: Any, spec: SelectorsSpec) -> str | None:
    if not spec.id:
        return None
    value = _value(item, spec.id)
    if value and spec.id_pattern and (match := re.search(spec.id_pattern, value)):
        return match.group(0)
    return value


def _date_of(element: Any, selector: str, keep=lambda e: True) -> tuple[Any, str | None]:
    """(date, date as written) from the first element of `selector` that holds a date, else (None, None)."""
    found, attr = _find(element, selector, keep)
    for candidate in found:
        shown = one_line(candidate.get(attr) if attr else render_text(candidate))
        machine = candidate.get("datetime") or candidate.get("content")
        published = parse_date(machine) if machine else None
        published = published or parse_date(shown)
        if published:
            return published, _DATE_LABEL.sub("", shown) or machine
    return None, None


def _article_date(root: Any, profile: SiteProfile, items: set) -> tuple[Any, str | None]:
    for selector in profile.article.date:
        published, raw = _date_of(root, selector, keep=lambda e: _owner(e, items) is None)
        if published:
            return published, raw
    return None, None


def _page_url(root: Any, uri: str) -> str | None:
    """The canonical URL: <link rel=canonical>, og:url, else the source uri when it is http(s)."""
    candidates = root.xpath(
        "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"
        " | //meta[@property='og:url']/@content")
    for value in [*candidates, uri]:
        value = str(value).strip()
        if value.lower().startswith(("http://", "https://")):
            return value
    return None


def _trafilatura(raw_text: str, url: str | None, profile: SiteProfile, problems: list[Problem]) -> dict | None:
    """trafilatura's title, author, date and main text (dict), or None when it finds no main text."""
    import trafilatura

    prune = [alt.xpath for sel in profile.article.prune for alt in _compiled(sel) if alt.xpath]
    try:
        doc = trafilatura.bare_extraction(
            raw_text, url=url, favor_precision=True, include_comments=False, include_tables=True,
            with_metadata=True, prune_xpath=prune or None,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # noqa: BLE001 - a third-party extractor failing on odd markup must not stop the run
        problems.append(Problem(item_ref="article", reason="extractor_failed",
                                detail=f"trafilatura failed ({type(exc).__name__}: {exc}); used the page text"))
        return None
    if doc is None:
        return None
    return doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)


# -- article text helpers -------------------------------------------------------------------------------------

def _paragraphs(text: str, single_newlines: bool = False) -> list[str]:
    separator = r"\n" if single_newlines else r"\n\s*\n"
    return [one_line(p) for p in re.split(separator, text) if p.strip()]


def _cut_at_header(paragraphs: list[str], spec: SignedParagraphsSpec) -> list[str]:
    """Paragraphs before the comments header; a question on the header's line stays (as in the text dumps)."""
    for index, paragraph in enumerate(paragraphs):
        match = re.search(spec.header_pattern, paragraph)
        if match:
            before = paragraph[: match.start()].strip()
            return paragraphs[:index] + ([before] if before else [])
    return paragraphs


def _drop_header_lines(paragraphs: list[str], title: str, date_raw: str | None) -> list[str]:
    """Leading paragraphs that repeat the title or the date, or are site boilerplate ("Share this article")."""
    index = 0
    while index < len(paragraphs):
        paragraph = paragraphs[index]
        folded = paragraph.casefold().rstrip(".")
        if (folded == title.casefold() or folded in _BOILERPLATE_LINES or paragraph == date_raw
                or parse_date(paragraph) or parse_date(_DATE_LABEL.sub("", paragraph))
                or (folded.startswith("by ") and parse_date(paragraph[3:]))):
            index += 1
        else:
            break
    return paragraphs[index:]


def _take_byline(byline: str | None, paragraphs: list[str]) -> tuple[str | None, list[str]]:
    """A paragraph that is only "By <Name>" leaves the body; it is the byline when there is none yet."""
    for index, paragraph in enumerate(paragraphs):
        if paragraph.casefold().startswith("by ") and looks_like_name(paragraph[3:].strip()):
            return byline or paragraph[3:].strip(), paragraphs[:index] + paragraphs[index + 1:]
    return byline, paragraphs
