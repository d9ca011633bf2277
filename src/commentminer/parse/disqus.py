"""Parser "disqus.v1": Disqus XML export files (Admin > Moderation > Export), one article per thread.

Export layout (namespace http://disqus.com, ids in http://disqus.com/disqus-internals):

    <disqus>
      <category dsq:id="..."> ... </category>                     <- ignored
      <thread dsq:id="T1">
        <link>https://example.com/story</link>  <title>...</title>  <message>(HTML)</message>
        <createdAt>2011-09-02T10:15:00Z</createdAt> ...
      </thread>
      <post dsq:id="P1">
        <message><![CDATA[<p>comment HTML</p>]]></message>
        <createdAt>...</createdAt>  <isDeleted>false</isDeleted>  <isSpam>false</isSpam>
        <author><name>Display Name</name><username>handle</username>...</author>
        <thread dsq:id="T1"/>  <parent dsq:id="P0"/>              <- parent only on replies
      </post>
    </disqus>

Mapping: thread -> ParsedArticle (external_id = thread dsq:id, url = link, title, published/date_raw from
createdAt, body = the thread message as text, usually ""); post -> ParsedComment (external_id = post dsq:id,
parent_external_id = parent dsq:id, name = author name else username, place None, published/date_raw from
createdAt, text = message HTML as plain text). Positions follow file order within each thread. Threads with no
kept post are left out (a forum export lists every page, most with no comments).

Nothing is silently dropped: deleted and spam posts are skipped and counted in one problem per file (reason
"deleted_or_spam", with their ids); posts with no text are problems "empty_comment"; posts whose thread is not in
the file are kept under an article for that thread id (problem "unknown_thread").

Safety: parsed with expat as a stream; a DOCTYPE or ENTITY declaration is refused (InputError reason
"unsafe_xml": entity expansion attacks, external entities), as is a text over MAX_XML_CHARS. Message HTML is
turned into text with html.parser (tags dropped, entities decoded, script/style contents dropped); nothing in it
is fetched or run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from xml.parsers import expat

from ..errors import InputError
from .base import ParsedArticle, ParsedComment, Problem
from .signatures import is_withheld
from .table_export import export_date

MAX_XML_CHARS = 200_000_000  # far above [ingest] max_file_bytes; a guard for sources written by other means
_FEED_CHARS = 1 << 20        # text fed to expat at a time
_DSQ_ID = "http://disqus.com/disqus-internals id"
_MAX_LISTED_IDS = 20


class _TextExtractor(HTMLParser):
    """Visible text of an HTML fragment: tags dropped, entities decoded, script/style ignored."""

    _SKIP = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in {"br", "p", "div", "li", "blockquote"}:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in {"p", "div", "li", "blockquote"}:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of a message's HTML, whitespace runs collapsed to single spaces."""
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    return " ".join("".join(extractor.parts).split())


@dataclass
class _Record:
    """A <thread> or <post> element: its dsq:id, child texts by path, and referenced dsq:ids."""

    kind: str
    dsq_id: str | None
    line: int
    texts: dict[str, str] = field(default_factory=dict)   # "message", "author/name", ...
    refs: dict[str, str] = field(default_factory=dict)    # "thread" / "parent" -> dsq:id


class _Reader:
    """Streams the export through expat, collecting top-level <thread> and <post> records."""

    def __init__(self, uri: str):
        self.uri = uri
        self.threads: dict[str, _Record] = {}
        self.posts: list[_Record] = []
        self._stack: list[str] = []
        self._record: _Record | None = None
        self._text: list[str] = []
        self.root: str | None = None
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser = parser

    def read(self, text: str) -> None:
        try:
            for start in range(0, len(text), _FEED_CHARS):
                self.parser.Parse(text[start : start + _FEED_CHARS], False)
            self.parser.Parse("", True)
        except expat.ExpatError as exc:
            raise InputError(self.uri, f"not well-formed XML ({expat.errors.messages[exc.code]} at line "
                                       f"{exc.lineno}, column {exc.offset})", reason="bad_xml") from None

    def _refuse_doctype(self, name, *_):
        raise InputError(self.uri, f"XML with a DOCTYPE declaration ({name!r}) is refused: Disqus exports have "
                                   "none, and DTDs allow entity-expansion attacks", reason="unsafe_xml")

    def _refuse_entity(self, name, *_):
        raise InputError(self.uri, f"XML with an ENTITY declaration ({name!r}) is refused", reason="unsafe_xml")

    @staticmethod
    def _local(name: str) -> str:
        return name.rsplit(" ", 1)[-1]

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = self._local(name)
        depth = len(self._stack)
        self._stack.append(local)
        if depth == 0:
            self.root = local
        elif depth == 1 and local in {"thread", "post"}:
            self._record = _Record(local, attrs.get(_DSQ_ID), self.parser.CurrentLineNumber)
        elif self._record is not None and depth == 2 and _DSQ_ID in attrs:
            self._record.refs[local] = attrs[_DSQ_ID]
        self._text = []

    def _end(self, name: str) -> None:
        depth = len(self._stack) - 1
        if self._record is not None:
            if depth == 1:
                if self._record.kind == "thread" and self._record.dsq_id:
                    self.threads[self._record.dsq_id] = self._record
                elif self._record.kind == "post":
                    self.posts.append(self._record)
                self._record = None
            elif depth >= 2:
                path = "/".join(self._stack[2:])
                text = "".join(self._text)
                if text.strip():
                    self._record.texts.setdefault(path, text)
        self._stack.pop()
        self._text = []

    def _data(self, data: str) -> None:
        if self._record is not None:
            self._text.append(data)


def _flag(record: _Record, name: str) -> bool:
    return record.texts.get(name, "").strip().lower() == "true"


class DisqusParser:
    """Reads a Disqus XML export (see the module docstring)."""

    parser_id = "disqus.v1"

    def __init__(self, max_comment_chars: int = 20_000):
        self.max_comment_chars = max_comment_chars

    def parse_source(self, raw_text: str, uri: str, options: dict | None = None) -> list[ParsedArticle]:
        if len(raw_text) > MAX_XML_CHARS:
            raise InputError(uri, f"XML text is {len(raw_text):,} characters, over the {MAX_XML_CHARS:,} limit",
                             reason="too_large")
        reader = _Reader(uri)
        reader.read(raw_text.lstrip("\ufeff"))
        if reader.root != "disqus":
            raise InputError(uri, f"not a Disqus export: the root element is <{reader.root}>, expected <disqus>",
                             reason="not_disqus")

        articles: dict[str, ParsedArticle] = {}
        problems: list[Problem] = []
        deleted, spam = [], []
        for post in reader.posts:
            ref = f"post {post.dsq_id or '(no id)'} (line {post.line})"
            if _flag(post, "isDeleted"):
                deleted.append(post.dsq_id or f"line {post.line}")
                continue
            if _flag(post, "isSpam"):
                spam.append(post.dsq_id or f"line {post.line}")
                continue
            text = html_to_text(post.texts.get("message", ""))
            if not text:
                problems.append(Problem(ref, "empty_comment", f"{ref} has an empty message; skipped"))
                continue
            if len(text) > self.max_comment_chars:
                problems.append(Problem(ref, "comment_truncated",
                                        f"comment is {len(text)} characters; kept the first "
                                        f"{self.max_comment_chars} ([parse] max_comment_chars; to keep more, e.g. "
                                        "--set parse.max_comment_chars=100000)"))
                text = text[: self.max_comment_chars]
            thread_id = post.refs.get("thread")
            article = articles.get(thread_id or "")
            if article is None:
                article = articles[thread_id or ""] = self._article(reader, thread_id, ref, problems)
            name = " ".join(post.texts.get("author/name", "").split()) or \
                " ".join(post.texts.get("author/username", "").split()) or None
            withheld = name is not None and is_withheld(name)
            published, date_raw = export_date(post.texts.get("createdAt"))
            article.comments.append(ParsedComment(
                position=len(article.comments), text=text, name=None if withheld else name, place=None,
                withheld=withheld, published=published, date_raw=date_raw, external_id=post.dsq_id,
                parent_external_id=post.refs.get("parent"),
            ))

        if deleted or spam:
            skipped = deleted + spam
            listed = ", ".join(skipped[:_MAX_LISTED_IDS]) + (", ..." if len(skipped) > _MAX_LISTED_IDS else "")
            problems.append(Problem("deleted and spam posts", "deleted_or_spam",
                                    f"skipped {len(deleted)} deleted and {len(spam)} spam posts (ids {listed})"))
        if not articles:
            detail = "; ".join(p.detail for p in problems[-3:])
            raise InputError(uri, f"no comments to keep in {len(reader.posts)} posts and {len(reader.threads)} "
                                  f"threads" + (f" ({detail})" if detail else ""), reason="empty_export")
        result = list(articles.values())
        result[0].problems.extend(problems)
        return result

    @staticmethod
    def _article(reader: _Reader, thread_id: str | None, ref: str, problems: list[Problem]) -> ParsedArticle:
        thread = reader.threads.get(thread_id) if thread_id else None
        if thread is None:
            problems.append(Problem(ref, "unknown_thread",
                                    f"{ref} belongs to thread {thread_id!r}, which is not in the file; kept under "
                                    "an article with that thread id and no title"))
            return ParsedArticle(title=f"Disqus thread {thread_id or '(none)'}", body="",
                                 external_id=thread_id or None)
        published, date_raw = export_date(thread.texts.get("createdAt"))
        url = thread.texts.get("link", "").strip() or None
        title = " ".join(thread.texts.get("title", "").split()) or url or f"Disqus thread {thread_id}"
        return ParsedArticle(title=title, body=html_to_text(thread.texts.get("message", "")), published=published,
                             date_raw=date_raw, url=url, external_id=thread_id)
