"""Parse stage: `sources` -> `articles` + `comments`, each source read by the parser for its format.

A source is parsed once per parser id: `source_parses` records the work, so re-running parses only new sources
(and retries ones that failed). One source may hold many articles (an export file), and one article may come
from several sources (a page scraped twice, daily exports): articles and comments have ids derived from their
own content (see `article_key`), so a second source updates them instead of adding duplicates.
Page-level failures (InputError) and problems inside a page (unsigned comment, no signatures, truncation) go to
the quarantine with stage "parse".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone

import pandas as pd

from .. import registry
from ..context import StageContext, batched
from ..errors import BackendError, InputError
from ..ids import content_id, normalise_name
from ..schema import ARTICLES, COMMENTS
from .base import ParsedArticle, Parser

_BATCH_SOURCES = 100  # raw texts held in memory at once


class _Parsers:
    """Parser per source format, created on first need (a corpus of text dumps never loads the HTML parser)."""

    def __init__(self, ctx: StageContext):
        self.ctx = ctx
        self._by_format: dict[str, Parser] = {}

    def get(self, fmt: str) -> Parser:
        if fmt not in self._by_format:
            name = self.ctx.config.parse.parsers.get(fmt)
            if name is None:
                raise BackendError(f"no parser configured for source format '{fmt}' (set [parse.parsers] {fmt})")
            settings = {"max_comment_chars": self.ctx.config.parse.max_comment_chars}
            if fmt == "html":  # only page parsers read site profiles
                profiles = self.ctx.config.parse.html_profiles_dir
                settings["profiles_dir"] = str(self.ctx.config.path("parse.html_profiles_dir")) if profiles else ""
            self._by_format[fmt] = registry.create("parse", name, **settings)
        return self._by_format[fmt]


def run(ctx: StageContext) -> dict:
    """Parse every source not yet parsed by its format's parser. Returns counts of what was done."""
    parsers = _Parsers(ctx)
    recorded_before = ctx.quarantine.recorded
    stats = {"sources_parsed": 0, "sources_failed": 0, "articles": 0, "comments": 0, "quarantined": 0}
    pending = _pending(ctx, parsers)
    for source in ctx.progress(_read_sources(ctx, pending), total=len(pending), desc="parse", unit="source"):
        parser_id = None
        try:
            parser = parsers.get(source.format)
            parser_id = parser.parser_id
            options = json.loads(source.options_json) if source.options_json else None
            articles = parser.parse_source(source.raw_text, source.uri, options)
        except (InputError, BackendError) as exc:
            stats["sources_failed"] += 1
            reason = exc.reason if isinstance(exc, InputError) else "no_parser"
            detail = exc.problem if isinstance(exc, InputError) else str(exc)
            ctx.quarantine.report(stage="parse", uri=source.uri, reason=reason, detail=detail)
            if isinstance(exc, InputError) and parser_id is not None:
                _mark(ctx, source.source_id, parser_id, "failed", 0, 0)
            continue
        except (ValueError, TypeError, LookupError, AttributeError, RecursionError, UnicodeError, OverflowError,
                MemoryError) as exc:
            # A parser bug met by one hostile file must not poison the store: the file is quarantined (and
            # marked failed, so later runs skip it) and the others are parsed.
            stats["sources_failed"] += 1
            ctx.quarantine.report(stage="parse", uri=source.uri, reason="parser_error",
                                  detail=f"{parser_id or 'the parser'} could not read the file ({type(exc).__name__}: "
                                         f"{str(exc)[:200]})")
            if parser_id is not None:
                _mark(ctx, source.source_id, parser_id, "failed", 0, 0)
            continue
        # Problems are reported before writing: under policy "raise" nothing of the source is stored, so a
        # re-run meets the same problem again instead of skipping a half-written source.
        ctx.quarantine.report_many([
            dict(stage="parse", uri=source.uri, reason=problem.reason, detail=problem.detail, item_ref=problem.item_ref)
            for article in articles for problem in article.problems
        ])
        n_comments = write_articles(ctx, source.source_id, source.uri, articles, parser.parser_id)
        _mark(ctx, source.source_id, parser.parser_id, "ok", len(articles), n_comments)
        stats["sources_parsed"] += 1
        stats["articles"] += len(articles)
        stats["comments"] += n_comments
    stats["quarantined"] = ctx.quarantine.recorded - recorded_before
    return stats


def _pending(ctx: StageContext, parsers: _Parsers) -> list[str]:
    """Ids of sources with no `source_parses` row for their format's current parser."""
    sources = ctx.store.query("SELECT source_id, format FROM sources ORDER BY uri, source_id")
    done = set(map(tuple, ctx.store.query("SELECT source_id, parser_id FROM source_parses").to_numpy().tolist()))
    pending = []
    for row in sources.itertuples(index=False):
        try:
            parser_id = parsers.get(row.format).parser_id
        except BackendError:
            parser_id = None  # reported when the source is read, with the reason
        if (row.source_id, parser_id) not in done:
            pending.append(row.source_id)
    return pending


def _read_sources(ctx: StageContext, source_ids: list[str]) -> Iterator:
    """(source_id, uri, format, raw_text, options_json) rows, a batch at a time to bound memory."""
    for id_batch in batched(source_ids, _BATCH_SOURCES):
        yield from ctx.store.query(
            "SELECT source_id, uri, format, raw_text, options_json FROM sources "
            "WHERE list_contains(?::VARCHAR[], source_id) ORDER BY uri, source_id",
            [id_batch],
        ).itertuples(index=False)


def article_key(article: ParsedArticle) -> str:
    """What identifies an article across sources: its external id, else its URL, else title + date.

    Not the source: the same article scraped twice (with new comments) or exported twice must update, not
    duplicate.
    """
    if article.external_id:
        return f"ext:{article.external_id}"  # ids are only unique within one system: see the README's caveat
    if article.url:
        return f"url:{article.url.strip().rstrip('/').lower()}"
    if article.title is None:
        return ""  # no title either: the caller keys it by its source
    return f"title:{_title_key(article.title)}|{article.published or ''}"


def _title_key(title: str) -> str:
    """The ASCII name key (kept: stored ids stay stable); for a title with no ASCII letter or digit, which that
    key reduces to "" (so every Greek or Welsh-only or "/" title would be one article), its Unicode words, else
    the title itself."""
    key = normalise_name(title)
    if key:
        return key
    return " ".join(re.sub(r"[\W_]+", " ", title.casefold()).split()) or title.strip()


def article_rows(source_id: str, uri: str, parsed: ParsedArticle, parser_id: str) -> tuple[dict, list[dict]]:
    """The `articles` row and `comments` rows for one parsed article (ids derived from content).

    An article with no title, URL or external id is keyed by its source. Its title stays null for a page
    (the parser noted why); an export's untitled article is titled "Article <source id>", never the file name.
    A comment without an external id is identified by its text and signer plus its occurrence number among
    identical comments on the article, so "Agreed." posted three times is three comments, and the ids stay
    stable when the same page is parsed again.
    """
    key = article_key(parsed) or f"source:{source_id}"
    article_id = content_id("art", key)
    title = parsed.title
    if title is None and parser_id.startswith("table"):
        title = f"Article {source_id}"
    article = {
        "article_id": article_id, "source_id": source_id, "uri": uri, "url": parsed.url,
        "external_id": parsed.external_id, "title": title, "published": parsed.published,
        "date_raw": parsed.date_raw, "byline": parsed.byline, "body": parsed.body, "parser_id": parser_id,
    }
    comments = []
    occurrences: dict[tuple[str, str], int] = {}
    for comment in parsed.comments:
        if comment.external_id:
            comment_id = content_id("cmt", article_id, "ext", comment.external_id)
        else:
            who = normalise_name(comment.name)
            seen = occurrences[(who, comment.text)] = occurrences.get((who, comment.text), -1) + 1
            # the first occurrence keeps the id earlier versions gave it
            comment_id = (content_id("cmt", article_id, who, comment.text) if seen == 0
                          else content_id("cmt", article_id, who, comment.text, "occurrence", str(seen)))
        signed = comment.name is not None and not comment.withheld
        # Withheld and unsigned comments each count as their own person: merging them would invent one prolific
        # anonymous commenter.
        commenter_id = (
            content_id("who", normalise_name(comment.name), normalise_name(comment.place))
            if signed else content_id("who", comment_id)
        )
        comments.append({
            "comment_id": comment_id, "article_id": article_id, "source_id": source_id,
            "position": comment.position, "text": comment.text, "name": comment.name, "place": comment.place,
            "withheld": comment.withheld, "signature_raw": comment.signature_raw, "commenter_id": commenter_id,
            "published": comment.published, "date_raw": comment.date_raw, "external_id": comment.external_id,
            "parent_external_id": comment.parent_external_id, "truncated": comment.truncated,
        })
    return article, comments


def write_articles(ctx: StageContext, source_id: str, uri: str, articles: list[ParsedArticle], parser_id: str) -> int:
    """Write one source's articles and comments; returns the number of comments written.

    Comments this same source produced under an earlier parser (version) and that the new parse no longer
    yields are removed; comments that came from other sources of the same article are kept.
    """
    article_rows_, comment_rows = [], []
    for parsed in articles:
        article, comments = article_rows(source_id, uri, parsed, parser_id)
        article_rows_.append(article)
        comment_rows.extend(comments)
    comment_rows, collisions = distinct_comments(comment_rows)
    ctx.quarantine.report_many([{"stage": "parse", "uri": uri, **problem} for problem in collisions])
    frame = pd.DataFrame(comment_rows, columns=COMMENTS.column_names).astype(
        {"position": "int32", "withheld": "bool", "truncated": "bool"})
    if comment_rows:
        ctx.store.upsert("comments", frame)
    # An anti-join against the ids just written (a list_contains per row was quadratic: 28 s at 100k comments).
    ctx.store.con.register("_kept_comment_ids", frame[["comment_id"]])
    try:
        ctx.store.delete("comments", "source_id = ? AND comment_id NOT IN (SELECT comment_id FROM _kept_comment_ids)",
                         [source_id])
    finally:
        ctx.store.con.unregister("_kept_comment_ids")
    if article_rows_:
        articles_frame = pd.DataFrame(article_rows_, columns=ARTICLES.column_names).drop_duplicates(
            "article_id", keep="first")
        ctx.store.upsert("articles", _keep_known_fields(ctx, articles_frame))
    return int(frame["comment_id"].nunique())


def distinct_comments(comment_rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Comment rows with one row per comment id (the first), and a problem for each later row that had another
    text under the same id: two articles of one source that resolve to one article (titles equal once
    normalised) with the same comment ids. Without this the store's upsert would keep the last, silently."""
    kept: dict[str, dict] = {}
    problems = []
    for row in comment_rows:
        first = kept.setdefault(row["comment_id"], row)
        if first is not row and first["text"] != row["text"]:
            problems.append({
                "item_ref": f"comment {row['position']}", "reason": "duplicate_id",
                "detail": f"comment {row['position']} ({row['text'][:40]!r}) has the id of an earlier comment of the "
                          f"same article ({first['text'][:40]!r}; external id {row['external_id']!r}); skipped"})
    return list(kept.values()), problems


_FILLABLE = ("title", "published", "date_raw", "byline", "body", "url", "external_id")


def _keep_known_fields(ctx: StageContext, incoming: pd.DataFrame) -> pd.DataFrame:
    """Fields a source leaves empty keep what an earlier source said about the same article.

    A comment export knows an article's URL and title but not its body; it must not blank the body a scraped
    page of that article gave.
    """
    stored = ctx.store.query(
        f"SELECT article_id, {', '.join(_FILLABLE)} FROM articles WHERE list_contains(?::VARCHAR[], article_id)",
        [incoming["article_id"].tolist()],
    ).set_index("article_id")
    if stored.empty:
        return incoming
    merged = incoming.set_index("article_id")
    for field in _FILLABLE:
        empty = merged[field].isna() | (merged[field].astype(str).str.strip() == "")
        fill = stored[field].reindex(merged.index)
        merged[field] = merged[field].where(~empty | fill.isna(), fill)
    return merged.reset_index()[ARTICLES.column_names]


def _mark(ctx: StageContext, source_id: str, parser_id: str, status: str, n_articles: int, n_comments: int) -> None:
    ctx.store.upsert("source_parses", pd.DataFrame([{
        "source_id": source_id, "parser_id": parser_id, "status": status, "n_articles": n_articles,
        "n_comments": n_comments, "parsed_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }]))
