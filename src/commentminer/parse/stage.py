"""Parse stage: `sources` -> `articles` + `comments`, with the configured parser ([parse] backend).

Reads sources that have no article from this parser yet, so re-running parses only new sources (and retries
ones that failed before). Per source the comments are written first and the article row last: the article row
marks the source as parsed, so a crash in between means the source is simply parsed again next time.
Page-level failures (InputError) and problems inside a page (unsigned comment, no signatures, truncation) go to
the quarantine with stage "parse".
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from .. import registry
from ..context import StageContext, batched
from ..errors import InputError
from ..ids import content_id, normalise_name
from ..schema import ARTICLES, COMMENTS
from .base import ParsedArticle, Parser

_BATCH_SOURCES = 100  # raw texts held in memory at once


def run(ctx: StageContext) -> dict:
    """Parse every source not yet parsed by the configured parser. Returns counts of what was done."""
    parser: Parser = registry.create("parse", ctx.config.parse.backend,
                                     max_comment_chars=ctx.config.parse.max_comment_chars)
    recorded_before = ctx.quarantine.recorded
    stats = {"sources_parsed": 0, "sources_failed": 0, "articles": 0, "comments": 0, "quarantined": 0}
    pending = ctx.store.query(
        "SELECT source_id FROM sources s WHERE NOT EXISTS "
        "(SELECT 1 FROM articles a WHERE a.source_id = s.source_id AND a.parser_id = ?) ORDER BY uri, source_id",
        [parser.parser_id],
    )["source_id"].tolist()
    for source in ctx.progress(_read_sources(ctx, pending), total=len(pending), desc="parse", unit="page"):
        try:
            parsed = parser.parse(source.raw_text, source.uri)
        except InputError as exc:
            stats["sources_failed"] += 1
            ctx.quarantine.report(stage="parse", uri=source.uri, reason=exc.reason, detail=exc.problem)
            continue
        # Problems are reported before writing: under policy "raise" nothing of the page is stored, so a
        # re-run meets the same problem again instead of skipping an already-written source.
        for problem in parsed.problems:
            ctx.quarantine.report(stage="parse", uri=source.uri, reason=problem.reason, detail=problem.detail,
                                  item_ref=problem.item_ref)
        n_comments = _write(ctx, source.source_id, source.uri, parsed, parser.parser_id)
        stats["sources_parsed"] += 1
        stats["articles"] += 1
        stats["comments"] += n_comments
    stats["quarantined"] = ctx.quarantine.recorded - recorded_before
    return stats


def _read_sources(ctx: StageContext, source_ids: list[str]) -> Iterator:
    """(source_id, uri, raw_text) rows, read from the store a batch at a time to bound memory."""
    for id_batch in batched(source_ids, _BATCH_SOURCES):
        yield from ctx.store.query(
            "SELECT source_id, uri, raw_text FROM sources WHERE list_contains(?::VARCHAR[], source_id) "
            "ORDER BY uri, source_id",
            [id_batch],
        ).itertuples(index=False)


def article_rows(source_id: str, uri: str, parsed: ParsedArticle, parser_id: str) -> tuple[dict, list[dict]]:
    """The `articles` row and `comments` rows for one parsed page (ids derived from content)."""
    article_id = content_id("art", source_id)
    article = {
        "article_id": article_id,
        "source_id": source_id,
        "uri": uri,
        "title": parsed.title,
        "published": parsed.published,
        "date_raw": parsed.date_raw,
        "byline": parsed.byline,
        "body": parsed.body,
        "parser_id": parser_id,
    }
    comments = []
    for comment in parsed.comments:
        comment_id = content_id("cmt", article_id, comment.position, comment.text)
        signed = comment.name is not None and not comment.withheld
        # Withheld and unsigned comments each count as their own person: merging them would invent one prolific
        # anonymous commenter.
        commenter_id = (
            content_id("who", normalise_name(comment.name), normalise_name(comment.place))
            if signed else content_id("who", comment_id)
        )
        comments.append({
            "comment_id": comment_id,
            "article_id": article_id,
            "position": comment.position,
            "text": comment.text,
            "name": comment.name,
            "place": comment.place,
            "withheld": comment.withheld,
            "signature_raw": comment.signature_raw,
            "commenter_id": commenter_id,
            "published": comment.published,
        })
    return article, comments


def _write(ctx: StageContext, source_id: str, uri: str, parsed: ParsedArticle, parser_id: str) -> int:
    """Write one page: comments, then drop comments a previous parse left behind, then the article row."""
    article, comments = article_rows(source_id, uri, parsed, parser_id)
    if comments:
        ctx.store.upsert("comments", pd.DataFrame(comments, columns=COMMENTS.column_names).astype(
            {"position": "int32", "withheld": "bool"}))
    # A different parser (version) may have split the page differently; its comments must not linger.
    ctx.store.delete("comments", "article_id = ? AND NOT list_contains(?::VARCHAR[], comment_id)",
                     [article["article_id"], [c["comment_id"] for c in comments]])
    ctx.store.upsert("articles", pd.DataFrame([article], columns=ARTICLES.column_names))
    return len(comments)
