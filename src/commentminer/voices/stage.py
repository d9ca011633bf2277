"""Voices stage: article bodies -> `units` of kind "quote" (people quoted with their role and place).

Reads `articles` (body) and `units` (to see what is done); writes `units` with kind = 'quote', comment_id null,
char_start/char_end into articles.body, speaker/role/place, and segmenter_id = the extractor id. The regions
stage then resolves each quote unit's place, so quoted voices count towards regions like signed comments.

Incremental like the segment stage: an article that already has quote units from the current extractor is
skipped; quote units of another extractor id are replaced when the article is re-read. Every article read is
recorded in `voices_read` (with the number of voices found), so one in which no voice is found is not read again
either (and a re-run with no new article does not load the extractor's spaCy pipeline).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from .. import registry
from ..context import StageContext
from ..errors import BackendError
from ..ids import content_id, sha256_text
from ..schema import UNITS
from .base import Voice

READS = ("articles", "units", "voices_read")
WRITES = ("units", "voices_read")
BATCH_SIZE = 50  # articles per write


def build_extractor(ctx: StageContext):
    """The configured voice extractor, checking places with the configured region resolver."""
    cfg = ctx.config.voices
    from ..regions.stage import build_resolver

    resolver = build_resolver(ctx.config.regions.backend, ctx.config.regions.extra_gazetteer)
    return registry.create("voices", cfg.backend, model=cfg.model, max_chars=cfg.max_chars, resolver=resolver)


def _pending_articles(ctx: StageContext, extractor_id: str) -> pd.DataFrame:
    return ctx.store.query(
        """
        SELECT a.article_id, a.uri, a.body FROM articles a
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.article_id = a.article_id AND u.kind = 'quote'
                          AND u.segmenter_id = ?)
          AND NOT EXISTS (SELECT 1 FROM voices_read r WHERE r.article_id = a.article_id AND r.extractor_id = ?)
        ORDER BY a.article_id
        """,
        [extractor_id, extractor_id],
    )


def units_for(article_id: str, body: str, voices: list[Voice], extractor_id: str) -> list[dict]:
    """Quote-unit rows for one article's voices (positions in text order; one unit per span)."""
    rows: list[dict] = []
    seen: set[tuple[int, int]] = set()
    for voice in sorted(voices, key=lambda v: (v.start, v.end)):
        if (voice.start, voice.end) in seen:
            continue
        seen.add((voice.start, voice.end))
        text = body[voice.start : voice.end]
        rows.append({
            "unit_id": content_id("unit", article_id, "quote", voice.start, voice.end),
            "kind": "quote",
            "article_id": article_id,
            "comment_id": None,
            "position": len(rows),
            "text": text,
            "char_start": voice.start,
            "char_end": voice.end,
            "text_hash": sha256_text(text),
            "speaker": voice.speaker,
            "role": voice.role,
            "place": voice.place,
            "segmenter_id": extractor_id,
        })
    return rows


def _extract(ctx: StageContext, extractor, batch: pd.DataFrame, bodies: list[str]) -> list[list[Voice]]:
    """Voices per body; if the batch fails, retry article by article and quarantine the ones that fail.

    A missing model (BackendError) is not an item error: it stops the stage with its one-line message.
    """
    try:
        return extractor.extract(bodies)
    except BackendError:
        raise
    except Exception:
        pass
    voices: list[list[Voice]] = []
    for article_id, uri, body in zip(batch["article_id"], batch["uri"], bodies):
        try:
            voices.append(extractor.extract([body])[0])
        except BackendError:
            raise
        except Exception as exc:
            ctx.quarantine.report("voices", uri if isinstance(uri, str) and uri else article_id, "voices_failed",
                                  f"quoted voices could not be extracted ({type(exc).__name__}: {exc})",
                                  item_ref=f"article {article_id}")
            voices.append([])
    return voices


def run(ctx: StageContext) -> dict:
    """Find quoted voices in every article not yet read by the configured extractor; returns counts."""
    if not ctx.config.voices.enabled:
        return {"articles_read": 0, "voices_written": 0, "disabled": True}
    extractor = build_extractor(ctx)
    extractor_id = extractor.extractor_id
    articles = _pending_articles(ctx, extractor_id)
    # Quote units of another extractor exist only after a change of extractor; without any, none are stale.
    stale = len(articles) > 0 and ctx.store.count("units", "kind = 'quote' AND segmenter_id <> ?", [extractor_id]) > 0
    n_voices = 0
    for batch in ctx.batches(articles, BATCH_SIZE, desc="voices", unit="article"):
        bodies = batch["body"].fillna("").tolist()
        voices = _extract(ctx, extractor, batch, bodies)
        rows = [row for article_id, body, found in zip(batch["article_id"], bodies, voices)
                for row in units_for(article_id, body, found, extractor_id)]
        if stale:
            ctx.store.delete("units", "kind = 'quote' AND segmenter_id <> ? "
                             "AND article_id IN (SELECT unnest(?::VARCHAR[]))",
                             [extractor_id, batch["article_id"].tolist()])
        ctx.store.upsert("units", pd.DataFrame(rows, columns=UNITS.column_names))
        ctx.store.upsert("voices_read", pd.DataFrame({
            "article_id": batch["article_id"].to_numpy(), "extractor_id": extractor_id,
            "n_voices": [sum(1 for row in rows if row["article_id"] == a) for a in batch["article_id"]],
            "read_at": datetime.now(timezone.utc).replace(tzinfo=None)}))
        n_voices += len(rows)
    return {
        "articles_read": len(articles),
        "voices_written": n_voices,
        "paragraphs_too_long": getattr(extractor, "skipped_long", 0),
        "quote_units_total": ctx.store.count("units", "kind = 'quote'"),
    }
