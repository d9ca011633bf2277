"""Incremental themes: new units go into the last fit's themes by nearest centroid, with no re-fit.

A run whose theme settings, guided-themes file and embedding model are those of the last themed run copies that
run's themes (labels, keywords, summaries, quotes, stable ids) and unit assignments, places the units that are
new since then into the nearest theme centroid (or "other" below the theme's cut-off, `cutoffs`), and recomputes the
counts in DuckDB. Only the new units' vectors are read, and no theme model, spaCy or labeller is loaded, so adding
1% of comments costs about 1% of the work.

A full re-fit runs instead (and `place_new_units` says why) when:
- there is no earlier themed run, or `[themes] refit = true` (`--refit`);
- the settings that shape the fit changed (every [themes] key but the refit ones, the guided file, the model);
- the share of new units in "other" exceeds the last fit's "other" share by more than `refit_other_rise`
  (checked once at least MIN_UNITS_FOR_OTHER_CHECK units are new);
- the units added or removed since the last full fit reach `refit_unseen_share` of all themed units (drift).

Every run writes a `theme_runs` row (mode, the fit it rests on, the counts above), and its stats name the themes
that grew (units before and after) for the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from ..aggregate.growth import grown_since
from ..context import StageContext
from ..errors import CommentminerError
from ..ids import sha256_text
from ..store.vectors import iter_vector_chunks
from .base import OUTLIER_THEME

# Below this many new units the "other" share is too noisy to trigger a re-fit (a 5-unit batch is 0% or 20%).
MIN_UNITS_FOR_OTHER_CHECK = 20
# Keys of [themes] that decide when to re-fit or how much memory a step takes, not what a fit gives: changing
# them never forces a re-fit.
REFIT_KEYS = ("refit", "refit_other_rise", "refit_unseen_share", "chunk_rows")
LEAF_KINDS = ("guided", "discovered")


@dataclass
class Outcome:
    """What `place_new_units` did: `stats` when this run's themes are written, else `reason` for a full fit."""

    stats: dict | None
    reason: str


def fit_key(cfg, guided: list, model_id: str) -> str:
    """Hash of what shapes a fit: the [themes] settings (but the refit keys), the guided themes, the model id."""
    settings = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in REFIT_KEYS}
    guided_part = [[g.name, list(g.seeds)] for g in guided]
    return sha256_text(json.dumps([settings, guided_part, model_id], sort_keys=True, default=str))[:16]


def themed_units_sql(kinds: list[str]) -> str:
    """SELECT unit_id, text_hash of the units the themes stage themes (`units.units_sql`, unsorted: a subquery)."""
    from .units import units_sql

    return units_sql(kinds, "u.unit_id, u.text_hash", ordered=False)


def latest_fit(ctx: StageContext) -> dict | None:
    """The `theme_runs` row of the latest other run whose themes are stored, as a dict (None if there is none)."""
    found = ctx.store.query(
        "SELECT * FROM theme_runs r WHERE r.run_id <> ? AND EXISTS (SELECT 1 FROM themes t WHERE t.run_id = r.run_id) "
        "ORDER BY r.created_at DESC, r.run_id DESC LIMIT 1", [ctx.run_id])
    return None if found.empty else found.iloc[0].to_dict()


def place_new_units(ctx: StageContext, cfg, guided: list, model_id: str) -> Outcome:
    """Write this run's themes incrementally from the latest themed run, or return why a full fit is needed."""
    previous = latest_fit(ctx)
    if previous is None:
        return Outcome(None, "first fit")
    if cfg.refit:
        return Outcome(None, "refit requested ([themes] refit / --refit)")
    if previous["fit_key"] != fit_key(cfg, guided, model_id):
        return Outcome(None, "theme settings, guided themes or embedding model changed since the last fit")
    prev_run = str(previous["run_id"])
    kinds = list(cfg.unit_kinds)
    themed = themed_units_sql(kinds)
    n_units = int(ctx.store.con.execute(f"SELECT count(*) FROM ({themed})", kinds).fetchall()[0][0])
    gone = int(ctx.store.con.execute(
        f"SELECT count(*) FROM unit_themes p WHERE p.run_id = ? AND p.unit_id NOT IN (SELECT unit_id FROM ({themed}))",
        [prev_run, *kinds]).fetchall()[0][0])
    new_sql = (f"SELECT n.unit_id, e.vector FROM ({themed}) n "
               "LEFT JOIN embeddings e ON e.text_hash = n.text_hash AND e.model_id = ? "
               "WHERE NOT EXISTS (SELECT 1 FROM unit_themes p WHERE p.run_id = ? AND p.unit_id = n.unit_id) "
               "ORDER BY n.unit_id")
    n_new = int(ctx.store.con.execute(f"SELECT count(*) FROM ({new_sql})", [*kinds, model_id, prev_run]).fetchall()[0][0])
    unseen = int(previous["unseen_units"] or 0) + n_new + gone
    if n_units and unseen / n_units >= cfg.refit_unseen_share:
        return Outcome(None, f"{unseen} of {n_units} units added or removed since the last fit "
                             f"(refit_unseen_share {cfg.refit_unseen_share})")
    centroids = ctx.store.query(
        f"SELECT theme_id, centroid FROM themes WHERE run_id = ? AND kind IN {LEAF_KINDS} ORDER BY theme_id",
        [prev_run])
    if centroids.empty:
        return Outcome(None, "the last fit has no themes to place units into")
    theme_ids = centroids.theme_id.to_numpy(np.int64)
    matrix = np.stack([np.asarray(c, np.float32) for c in centroids.centroid])
    cut = cutoffs(ctx, prev_run, theme_ids, cfg.other_threshold, cfg.other_spread)
    ids, themes, probability, other_sum, n_other = [], [], [], None, 0
    for frame, vectors, has in iter_vector_chunks(ctx.store, new_sql, [*kinds, model_id, prev_run],
                                                  chunk_rows=cfg.chunk_rows):
        if not has.all():
            raise CommentminerError(f"themes: {int((~has).sum())} new units have no embedding for model "
                                    f"'{model_id}'; run the embed stage first")
        chosen, cosine = nearest(vectors, matrix, theme_ids, cut)
        ids.append(frame.unit_id.to_numpy())
        themes.append(chosen)
        probability.append(cosine)
        other = chosen == OUTLIER_THEME
        if other.any():
            part = vectors[other].sum(axis=0, dtype=np.float64)
            other_sum = part if other_sum is None else other_sum + part
            n_other += int(other.sum())
    other_share_new = n_other / n_new if n_new else 0.0
    fit_other = float(previous["other_share_fit"] or 0.0)
    if n_new >= MIN_UNITS_FOR_OTHER_CHECK and other_share_new > fit_other + cfg.refit_other_rise:
        return Outcome(None, f"{other_share_new:.0%} of the new units fit no theme (last fit: {fit_other:.0%}; "
                             f"refit_other_rise {cfg.refit_other_rise})")
    new_rows = pd.DataFrame({
        "run_id": ctx.run_id,
        "unit_id": np.concatenate(ids) if ids else np.zeros(0, object),
        "theme_id": (np.concatenate(themes) if themes else np.zeros(0, np.int64)).astype(np.int32),
        "probability": np.concatenate(probability) if probability else np.zeros(0),
        "quote_rank": pd.array([None] * n_new, dtype="Int32"),
    })
    other_centroid = None if other_sum is None else other_sum / max(float(np.linalg.norm(other_sum)), 1e-12)
    _write(ctx, prev_run, themed, kinds, new_rows, other_centroid)
    stats = _stats(ctx, prev_run, previous, n_units, n_new, gone, other_share_new)
    record_run(ctx, "incremental", str(previous["fit_run_id"]), prev_run, str(previous["fit_key"]), model_id, n_units,
               int(previous["units_at_fit"] or 0), unseen, n_new, fit_other, other_share_new, "no refit needed")
    return Outcome(stats, "no refit needed")


def cutoffs(ctx: StageContext, run_id: str, theme_ids: np.ndarray, threshold: float, spread: float) -> np.ndarray:
    """Per theme of `theme_ids`: the cosine below which a new unit goes to "other", as the full fit's cut
    (`clustering.far_from_theme`) would have it.

    The fit sends a unit to "other" below `threshold` only when it is also `spread` standard deviations below its
    theme's mean cosine, so a loose theme keeps members under `threshold`. Its cut-off is read back as the lowest
    cosine among its members in `run_id` (their `probability`), capped at `threshold`: exact for tight themes,
    and for loose ones the fit's own cut up to the gap below its lowest kept member. Guided themes (whose
    probability is the seed similarity, not a centroid cosine) and a spread of 0 keep `threshold`.
    """
    cut = np.full(len(theme_ids), float(threshold))
    if spread <= 0 or not len(theme_ids):
        return cut
    lowest = ctx.store.query(
        "SELECT ut.theme_id, min(ut.probability) AS low FROM unit_themes ut JOIN themes t "
        "ON t.run_id = ut.run_id AND t.theme_id = ut.theme_id AND t.kind = 'discovered' "
        "WHERE ut.run_id = ? GROUP BY ut.theme_id", [run_id])
    low = dict(zip(lowest.theme_id.astype(np.int64), lowest.low.astype(float)))
    return np.array([min(float(threshold), low.get(int(t), float(threshold))) for t in theme_ids])


def nearest(vectors: np.ndarray, centroids: np.ndarray, theme_ids: np.ndarray,
            other_threshold: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(theme id, cosine) of each (L2-normalised) vector's nearest centroid; below `other_threshold` (one number,
    or one per theme: `cutoffs`) the theme is "other" (-1) and the probability 0, as after a full fit."""
    if len(vectors) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    cos = vectors.astype(np.float32, copy=False) @ centroids.T
    best = np.argmax(cos, axis=1)
    score = cos[np.arange(len(cos)), best].astype(np.float64)
    cut = np.broadcast_to(np.asarray(other_threshold, np.float64), (len(theme_ids),))[best]
    chosen = np.where(score >= cut, theme_ids[best], OUTLIER_THEME)
    return chosen, np.where(chosen == OUTLIER_THEME, 0.0, np.clip(score, 0.0, 1.0))


def _write(ctx: StageContext, prev_run: str, themed: str, kinds: list[str], new_rows: pd.DataFrame,
           other_centroid: np.ndarray | None) -> None:
    """This run's unit_themes (the kept rows of `prev_run` + `new_rows`) and themes (`prev_run`'s, recounted),
    and the registry's sizes, in one transaction."""
    from .units import THEME_COUNTS as counts, THEME_MEMBERS as member

    con, run_id = ctx.store.con, ctx.run_id
    with ctx.store.transaction():
        con.execute(
            "INSERT INTO unit_themes SELECT ?, p.unit_id, p.theme_id, p.probability, p.quote_rank FROM unit_themes p "
            f"WHERE p.run_id = ? AND p.unit_id IN (SELECT unit_id FROM ({themed}))", [run_id, prev_run, *kinds])
        ctx.store.upsert("unit_themes", new_rows, transaction=False)
        con.execute(
            f"""
            INSERT INTO themes
            WITH leaf AS (SELECT ut.theme_id, {counts} FROM unit_themes {member} WHERE ut.run_id = ? GROUP BY ut.theme_id),
                 parent AS (SELECT t.parent_id AS theme_id, {counts} FROM unit_themes {member}
                            JOIN themes t ON t.run_id = ? AND t.theme_id = ut.theme_id
                            WHERE ut.run_id = ? AND t.parent_id IS NOT NULL GROUP BY t.parent_id),
                 sizes AS (SELECT * FROM leaf UNION ALL SELECT * FROM parent)
            SELECT ?, t.theme_id, t.label, t.keywords, t.kind, s.n_units, s.n_comments, s.n_commenters, t.name,
                   t.parent_id, t.summary, t.summary_unit_ids, t.centroid, t.matched_similarity, t.focus, t.loose
            FROM themes t JOIN sizes s ON s.theme_id = t.theme_id
            WHERE t.run_id = ? AND s.n_units > 0
            """, [run_id, prev_run, run_id, run_id, prev_run])
        if other_centroid is not None and not con.execute(
                "SELECT 1 FROM themes WHERE run_id = ? AND theme_id = ?", [run_id, OUTLIER_THEME]).fetchall():
            # the last fit had no "other" theme; the new units that fit no theme start one
            n, n_comments, n_commenters = con.execute(
                f"SELECT {counts} FROM unit_themes {member} WHERE ut.run_id = ? AND ut.theme_id = ?",
                [run_id, OUTLIER_THEME]).fetchall()[0]
            ctx.store.upsert("themes", pd.DataFrame([{
                "run_id": run_id, "theme_id": OUTLIER_THEME, "label": "other", "keywords": [], "kind": "other",
                "n_units": n, "n_comments": n_comments, "n_commenters": n_commenters, "summary_unit_ids": [],
                "centroid": other_centroid.astype(float).tolist()}]), transaction=False)
        con.execute(
            "UPDATE theme_registry SET last_run = ?, n_units = t.n_units FROM themes t "
            "WHERE t.run_id = ? AND t.theme_id = theme_registry.theme_id", [run_id, run_id])


def grown_themes(ctx: StageContext, prev_run: str | None) -> list[dict]:
    """Themes of this run (leaf and "other") with more units than in `prev_run`, by stable id: theme_id, label,
    kind, before, after; largest growth first (aggregate.growth.grown_since)."""
    if prev_run is None:
        return []
    found = grown_since(ctx.store, ctx.run_id, prev_run)
    return [{"theme_id": int(r.theme_id), "label": str(r.label), "kind": str(r.kind), "before": int(r.before),
             "after": int(r.after)} for r in found.itertuples()]


def _stats(ctx: StageContext, prev_run: str, previous: dict, n_units: int, n_new: int, gone: int,
           other_share_new: float) -> dict:
    """The stage's stats for an incremental run (the keys of a full fit's, plus what this run placed)."""
    themes = ctx.store.query("SELECT theme_id, kind, n_units, loose FROM themes WHERE run_id = ?", [ctx.run_id])
    leaf = themes[themes.kind.isin(LEAF_KINDS)]
    other_units = int(themes.loc[themes.theme_id == OUTLIER_THEME, "n_units"].sum())
    return {
        "units": n_units, "themes": int(len(leaf)),
        "guided_themes": int((leaf.kind == "guided").sum()),
        "discovered_themes": int((leaf.kind == "discovered").sum()),
        "parent_themes": int((themes.kind == "parent").sum()),
        "loose_themes": int(leaf.loose.fillna(False).astype(bool).sum()),
        "guided_units": int(leaf.loc[leaf.kind == "guided", "n_units"].sum()),
        "other_units": other_units, "outlier_share": other_units / n_units if n_units else 0.0,
        "strategy": f"incremental: {n_new} new units by nearest centroid into the fit of {previous['fit_run_id']}",
        "changes": {"new": 0, "merged": 0, "split": 0, "gone": 0},
        "mode": "incremental", "fit_run_id": str(previous["fit_run_id"]), "previous_run_id": prev_run,
        "new_units": n_new, "gone_units": gone, "new_other_share": round(other_share_new, 4),
        "grew": grown_themes(ctx, prev_run), "embedding_model_id": str(previous["model_id"]),
    }


def record_run(ctx: StageContext, mode: str, fit_run_id: str, previous_run_id: str | None, key: str, model_id: str,
               n_units: int, units_at_fit: int, unseen: int, new_units: int, other_share_fit: float,
               other_share_new: float | None, reason: str) -> None:
    """This run's `theme_runs` row (written last: its presence says the run's themes are complete)."""
    ctx.store.upsert("theme_runs", pd.DataFrame([{
        "run_id": ctx.run_id, "mode": mode, "fit_run_id": fit_run_id, "previous_run_id": previous_run_id,
        "fit_key": key, "model_id": model_id,
        "n_units": n_units, "units_at_fit": units_at_fit, "unseen_units": unseen, "new_units": new_units,
        "other_share_fit": other_share_fit, "other_share_new": other_share_new, "reason": reason,
        "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}]))


def record_full_fit(ctx: StageContext, cfg, guided: list, model_id: str, stats: dict, reason: str) -> dict:
    """After a full fit: its `theme_runs` row, and the stats it adds (mode, reason, new units, themes that grew)."""
    previous = latest_fit(ctx)
    prev_run = None if previous is None else str(previous["run_id"])
    new_units = stats.get("units", 0)
    if prev_run is not None:
        new_units = int(ctx.store.con.execute(
            "SELECT count(*) FROM unit_themes ut WHERE ut.run_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM unit_themes p WHERE p.run_id = ? AND p.unit_id = ut.unit_id)",
            [ctx.run_id, prev_run]).fetchall()[0][0])
    record_run(ctx, "full", ctx.run_id, prev_run, fit_key(cfg, guided, model_id), model_id, stats.get("units", 0),
               stats.get("units", 0), 0, new_units, float(stats.get("outlier_share", 0.0)), None, reason)
    return {"mode": "full", "refit_reason": reason, "previous_run_id": prev_run, "new_units": new_units,
            "grew": grown_themes(ctx, prev_run)}
