"""Site profiles for HTML pages: how to find a site's article date/byline and split its comment section.

Profiles are data, one TOML file per site in `parse/profiles/` (a user folder can replace the shipped set).
A profile says when it applies (`[match]`), optional article hints (`[article]`) and how comments are split
(`[comments]`, one of two modes):

- mode = "signed_paragraphs": the comments are quoted, signed paragraphs ("“text” – Name, Place") after a
  header found by `header_pattern` (a regex over the page text, one line per block element). Splitting is
  `text_dump.split_signed_comments`, shared with the text-dump parser.
- mode = "selectors": one element per comment (`item`), with CSS selectors for author, date, body and id.

Selector syntax (every selector field): a CSS selector, optionally followed by "@attr" to read an attribute
instead of the text ("time@datetime"; "@id" alone reads the attribute of the element itself), and
alternatives separated by " | " (the first alternative that finds something wins).

Exactly one profile is the fallback (`fallback = true`, no `[match]`); the others are tried in (priority,
name) order and the first whose match succeeds is used. A profile file that is not valid TOML, has an unknown
key, a bad regex or a bad CSS selector is a ConfigError naming the file.
"""

from __future__ import annotations

import hashlib

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"

# Where an article's date is written, in order of preference, when a profile does not say.
DEFAULT_DATE_SELECTORS = [
    "time.published", "time.entry-date", "[itemprop=datePublished]", ".entry-date", ".post-date",
    ".published", ".date", ".meta", "time",
]


@dataclass(frozen=True)
class Selector:
    """One alternative of a selector field: CSS (None = the element itself) and an attribute to read."""

    css: str | None
    attr: str | None
    xpath: str | None  # the CSS compiled to XPath (lxml runs XPath)


def parse_selector(text: str) -> list[Selector]:
    """'a.b@href | .c' -> its alternatives. Raises ValueError for a selector cssselect cannot compile."""
    from cssselect import GenericTranslator, SelectorError

    alternatives = []
    for part in text.split(" | "):
        part = part.strip()
        css, _, attr = part.partition("@") if "@" in part else (part, "", "")
        css = css.strip() or None
        if css is None and not attr:
            raise ValueError(f"empty selector in {text!r}")
        try:
            xpath = GenericTranslator().css_to_xpath(css, prefix="descendant-or-self::") if css else None
        except SelectorError as exc:
            raise ValueError(f"bad CSS selector {css!r}: {exc}") from None
        alternatives.append(Selector(css=css, attr=attr.strip() or None, xpath=xpath))
    return alternatives


def _check_selector(value: str | None) -> str | None:
    if value is not None:
        parse_selector(value)
    return value


def _check_pattern(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchSpec(_Strict):
    """When a profile applies: any one test that is given and passes is enough."""

    url_contains: list[str] = []    # substrings of the page URL (source uri, canonical link or og:url)
    html_contains: list[str] = []   # substrings of the raw HTML, case-insensitive
    selector: str | None = None     # a CSS selector that finds at least one element

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        return _check_selector(value)


class ArticleSpec(_Strict):
    """Article hints; title, author and body come from trafilatura."""

    date: list[str] = list(DEFAULT_DATE_SELECTORS)  # first element whose text is a date gives date + date_raw
    byline: list[str] = []                          # first non-empty text is the byline (before trafilatura's)
    prune: list[str] = []                           # elements removed before the article body is extracted

    @field_validator("date", "byline", "prune")
    @classmethod
    def _selectors(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_selector(value)
        return values


class SignedParagraphsSpec(_Strict):
    mode: Literal["signed_paragraphs"]
    header_pattern: str                  # regex for the comments header in the page text (use (?im) flags)
    end_pattern: str | None = None       # regex for a line where the comments block stops (footer, related)
    empty_pattern: str | None = None     # regex for a block that means "no comments yet"
    container: str | None = None         # CSS: look for the header only inside this element when present

    @field_validator("header_pattern", "end_pattern", "empty_pattern")
    @classmethod
    def _patterns(cls, value: str | None) -> str | None:
        return _check_pattern(value)

    @field_validator("container")
    @classmethod
    def _container(cls, value: str | None) -> str | None:
        return _check_selector(value)


class SelectorsSpec(_Strict):
    mode: Literal["selectors"]
    item: str                            # one element per comment; items nested in items are replies
    author: str
    body: str
    date: str | None = None
    id: str | None = None                # external id, e.g. "@id" (the item's id attribute)
    id_pattern: str | None = None        # regex; the first match in the id is kept ("comment-\d+")

    @field_validator("item", "author", "body", "date", "id")
    @classmethod
    def _selectors(cls, value: str | None) -> str | None:
        return _check_selector(value)

    @field_validator("id_pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        return _check_pattern(value)


class SiteProfile(_Strict):
    name: str
    description: str = ""
    priority: int = 100                  # lower is tried first
    fallback: bool = False               # the profile used when no other matches (exactly one)
    match: MatchSpec | None = None
    article: ArticleSpec = ArticleSpec()
    comments: Annotated[SignedParagraphsSpec | SelectorsSpec, Field(discriminator="mode")]

    source: str = ""                     # the file it was loaded from (set by the loader)


def load_profile(path: Path) -> SiteProfile:
    """One profile file, validated. Raises ConfigError naming the file and the problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"site profile {path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"site profile {path}: not valid TOML ({exc})") from None
    if "source" in data:
        raise ConfigError(f"site profile {path}: 'source' is set by the loader, not in the file")
    try:
        profile = SiteProfile(**data, source=str(path))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"site profile {path}: {problems}") from None
    if profile.fallback and profile.match is not None:
        raise ConfigError(f"site profile {path}: the fallback profile must not have a [match] table")
    if not profile.fallback and (profile.match is None or not (
            profile.match.url_contains or profile.match.html_contains or profile.match.selector)):
        raise ConfigError(f"site profile {path}: needs a [match] table with url_contains, html_contains or "
                          "selector (or fallback = true)")
    return profile


def load_profiles(directory: Path | str | None = None) -> tuple[SiteProfile, ...]:
    """Every *.toml profile in `directory` (default: the shipped parse/profiles/), in the order they are tried:
    matching profiles by (priority, name), the fallback last."""
    return _load_profiles(Path(directory).resolve() if directory else PROFILES_DIR)


def profiles_digest(directory: Path | str | None = None) -> str:
    """Short hash of every profile file's name and bytes in `directory` (default: the shipped profiles)."""
    folder = Path(directory).resolve() if directory else PROFILES_DIR
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.toml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


@lru_cache(maxsize=8)
def _load_profiles(directory: Path) -> tuple[SiteProfile, ...]:
    if not directory.is_dir():
        raise ConfigError(f"site profiles folder {directory} does not exist")
    profiles = [load_profile(path) for path in sorted(directory.glob("*.toml"))]
    names = [p.name for p in profiles]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"site profiles in {directory}: the name(s) {', '.join(duplicates)} are used twice")
    fallbacks = [p for p in profiles if p.fallback]
    if len(fallbacks) != 1:
        raise ConfigError(f"site profiles in {directory}: need exactly one profile with fallback = true, "
                          f"found {len(fallbacks)}")
    ordered = sorted((p for p in profiles if not p.fallback), key=lambda p: (p.priority, p.name))
    return (*ordered, fallbacks[0])
