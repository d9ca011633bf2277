"""regions stage: resolve the place of every comment signature and quoted voice into the `regions` table.

Reads `comments` (place, withheld) and `units` (kind = 'quote' with a place); writes `regions`, one row per
subject and resolver_id. Incremental: subjects that already have a row for the current resolver_id are skipped,
so new comments cost only their own work and a rebuilt gazetteer (new resolver_id) re-resolves everything
without deleting the old rows (readers filter on the resolver_id they want).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd

from .. import registry
from ..config import resolve_data_path
from ..errors import ConfigError
from ..context import StageContext, batched
from ..schema import REGIONS
from .base import Resolution

READS = ("comments", "units", "regions")
WRITES = ("regions",)
BATCH_SIZE = 5000

# Subjects still without a row for this resolver. NOT EXISTS keeps the work in DuckDB (no full read of regions).
_PENDING_SQL = """
WITH subjects AS (
    SELECT 'comment' AS subject_kind, comment_id AS subject_id, place, coalesce(withheld, FALSE) AS withheld
    FROM comments WHERE ? OR NOT coalesce(truncated, FALSE)  -- cut off by the page: [segment] analyse_truncated
    UNION ALL
    SELECT 'unit', unit_id, place, FALSE FROM units WHERE kind = 'quote' AND place IS NOT NULL
)
SELECT s.subject_kind, s.subject_id, s.place, s.withheld FROM subjects s
WHERE NOT EXISTS (
    SELECT 1 FROM regions r
    WHERE r.resolver_id = ? AND r.subject_kind = s.subject_kind AND r.subject_id = s.subject_id
)
ORDER BY s.subject_kind, s.subject_id
"""
_TOTAL_SQL = ("SELECT (SELECT count(*) FROM comments WHERE ? OR NOT coalesce(truncated, FALSE)) "
              "+ (SELECT count(*) FROM units WHERE kind = 'quote' AND place IS NOT NULL) AS n")


def _place(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def build_resolver(backend: str, extra_gazetteer: str | Path | None = None):
    """The configured place resolver; `extra_gazetteer` ([regions] extra_gazetteer, resolved with
    `resolve_data_path`) adds the user's place -> region table to a resolver that takes one."""
    if extra_gazetteer and str(extra_gazetteer):
        accepted = inspect.signature(registry.resolve("regions", backend)).parameters
        if "extra" not in accepted:
            raise ConfigError(f"[regions] extra_gazetteer is set but backend '{backend}' takes no extra table")
        return registry.create("regions", backend, extra=resolve_data_path(extra_gazetteer))
    return registry.create("regions", backend)


def run(ctx: StageContext) -> dict[str, int]:
    """Resolve pending subjects and upsert their `regions` rows.

    Returns {"resolved": n, "unresolved": n, "skipped_existing": n} (resolved/unresolved count this run only).
    """
    resolver = build_resolver(ctx.config.regions.backend, ctx.config.regions.extra_gazetteer)
    resolver_id = resolver.resolver_id
    include_truncated = ctx.config.segment.analyse_truncated
    pending = ctx.store.query(_PENDING_SQL, [include_truncated, resolver_id])
    # via store.query (a DataFrame): a bare fetchone() leaves a pending result that blocks the next write
    total = int(ctx.store.query(_TOTAL_SQL, [include_truncated])["n"].iloc[0])
    counts = {"resolved": 0, "unresolved": 0, "skipped_existing": total - len(pending)}
    cache: dict[tuple[str | None, bool], Resolution] = {}  # many commenters share a place: resolve it once
    records = pending.to_dict("records")
    for batch in ctx.progress(batched(records, BATCH_SIZE), total=-(-len(records) // BATCH_SIZE), desc="regions", unit="batch"):
        rows = []
        for item in batch:
            place, withheld = _place(item["place"]), bool(item["withheld"])
            key = (place, withheld)
            if key not in cache:
                try:
                    cache[key] = resolver.resolve(place, withheld=withheld)
                except Exception as exc:  # a resolver bug on one odd string must not stop the run
                    ctx.quarantine.report("regions", f"{item['subject_kind']}:{item['subject_id']}", "resolve_failed",
                                          f"place {place!r} could not be resolved ({type(exc).__name__}: {exc})")
                    continue
            res = cache[key]
            counts["resolved" if res.region else "unresolved"] += 1
            rows.append({
                "subject_kind": item["subject_kind"], "subject_id": item["subject_id"], "resolver_id": resolver_id,
                "place_raw": place, "region": res.region, "matched_name": res.matched_name, "method": res.method,
                "confidence": float(res.confidence), "reason": res.reason, "ambiguous": bool(res.ambiguous),
            })
        if rows:
            ctx.store.upsert("regions", pd.DataFrame(rows, columns=REGIONS.column_names))
    return counts
