"""The themed units as the themes stage holds them, and the arithmetic it does on them a chunk at a time.

Which units are themed (`units_sql`), reading them (`load_units`: ids, quote priority and the vectors as stored,
float16; `iter_texts` / `texts_at`: texts only when needed), per-theme sums, centroids and cosines over chunks of
float32 rows (`group_sums`, `own_cosine`), and the seeded per-theme sample that labels and summaries are computed
from (`ThemeSample`), and a run's per-theme counts (`theme_counts`, SQL over unit_themes). Memory stays bounded by
the vectors as stored plus a few numbers a unit (stage.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..context import StageContext
from ..errors import CommentminerError
from ..store.vectors import FLOAT16, iter_vector_chunks
from .quotes import unit_priority


def placeholders(values: list) -> str:
    """"?, ?, ..." for an SQL IN list of `values`."""
    return ", ".join("?" for _ in values)


# An article unit overlapping a quote unit of the same article (quote units span one or more article sentences).
COVERED_BY_QUOTE = (
    "(u.kind = 'article' AND EXISTS (SELECT 1 FROM units q WHERE q.kind = 'quote' AND q.article_id = u.article_id "
    "AND q.char_start < u.char_end AND u.char_start < q.char_end))"
)


def units_sql(unit_kinds: list[str], columns: str, joins: str = "", ordered: bool = True) -> str:
    """SELECT `columns` of the themed units (`u`; `joins` may add tables), in unit_id order unless `ordered` is
    false (a subquery needs no sort). Its parameters: those of `joins`, then `unit_kinds`.

    When quoted voices are themed, an article sentence that a quote unit covers is left out: the quote unit
    stands for it (with its speaker and place), so the sentence is not counted twice.
    """
    covered = COVERED_BY_QUOTE if "quote" in unit_kinds else "false"
    return (f"SELECT {columns} FROM units u {joins} WHERE u.kind IN ({placeholders(unit_kinds)}) "
            f"AND NOT {covered}" + (" ORDER BY u.unit_id" if ordered else ""))


@dataclass
class Units:
    """The themed units in unit_id order, as the stage holds them: no texts (read when needed, `iter_texts`), and
    the vectors as stored (float16: 768 bytes a unit; float32 only a chunk at a time, `row_blocks`)."""

    unit_ids: np.ndarray   # (n,) str objects
    vectors: np.ndarray    # (n, dim) float16
    priority: np.ndarray   # (n,) quote priority tier (quotes.unit_priority)

    def __len__(self) -> int:
        return len(self.unit_ids)


def load_units(ctx: StageContext, unit_kinds: list[str], model_id: str, chunk_rows: int = 25_000) -> Units:
    """The units of `unit_kinds` (see `units_sql`) with their vectors for `model_id`, read `chunk_rows` at a time.

    Raises CommentminerError when some units have no vector for `model_id` (themes on a subset would silently
    undercount).
    """
    params = [model_id, *unit_kinds]
    sql = units_sql(unit_kinds, "u.unit_id, u.kind, (c.name IS NOT NULL OR u.speaker IS NOT NULL) AS attributed, "
                    "e.vector", "LEFT JOIN comments c ON c.comment_id = u.comment_id "
                    "LEFT JOIN embeddings e ON e.text_hash = u.text_hash AND e.model_id = ?")
    n = int(ctx.store.con.execute(f"SELECT count(*) FROM ({units_sql(unit_kinds, 'u.unit_id')})",
                                  unit_kinds).fetchall()[0][0])
    unit_ids, priority = np.empty(n, dtype=object), np.empty(n, dtype=np.int64)
    vectors, start, missing = None, 0, 0
    for frame, matrix, has in iter_vector_chunks(ctx.store, sql, params, chunk_rows=chunk_rows):
        stop = start + len(frame)
        unit_ids[start:stop] = frame.unit_id.to_numpy()
        priority[start:stop] = unit_priority(frame.kind.tolist(), frame.attributed.tolist())
        missing += int(np.sum(~has))
        if not missing:
            if vectors is None:
                vectors = np.empty((n, matrix.shape[1]), FLOAT16)
            vectors[start:stop] = matrix   # float16 values read as float32: stored back exactly
        start = stop
    if missing:
        raise CommentminerError(
            f"themes: {missing} of {n} units have no embedding for model '{model_id}'; run the embed stage first"
        )
    return Units(unit_ids, vectors if vectors is not None else np.zeros((0, 0), FLOAT16), priority)


def iter_texts(ctx: StageContext, unit_kinds: list[str], chunk_rows: int) -> Iterator[list[str]]:
    """The themed units' texts in `load_units`' order, at most `chunk_rows` at a time."""
    result = ctx.store.con.cursor().sql(units_sql(unit_kinds, "u.text"), params=list(unit_kinds))
    for batch in result.to_arrow_reader(chunk_rows):
        if len(batch):
            yield batch.column(0).to_pylist()


def texts_at(ctx: StageContext, unit_kinds: list[str], positions: np.ndarray, chunk_rows: int) -> list[str]:
    """The texts of the units at sorted `positions` (indices into `load_units`' order), read in chunks: only
    these are kept."""
    out: list[str] = []
    start = 0
    for texts in iter_texts(ctx, unit_kinds, chunk_rows):
        lo, hi = np.searchsorted(positions, [start, start + len(texts)])
        out += [texts[i - start] for i in positions[lo:hi]]
        start += len(texts)
    return out


def float32_rows(block: np.ndarray) -> np.ndarray:
    """Stored (float16) vectors as float32: every conversion goes through here, a chunk or a sample at a time."""
    return np.asarray(block, dtype=np.float32)


def row_blocks(vectors: np.ndarray, chunk_rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start, float32 rows start..start + chunk_rows) over `vectors`."""
    for start in range(0, len(vectors), chunk_rows):
        yield start, float32_rows(vectors[start : start + chunk_rows])


def group_sums(vectors: np.ndarray, labels: np.ndarray, k: int, chunk_rows: int) -> np.ndarray:
    """(k, dim) float64 sum of the vectors of each label 0..k-1 (other labels left out), over chunks.

    Exact whatever the chunking: float16 values are multiples of 2^-24 of magnitude at most 1, so float64 holds
    any sum of fewer than 2^29 of them without rounding.
    """
    sums = np.zeros((k, vectors.shape[1] if vectors.ndim == 2 else 0))
    for start, block in row_blocks(vectors, chunk_rows):
        lab = labels[start : start + len(block)]
        keep = np.flatnonzero((lab >= 0) & (lab < k))
        if len(keep):
            member = sparse.csr_matrix((np.ones(len(keep)), (lab[keep], keep)), shape=(k, len(block)))
            sums += member @ block.astype(np.float64)
    return sums


def members_of(labels: np.ndarray, k: int) -> list[np.ndarray]:
    """Sorted positions of each label 0..k-1 (one sort, not k passes over every unit)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    return [order[bounds[t] : bounds[t + 1]] for t in range(k)]


def normalised(sums: np.ndarray) -> np.ndarray:
    """Rows of `sums` scaled to unit length (quotes.centroid of each group); zero rows stay zero."""
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)


def own_cosine(vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray, chunk_rows: int) -> np.ndarray:
    """Cosine of each unit to row `labels[i]` of `centroids` (nan where the label is negative), over chunks."""
    out = np.full(len(vectors), np.nan)
    for start, block in row_blocks(vectors, chunk_rows):
        lab = labels[start : start + len(block)]
        ok = np.flatnonzero(lab >= 0)
        out[start + ok] = np.einsum("ij,ij->i", block[ok].astype(np.float64), centroids[lab[ok]])
    return out


class ThemeSample:
    """A seeded sample of each theme's units for labels and summaries, `budget` units in all.

    Every theme gets up to the same number of units (`cap`: the largest that keeps the total within `budget`;
    a smaller theme counts whole), the ones with the lowest seeded random key. With at most `budget` units, every
    unit is in it. `within(members)` takes the same rule to a union of themes (a parent): its units are all in
    the sample, since a unit among the `cap` lowest keys of the union is among the `cap` lowest of its own theme.
    """

    def __init__(self, assignments: np.ndarray, budget: int, seed: int):
        n = len(assignments)
        self.key = np.random.default_rng(seed).random(n) if n > budget else None
        if self.key is None:
            self.cap, self.positions = n, np.arange(n)
            return
        themes, inverse, sizes = np.unique(assignments, return_inverse=True, return_counts=True)
        self.cap = _water_level(sizes, budget)
        order = np.lexsort((self.key, inverse))                    # by theme, then key
        rank = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        self.positions = np.sort(order[rank < self.cap])

    def within(self, members: np.ndarray) -> np.ndarray:
        """Sorted sample of the units at `members` (sorted positions; all in this sample) by the same rule."""
        if self.key is None or len(members) <= self.cap:
            return members
        return np.sort(members[np.argsort(self.key[members], kind="stable")[: self.cap]])


def _water_level(sizes: np.ndarray, budget: int) -> int:
    """The largest cap >= 1 with sum(min(sizes, cap)) <= budget (1 when even that exceeds it)."""
    lo, hi = 1, int(sizes.max())
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if np.minimum(sizes, mid).sum() <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


# Member units of a run's themes, and the three counts the themes table keeps (incremental.py counts the same way).
THEME_MEMBERS = "ut JOIN units u ON u.unit_id = ut.unit_id LEFT JOIN comments c ON c.comment_id = u.comment_id"
THEME_COUNTS = ("count(*) AS n_units, count(DISTINCT u.comment_id) AS n_comments, "
                "count(DISTINCT c.commenter_id) AS n_commenters")


def theme_counts(ctx: StageContext, group_of: dict[int, int] | None = None) -> dict[int, dict]:
    """theme id -> n_units, n_comments, n_commenters of this run's unit_themes (in DuckDB); with `group_of`
    (leaf id -> parent id), of the parents instead."""
    if group_of is None:
        frame = ctx.store.query(f"SELECT ut.theme_id, {THEME_COUNTS} FROM unit_themes {THEME_MEMBERS} "
                                "WHERE ut.run_id = ? GROUP BY ut.theme_id", [ctx.run_id])
    else:
        groups = pd.DataFrame({"leaf": list(group_of), "parent": list(group_of.values())})
        ctx.store.con.register("_theme_groups", groups)
        try:
            frame = ctx.store.query(
                f"SELECT g.parent AS theme_id, {THEME_COUNTS} FROM unit_themes {THEME_MEMBERS} "
                "JOIN _theme_groups g ON g.leaf = ut.theme_id WHERE ut.run_id = ? GROUP BY g.parent", [ctx.run_id])
        finally:
            ctx.store.con.unregister("_theme_groups")
    return {int(r.theme_id): {"n_units": int(r.n_units), "n_comments": int(r.n_comments),
                              "n_commenters": int(r.n_commenters)} for r in frame.itertuples()}
