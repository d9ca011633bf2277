"""themes stage: units + their embeddings from the store -> this run's themes, unit_themes and theme_changes.

Reads: units, embeddings, comments, theme_registry, themes (the previous run's). Writes: themes, unit_themes,
theme_changes (keyed by run_id; a re-run of the stage in the same run replaces that run's rows), theme_registry,
and embeddings (vectors of guided seed phrases, cached like unit vectors by text hash + model id).

Steps: guided themes from [themes] guided_path take the units close enough to them (guided.py); the theme model
clusters the rest into discovered themes; units far from their discovered theme's centroid go to "other" (-1);
ids come from the registry (tracking.py), labels and keywords from labels.py over all themes together (so
labels contrast guided and discovered themes alike), quotes, summaries and parent themes from quotes.py,
summary.py and hierarchy.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from ..context import StageContext
from ..errors import CommentminerError
from ..ids import sha256_text
from ..store.vectors import stack, vector_matrix  # vectors read from their buffers (float16 BLOBs), not per row
from .base import OUTLIER_THEME
from .clustering import far_from_theme
from .guided import assign_guided, guided_similarity, lexical_matches, load_guided
from .hierarchy import group_leaves, shared_phrases
from .labels import describe_themes
from .terms import regroup, term_statistics
from .pos import SpacyTagger
from .quotes import centroid, quotes_by_theme, unit_priority
from .summary import pick_summary
from .tracking import Known, change_log, match_ids

STAGE = "themes"


def embedding_model_id(ctx: StageContext, unit_kinds: list[str]) -> str:
    """The embedding model_id to theme with: the only one stored for these units' texts, or, when vectors of
    several models are stored (the embed model or its precision was changed: `run --fast` after `run`), the one
    the configured embedder writes. Otherwise pass `model_id` to `run` explicitly.
    """
    found = ctx.store.query(
        "SELECT e.model_id, count(DISTINCT u.unit_id) AS n FROM units u "
        "JOIN embeddings e ON e.text_hash = u.text_hash "
        f"WHERE u.kind IN ({_placeholders(unit_kinds)}) GROUP BY e.model_id ORDER BY e.model_id",
        list(unit_kinds),
    )
    if found.empty:
        raise CommentminerError(
            "themes: no embeddings found for the units (kinds "
            f"{', '.join(unit_kinds)}); run the embed stage first (`commentminer run` runs every stage)"
        )
    if len(found) > 1:
        from ..embed.stage import build_embedder  # the seed phrases' embedder too (see seed_vectors)

        configured = build_embedder(ctx).model_id
        if configured in set(found.model_id):
            return configured
        listing = ", ".join(f"{m} ({n} units)" for m, n in zip(found.model_id, found.n))
        raise CommentminerError(
            f"themes: embeddings of several models are stored ({listing}); pass the embed model_id to the themes stage"
        )
    return str(found.model_id.iloc[0])


# An article unit overlapping a quote unit of the same article (quote units span one or more article sentences).
COVERED_BY_QUOTE = (
    "(u.kind = 'article' AND EXISTS (SELECT 1 FROM units q WHERE q.kind = 'quote' AND q.article_id = u.article_id "
    "AND q.char_start < u.char_end AND u.char_start < q.char_end))"
)


def load_units(ctx: StageContext, unit_kinds: list[str], model_id: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Units of `unit_kinds` ordered by unit_id with commenter info, and their (n, dim) float32 vectors.

    When quoted voices are themed, an article sentence that a quote unit covers is left out: the quote unit
    stands for it (with its speaker and place), so the sentence is not counted twice.
    Raises CommentminerError when some units have no vector for `model_id` (themes on a subset would silently
    undercount).

    The rows come back as one Arrow table: the vectors are the BLOB column's data buffer viewed as (n, dim)
    (store.vectors.vector_matrix; no Python object per row), the other columns go to pandas as `Store.query` would.
    """
    sql = (
        "SELECT u.unit_id, u.kind, u.text, u.comment_id, u.speaker, c.name AS commenter_name, "
        "c.commenter_id, e.vector "
        "FROM units u LEFT JOIN comments c ON c.comment_id = u.comment_id "
        "LEFT JOIN embeddings e ON e.text_hash = u.text_hash AND e.model_id = ? "
        f"WHERE u.kind IN ({_placeholders(unit_kinds)}) AND NOT {COVERED_BY_QUOTE if 'quote' in unit_kinds else 'false'} "
        "ORDER BY u.unit_id"
    )
    con = ctx.store.con
    table = con.sql(sql, params=[model_id, *unit_kinds]).to_arrow_table()
    column = table.column("vector")
    missing = column.null_count
    if missing:
        raise CommentminerError(
            f"themes: {missing} of {len(table)} units have no embedding for model '{model_id}'; "
            "run the embed stage first"
        )
    vectors = vector_matrix(column) if len(table) else None
    table = table.drop_columns(["vector"])
    del column  # the float16 BLOBs are decoded: free them before pandas copies the other columns
    return con.from_arrow(table).df(), vectors


# The stage's steps, shown as one progress bar (ctx.progress) when [run] progress is on.
STEPS = ("load units", "guided themes", "clustering", "theme ids", "labels", "quotes and summaries",
         "parent themes", "write")


class _Steps:
    """A progress bar over STEPS through `ctx.progress`: `next()` as a step starts, `finish()` after the last one,
    `close()` in any case (a failed run closes the bar where it stopped)."""

    def __init__(self, ctx: StageContext):
        self._bar = ctx.progress(STEPS, total=len(STEPS), desc="themes", unit="step")

    def next(self) -> None:
        next(self._bar, None)

    def finish(self) -> None:
        for _ in self._bar:
            pass

    def close(self) -> None:
        self._bar.close()


def run(ctx: StageContext, model_id: str | None = None) -> dict:
    """Fit themes on the stored units and write this run's rows (see the module docstring).

    Returns stats: units, themes (guided + discovered), guided/discovered/parent counts, guided_units,
    other_share (share of units in "other"), strategy (of the discovered themes), changes, model ids, and from
    incremental.py: mode ("full" | "incremental"), new_units, grew (themes with more units than last run).
    """
    if not ctx.run_id:
        raise CommentminerError("themes: no run id in the stage context (themes are stored per run)")
    cfg = ctx.config.themes
    kinds = list(cfg.unit_kinds)
    guided = load_guided(ctx.config.path("themes.guided_path") if cfg.guided_path else "")
    n_units = ctx.store.count("units", f"kind IN ({_placeholders(kinds)})", kinds)
    _clear_run(ctx)
    if n_units == 0:  # nothing to theme is not an error (e.g. an empty ingest); still clear stale rows
        return {"units": 0, "themes": 0, "outlier_share": 0.0, "strategy": "empty"}
    # Incremental by default (incremental.py): new units go into the last fit's themes unless a re-fit is due.
    from .incremental import place_new_units, record_full_fit

    model_id = model_id or embedding_model_id(ctx, kinds)
    placed = place_new_units(ctx, cfg, guided, model_id)
    if placed.stats is not None:
        return placed.stats
    steps = _Steps(ctx)
    try:
        stats = _run(ctx, cfg, guided, model_id, steps)
    finally:
        steps.close()
    stats.update(record_full_fit(ctx, cfg, guided, model_id, stats, placed.reason))
    return stats


def _run(ctx: StageContext, cfg, guided: list, model_id: str, steps: _Steps) -> dict:
    steps.next()  # load units
    units, vectors = load_units(ctx, list(cfg.unit_kinds), model_id)
    texts = units.text.tolist()

    # 1. guided themes take the units close enough to them
    steps.next()
    local = np.full(len(units), OUTLIER_THEME, dtype=np.int64)     # local theme index, see `keys`
    similarity = np.zeros(len(units))
    keys: list[tuple[str, int]] = []                                 # local index -> (kind, index in kind)
    if guided:
        seed_vecs = seed_vectors(ctx, guided, model_id)
        lexical = lexical_matches(texts, guided)
        sims = guided_similarity(vectors, seed_vecs, cfg.guided_top_k, lexical, cfg.guided_lexical_bonus)
        g_assign, g_score = assign_guided(sims, cfg.guided_threshold)
        keys += [("guided", g) for g in range(len(guided))]
        local[g_assign >= 0] = g_assign[g_assign >= 0]
        similarity[g_assign >= 0] = g_score[g_assign >= 0]
    # 2. the theme model clusters the rest (spaCy's tagger for the labels loads meanwhile)
    steps.next()
    tagger = SpacyTagger(cfg.label_pos_model).preload() if cfg.label_pos_model else None
    rest = np.flatnonzero(local == OUTLIER_THEME)
    model = registry.resolve("themes", cfg.backend).from_config(cfg)
    # no copy when no unit went to a guided theme (a copy of every vector is 1.5 GB at a million units)
    rest_vectors = vectors if len(rest) == len(vectors) else vectors[rest] if len(rest) else np.zeros((0, 0), np.float32)
    if hasattr(model, "cluster"):  # the partition alone: this stage labels the final themes itself
        fit = model.cluster(rest_vectors, progress=ctx.progress)
    else:
        fit = model.fit([texts[i] for i in rest], rest_vectors)
    offset = len(keys)
    fitted = np.asarray(fit.assignments, dtype=np.int64)
    discovered_ids = sorted({int(t) for t in np.unique(fitted) if t != OUTLIER_THEME})
    keys += [("discovered", t) for t in discovered_ids]
    position = {t: offset + i for i, t in enumerate(discovered_ids)}
    found = fitted != OUTLIER_THEME
    local[rest[found]] = offset + np.searchsorted(discovered_ids, fitted[found])
    # 3. units that fit no discovered theme go to "other" (never forced)
    for t in discovered_ids:
        members = np.flatnonzero(local == position[t])
        cos = vectors[members] @ centroid(vectors[members])
        similarity[members] = cos
        local[members[far_from_theme(cos, cfg.other_threshold, cfg.other_spread)]] = OUTLIER_THEME
    present = [i for i in range(len(keys)) if np.any(local == i)]
    # 4. stable ids from the registry
    steps.next()
    known = load_registry(ctx)
    cents = np.stack([centroid(vectors[local == i]) for i in present]) if present else np.zeros((0, vectors.shape[1]))
    order = sorted(range(len(present)), key=lambda j: (keys[present[j]][0] != "guided", keys[present[j]][1]
                   if keys[present[j]][0] == "guided" else -int(np.sum(local == present[j])),
                   units.unit_id[local == present[j]].min()))
    p_kinds = [keys[present[j]][0] for j in order]
    p_keys = [f"guided:{guided[keys[present[j]][1]].name}" if p_kinds[n] == "guided" else None
              for n, j in enumerate(order)]
    ids, matched = match_ids(cents[order], p_kinds, p_keys, known, cfg.match_threshold)
    stable_of = {present[j]: ids[n] for n, j in enumerate(order)}
    lookup = np.full(len(keys) + 1, OUTLIER_THEME, dtype=np.int64)  # local index -> stable id; -1 stays -1
    for i, theme_id in stable_of.items():
        lookup[i] = theme_id
    assignments = lookup[local]
    info = {ids[n]: {"kind": p_kinds[n], "key": p_keys[n], "centroid": cents[j], "matched": matched[n],
                     "name": guided[keys[present[j]][1]].name if p_kinds[n] == "guided" else None,
                     "seeds": guided[keys[present[j]][1]].seeds if p_kinds[n] == "guided" else None}
            for n, j in enumerate(order)}
    # 5. labels (matched themes keep their registered label while it is still grounded), quotes, summaries
    steps.next()
    fixed = {k.theme_id: k.label for k in known if k.theme_id in info and k.label}
    ngram_range = tuple(cfg.ngram_range)
    stats = term_statistics(texts, assignments, ngram_range)   # phrases counted once, for leaves and parents
    forms: dict[str, str] = {}
    described = describe_themes(texts, assignments, ngram_range, cfg.top_n_words, cfg.label_max_df,
                                outlier=OUTLIER_THEME, fixed_labels=fixed, tagger=tagger,
                                seed_phrases={t: v["seeds"] for t, v in info.items() if v["seeds"]},
                                stats=stats, forms_cache=forms)
    steps.next()
    themes, unit_themes = to_rows(ctx.run_id, units, vectors, assignments, similarity, described, info, cfg)
    steps.next()
    parents = parent_rows(ctx.run_id, units, vectors, assignments, themes, known, cfg, tagger,
                          stats=stats, forms_cache=forms)
    if not parents.empty:
        parent_of = {c: int(p.theme_id) for p in parents.itertuples() for c in p.children}
        themes["parent_id"] = pd.array([parent_of.get(int(t)) for t in themes.theme_id], dtype="Int32")
        themes = pd.concat([themes, parents.drop(columns=["children"])], ignore_index=True)
    steps.next()
    ctx.store.upsert("themes", themes)
    ctx.store.upsert("unit_themes", unit_themes)
    changes = record_changes(ctx, themes, cfg.match_threshold)
    update_registry(ctx, themes, known)
    steps.finish()
    leaf = themes[themes.kind.isin(["guided", "discovered"])]
    return {
        "units": len(units),
        "themes": int(len(leaf)),
        "guided_themes": int((leaf.kind == "guided").sum()),
        "discovered_themes": int((leaf.kind == "discovered").sum()),
        "parent_themes": int((themes.kind == "parent").sum()),
        "guided_units": int(leaf.loc[leaf.kind == "guided", "n_units"].sum()),
        "guided_source": str(cfg.guided_path) if guided else "none",
        "other_units": int(np.sum(assignments == OUTLIER_THEME)),
        "outlier_share": float(np.mean(assignments == OUTLIER_THEME)),
        # "other" per level: leaves = units in no leaf theme; parents = units under no parent theme
        "other_share": {"leaves": float(np.mean(assignments == OUTLIER_THEME)),
                        "parents": _unparented_share(themes, assignments)},
        "strategy": fit.strategy,
        "changes": {c: int(sum(1 for x in changes if x["change"] == c)) for c in ("new", "merged", "split", "gone")},
        "theme_model_id": model.model_id,
        "embedding_model_id": model_id,
    }


def _unparented_share(themes: pd.DataFrame, assignments: np.ndarray) -> float:
    """Share of units in "other" or in a leaf theme that has no parent (the parent level's "other")."""
    if "parent_id" not in themes or not (themes.kind == "parent").any():
        return 1.0
    parented = themes.loc[themes.kind.isin(["guided", "discovered"]) & themes.parent_id.notna(), "theme_id"]
    return float(np.mean(~np.isin(assignments, parented.astype(int).to_numpy())))


def _clear_run(ctx: StageContext) -> None:
    # Replace, not merge: a re-fit can produce fewer themes, and stale theme rows must not survive.
    for table in ("unit_themes", "themes", "theme_changes"):
        ctx.store.delete(table, "run_id = ?", [ctx.run_id])


def seed_vectors(ctx: StageContext, guided: list, model_id: str) -> list[np.ndarray]:
    """(seeds, dim) vectors per guided theme, from the embeddings cache (text hash + model id) or embedded now.

    Seeds are embedded by the embed stage's configured embedder (`commentminer.embed.stage.build_embedder`: the
    one stage-to-stage import, for seed phrases only), so they share the units' vector space; a mismatch between
    its model id and the units' is an error rather than silently comparing two spaces.
    """
    texts = sorted({s for g in guided for s in g.seeds})
    hashes = {t: sha256_text(t) for t in texts}
    cached = ctx.store.query(
        f"SELECT text_hash, vector FROM embeddings WHERE model_id = ? AND text_hash IN ({_placeholders(texts)})",
        [model_id, *hashes.values()],
    )
    found = dict(zip(cached.text_hash, stack(cached.vector)))
    missing = [t for t in texts if hashes[t] not in found]
    if missing:
        from ..embed.stage import build_embedder

        embedder = build_embedder(ctx)
        if embedder.model_id != model_id:
            raise CommentminerError(
                f"themes: units are embedded with '{model_id}' but [embed] is now '{embedder.model_id}'; "
                "re-run the embed stage so guided seed phrases and units share one model"
            )
        vecs = np.asarray(embedder.embed(missing), np.float32)
        ctx.store.upsert("embeddings", pd.DataFrame({
            "text_hash": [hashes[t] for t in missing], "model_id": model_id, "dim": vecs.shape[1],
            "vector": [v.tolist() for v in vecs],
        }))
        found.update({hashes[t]: v for t, v in zip(missing, vecs)})
    return [np.stack([found[hashes[s]] for s in g.seeds]) for g in guided]


def load_registry(ctx: StageContext) -> list[Known]:
    frame = ctx.store.read("theme_registry", "true ORDER BY theme_id")
    return [Known(int(r.theme_id), str(r.kind), r.key if isinstance(r.key, str) else None, str(r.label or ""),
                  _vector(r.centroid))
            for r in frame.itertuples()]


def _vector(value) -> np.ndarray:
    """A stored FLOAT[] as a float64 array; null (a store written before centroids were kept) -> empty."""
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return np.zeros(0)
    return np.asarray(value, np.float64)


def previous_run(ctx: StageContext) -> str | None:
    """The latest other run with themes (by the runs table's start time, else by run id)."""
    found = ctx.store.query(
        "SELECT t.run_id FROM themes t LEFT JOIN runs r ON r.run_id = t.run_id WHERE t.run_id <> ? "
        "GROUP BY t.run_id ORDER BY max(r.started_at) DESC NULLS LAST, t.run_id DESC LIMIT 1", [ctx.run_id])
    return None if found.empty else str(found.iloc[0, 0])


def record_changes(ctx: StageContext, themes: pd.DataFrame, threshold: float) -> list[dict]:
    prev_id = previous_run(ctx)
    if prev_id is None:
        return []
    leaf_kinds = ("guided", "discovered")
    prev = ctx.store.query(
        "SELECT theme_id, kind, label, centroid FROM themes WHERE run_id = ? AND kind IN ('guided', 'discovered')",
        [prev_id])
    def known(frame):
        return [Known(int(r.theme_id), str(r.kind), None, str(r.label),
                      _vector(r.centroid)) for r in frame.itertuples()]
    changes = change_log(known(prev), known(themes[themes.kind.isin(leaf_kinds)]), threshold)
    if changes:
        ctx.store.upsert("theme_changes", pd.DataFrame([
            {"run_id": ctx.run_id, "seq": i, "previous_run_id": prev_id, **c} for i, c in enumerate(changes)]))
    return changes


def update_registry(ctx: StageContext, themes: pd.DataFrame, known: list[Known]) -> None:
    first = {k.theme_id for k in known}
    existing = ctx.store.read("theme_registry")
    first_run = dict(zip(existing.theme_id.astype(int), existing.first_run)) if len(existing) else {}
    rows = [{
        "theme_id": int(r.theme_id), "kind": r.kind,
        "key": f"guided:{r.name}" if r.kind == "guided" else None,
        "label": r.label, "centroid": list(r.centroid),
        "first_run": first_run.get(int(r.theme_id), ctx.run_id) if int(r.theme_id) in first else ctx.run_id,
        "last_run": ctx.run_id, "n_units": int(r.n_units),
    } for r in themes.itertuples() if r.kind != "other"]
    if rows:
        ctx.store.upsert("theme_registry", pd.DataFrame(rows))


def _counts(members: pd.DataFrame) -> dict:
    return {"n_units": int(len(members)), "n_comments": int(members.comment_id.dropna().nunique()),
            "n_commenters": int(members.commenter_id.dropna().nunique())}


def to_rows(
    run_id: str, units: pd.DataFrame, vectors: np.ndarray, assignments: np.ndarray, similarity: np.ndarray,
    described: dict, info: dict, cfg,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`themes` and `unit_themes` frames (schema columns) for the leaf themes and "other"."""
    attributed = (units.commenter_name.notna() | units.speaker.notna()).tolist()
    priority = unit_priority(units.kind.tolist(), attributed)
    quote_rank = np.full(len(units), np.nan)
    for quotes in quotes_by_theme(vectors, assignments, cfg.n_quotes, priority, skip=(OUTLIER_THEME,)).values():
        quote_rank[quotes] = np.arange(1, len(quotes) + 1)
    unit_themes = pd.DataFrame({
        "run_id": run_id,
        "unit_id": units.unit_id.to_numpy(),
        "theme_id": assignments.astype(np.int32),
        "probability": np.clip(np.where(assignments == OUTLIER_THEME, 0.0, similarity), 0.0, 1.0),
        "quote_rank": pd.array(quote_rank, dtype="Int32"),
    })
    texts = units.text.tolist()
    rows = []
    for theme_id in sorted(described):
        label, keywords = described[theme_id]
        mask = assignments == theme_id
        members = np.flatnonzero(mask)
        meta = info.get(theme_id, {})
        summary = pick_summary(vectors, members, texts, cfg.summary_sentences) if theme_id != OUTLIER_THEME else []
        rows.append({
            "run_id": run_id, "theme_id": int(theme_id), "label": label, "keywords": list(keywords),
            "kind": meta.get("kind", "other"), **_counts(units[mask]),
            "name": meta.get("name"), "parent_id": None,
            "summary": " ".join(texts[i] for i in summary) or None,
            "summary_unit_ids": [str(units.unit_id.iloc[i]) for i in summary],
            "centroid": centroid(vectors[members]).astype(float).tolist(),
            "matched_similarity": meta.get("matched"),
        })
    return pd.DataFrame(rows), unit_themes


def parent_rows(
    run_id: str, units: pd.DataFrame, vectors: np.ndarray, assignments: np.ndarray, themes: pd.DataFrame,
    known: list[Known], cfg, tagger=None, stats=None, forms_cache: dict | None = None,
) -> pd.DataFrame:
    """Parent themes over the leaf themes (kind "parent"), with a `children` column of leaf ids.

    `stats` (terms.term_statistics of the units' texts by leaf `assignments`) saves counting the phrases again:
    the parents' phrase counts are their leaves' added up (`regroup`). `forms_cache` as in `describe_themes`.
    """
    leaves = themes[themes.kind.isin(["guided", "discovered"])].sort_values("theme_id")
    if cfg.parent_fanout < 2 or len(leaves) == 0:
        return pd.DataFrame()
    leaf_ids = leaves.theme_id.astype(int).tolist()
    groups = group_leaves(np.stack([np.asarray(c, np.float64) for c in leaves.centroid]), cfg.parent_fanout)
    if not groups:
        return pd.DataFrame()
    children = [[leaf_ids[i] for i in g] for g in groups]
    cents = np.stack([centroid(vectors[np.isin(assignments, c)]) for c in children])
    taken = [Known(t, "taken", None, "", np.zeros(0)) for t in leaf_ids]  # this run's new leaf ids are in use
    ids, matched = match_ids(cents, ["parent"] * len(children), [None] * len(children), [*known, *taken],
                             cfg.match_threshold)
    parent_of = {leaf: pid for pid, group in zip(ids, children) for leaf in group}
    upper = np.array([parent_of.get(int(t), int(t)) for t in assignments])
    unparented = [t for t in leaf_ids if t not in parent_of]
    fixed = {k.theme_id: k.label for k in known if k.kind == "parent" and k.theme_id in ids and k.label}
    label_of = dict(zip(leaves.theme_id.astype(int), leaves.label))
    child_labels = [[label_of[c] for c in group] for group in children]
    shared = ({pid: shared_phrases(stats.support, stats.sizes, [stats.theme_ids.index(c) for c in group])
               for pid, group in zip(ids, children)} if stats is not None else None)
    described = describe_themes(units.text.tolist(), upper, tuple(cfg.ngram_range), cfg.top_n_words,
                                cfg.label_max_df, outlier=OUTLIER_THEME, fixed_labels=fixed, skip=unparented,
                                tagger=tagger, avoid_labels=dict(zip(ids, child_labels)),
                                stats=regroup(stats, parent_of) if stats is not None else None,
                                forms_cache=forms_cache, allowed_labels=shared)
    texts = units.text.tolist()
    rows = []
    for pid, group, cent, sim in zip(ids, children, cents, matched):
        mask = np.isin(assignments, group)
        summary = pick_summary(vectors, np.flatnonzero(mask), texts, cfg.summary_sentences)
        label, keywords = described[pid]
        rows.append({
            "run_id": run_id, "theme_id": int(pid), "label": label, "keywords": keywords, "kind": "parent",
            **_counts(units[mask]), "name": None, "parent_id": None,
            "summary": " ".join(texts[i] for i in summary) or None,
            "summary_unit_ids": [str(units.unit_id.iloc[i]) for i in summary],
            "centroid": cent.astype(float).tolist(), "matched_similarity": sim, "children": group,
        })
    return pd.DataFrame(rows)


def _placeholders(values: list) -> str:
    return ", ".join("?" for _ in values)
