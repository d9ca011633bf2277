"""themes stage: units + their embeddings from the store -> this run's themes, unit_themes and theme_changes.

Reads: units, embeddings, comments, theme_registry, themes (the previous run's). Writes: themes, unit_themes,
theme_changes (keyed by run_id; a re-run of the stage in the same run replaces that run's rows), theme_registry,
and embeddings (vectors of guided seed phrases, cached like unit vectors by text hash + model id).

Steps: guided themes from [themes] guided_path take the units close enough to them (guided.py); the theme model
clusters the rest into discovered themes; units far from their discovered theme's centroid go to "other" (-1);
ids come from the registry (tracking.py), labels and keywords from labels.py over all themes together (so
labels contrast guided and discovered themes alike), quotes, summaries and parent themes from quotes.py,
summary.py and parents.py (grouped by hierarchy.py); each theme's focus (the share of its members using one of its
top keywords) marks the loose ones, grouped by tone or form rather than subject (focus.py).

Memory is bounded by the corpus' vectors as stored (float16, 768 bytes a unit: 0.75 GB at a million units) plus
a few numbers a unit, not by its texts or float32 copies (issue 12): the vectors are turned into float32 a chunk
of [themes] chunk_rows at a time (centroids from exact float64 sums over chunks, similarities, the "other" cut,
nearest-centroid assignment past the fit sample, guided similarity); texts are read only for the guided themes'
word matches (streamed) and for a seeded per-theme sample of at most [themes] label_sample units that labels,
keywords and summaries are computed from (every unit of a smaller corpus); quotes rank per-unit similarities and
read the vectors of their few candidates; the counts are SQL over the written unit_themes. The units, their
chunked reads and arithmetic and the per-theme sample are in units.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import registry
from ..context import StageContext
from ..errors import CommentminerError
from ..ids import sha256_text
from ..store.vectors import stack
from .base import OUTLIER_THEME
from .clustering import far_from_theme
from .focus import theme_focus
from .guided import assign_guided, guided_similarity, lexical_matches, load_guided
from .labels import describe_themes
from .parents import parent_rows
from .pos import SpacyTagger
from .quotes import ranked_quotes
from .summary import sampled_summary
from .terms import term_statistics
from .tracking import Known, change_log, match_ids
from .units import (ThemeSample, Units, float32_rows, group_sums, iter_texts, load_units, members_of, normalised,
                    own_cosine, placeholders, texts_at, theme_counts)

STAGE = "themes"


def embedding_model_id(ctx: StageContext, unit_kinds: list[str]) -> str:
    """The embedding model_id to theme with: the only one stored for these units' texts, or, when vectors of
    several models are stored (the embed model or its precision was changed: `run --fast` after `run`), the one
    the configured embedder writes. Otherwise pass `model_id` to `run` explicitly.
    """
    found = ctx.store.query(
        "SELECT e.model_id, count(DISTINCT u.unit_id) AS n FROM units u "
        "JOIN embeddings e ON e.text_hash = u.text_hash "
        f"WHERE u.kind IN ({placeholders(unit_kinds)}) GROUP BY e.model_id ORDER BY e.model_id",
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
    n_units = ctx.store.count("units", f"kind IN ({placeholders(kinds)})", kinds)
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
    kinds, chunk = list(cfg.unit_kinds), cfg.chunk_rows
    steps.next()  # load units
    units = load_units(ctx, kinds, model_id, chunk)
    vectors, n = units.vectors, len(units)

    # 1. guided themes take the units close enough to them
    steps.next()
    local = np.full(n, OUTLIER_THEME, dtype=np.int64)     # local theme index, see `keys`
    similarity = np.zeros(n)
    keys: list[tuple[str, int]] = []                       # local index -> (kind, index in kind)
    phrases = PhraseVectors(ctx, model_id)
    if guided:
        seed_vecs = seed_vectors(ctx, guided, phrases)
        start = 0
        for texts in iter_texts(ctx, kinds, chunk):
            stop = start + len(texts)
            sims = guided_similarity(float32_rows(vectors[start:stop]), seed_vecs, cfg.guided_top_k,
                                     lexical_matches(texts, guided), cfg.guided_lexical_bonus)
            g_assign, g_score = assign_guided(sims, cfg.guided_threshold)
            taken = np.flatnonzero(g_assign >= 0)
            local[start + taken], similarity[start + taken] = g_assign[taken], g_score[taken]
            start = stop
        keys += [("guided", g) for g in range(len(guided))]
    # 2. the theme model clusters the rest (spaCy's tagger for the labels loads meanwhile)
    steps.next()
    tagger = SpacyTagger(cfg.label_pos_model).preload() if cfg.label_pos_model else None
    rest = np.flatnonzero(local == OUTLIER_THEME)
    model = registry.resolve("themes", cfg.backend).from_config(cfg)
    fitted, strategy = discover(ctx, model, units, rest, chunk)
    offset = len(keys)
    discovered_ids = sorted({int(t) for t in np.unique(fitted) if t != OUTLIER_THEME})
    keys += [("discovered", t) for t in discovered_ids]
    found = fitted != OUTLIER_THEME
    local[rest[found]] = offset + np.searchsorted(discovered_ids, fitted[found])
    # 3. units that fit no discovered theme go to "other" (never forced)
    theme_of = np.where(local >= offset, local - offset, -1)
    cos = own_cosine(vectors, theme_of, normalised(group_sums(vectors, theme_of, len(discovered_ids), chunk)), chunk)
    for members in members_of(theme_of, len(discovered_ids)):
        similarity[members] = cos[members]
        local[members[far_from_theme(cos[members], cfg.other_threshold, cfg.other_spread)]] = OUTLIER_THEME
    sizes = np.bincount(local + 1, minlength=len(keys) + 1)       # [0] = "other"
    present = [i for i in range(len(keys)) if sizes[i + 1]]
    # 4. stable ids from the registry
    steps.next()
    known = load_registry(ctx)
    sums = group_sums(vectors, local + 1, len(keys) + 1, chunk)   # exact per-theme sums, "other" first
    cents = normalised(sums)
    first = np.full(len(keys) + 1, n)
    np.minimum.at(first, local + 1, np.arange(n))               # first unit (lowest unit_id) of each theme
    order = sorted(range(len(present)), key=lambda j: (keys[present[j]][0] != "guided", keys[present[j]][1]
                   if keys[present[j]][0] == "guided" else -int(sizes[present[j] + 1]),
                   units.unit_ids[first[present[j] + 1]]))
    p_kinds = [keys[present[j]][0] for j in order]
    p_keys = [f"guided:{guided[keys[present[j]][1]].name}" if p_kinds[n] == "guided" else None
              for n, j in enumerate(order)]
    ids, matched = match_ids(cents[[present[j] + 1 for j in order]], p_kinds, p_keys, known, cfg.match_threshold)
    lookup = np.full(len(keys) + 1, OUTLIER_THEME, dtype=np.int64)  # local index -> stable id; -1 stays -1
    for n_, j in enumerate(order):
        lookup[present[j]] = ids[n_]
    assignments = lookup[local]
    sum_of = {int(lookup[i - 1]) if i else OUTLIER_THEME: sums[i] for i in range(len(keys) + 1) if sizes[i]}
    info = {ids[n]: {"kind": p_kinds[n], "key": p_keys[n], "centroid": cents[present[j] + 1], "matched": matched[n],
                     "name": guided[keys[present[j]][1]].name if p_kinds[n] == "guided" else None,
                     "seeds": guided[keys[present[j]][1]].seeds if p_kinds[n] == "guided" else None}
            for n, j in enumerate(order)}
    # 5. labels on a sample of each theme's texts (matched themes keep their registered label while it is still
    # grounded), quotes, summaries
    steps.next()
    sample = ThemeSample(assignments, cfg.label_sample, cfg.seed)
    texts = texts_at(ctx, kinds, sample.positions, chunk)
    sampled = assignments[sample.positions]
    fixed = {k.theme_id: k.label for k in known if k.theme_id in info and k.label}
    ngram_range = tuple(cfg.ngram_range)
    stats = term_statistics(texts, sampled, ngram_range)   # phrases counted once, for leaves and parents
    forms: dict[str, str] = {}
    described = describe_themes(texts, sampled, ngram_range, cfg.top_n_words, cfg.label_max_df,
                                outlier=OUTLIER_THEME, fixed_labels=fixed, tagger=tagger,
                                seed_phrases={t: v["seeds"] for t, v in info.items() if v["seeds"]},
                                stats=stats, forms_cache=forms)
    steps.next()
    quote_cos = own_cosine(vectors, local + 1, cents, chunk)     # each unit's cosine to its final theme centroid
    quotes = ranked_quotes(lambda i: float32_rows(vectors[i]), assignments, quote_cos, cfg.n_quotes, units.priority,
                           skip=(OUTLIER_THEME,))
    write_unit_themes(ctx, units, assignments, similarity, quotes, chunk)
    themes = to_rows(ctx, units, assignments, described, info, sample, texts, sum_of, cfg)
    steps.next()
    nearest_by = phrases if cfg.parent_labels == "nearest" and phrases.matches else None
    parents, renamed, by_meaning = parent_rows(ctx, units, assignments, themes, known, cfg, sample, texts, sum_of,
                                               tagger, stats=stats, forms_cache=forms, embed=nearest_by)
    phrases.close()
    for leaf, (label, keywords) in renamed.items():   # a leaf whose label went to its parent (family_words)
        at = themes.index[themes.theme_id == leaf][0]
        themes.at[at, "label"], themes.at[at, "keywords"] = label, keywords
    if not parents.empty:
        parent_of = {c: int(p.theme_id) for p in parents.itertuples() for c in p.children}
        themes["parent_id"] = pd.array([parent_of.get(int(t)) for t in themes.theme_id], dtype="Int32")
        themes = pd.concat([themes, parents.drop(columns=["children"])], ignore_index=True)
    themes["focus"], themes["loose"] = theme_focus(stats, sampled, themes, cfg.loose_focus)
    steps.next()
    ctx.store.upsert("themes", themes)
    changes = record_changes(ctx, themes, cfg.match_threshold)
    update_registry(ctx, themes, known)
    steps.finish()
    leaf = themes[themes.kind.isin(["guided", "discovered"])]
    return {
        "units": n,
        "themes": int(len(leaf)),
        "guided_themes": int((leaf.kind == "guided").sum()),
        "discovered_themes": int((leaf.kind == "discovered").sum()),
        "parent_themes": int((themes.kind == "parent").sum()),
        "parents_named_by_meaning": len(by_meaning),   # [themes] parent_labels = "nearest" (nearest.py)
        "loose_themes": int(leaf.loose.sum()),     # leaves gathered by tone or form, not by subject (focus.py)
        "guided_units": int(leaf.loc[leaf.kind == "guided", "n_units"].sum()),
        "guided_source": str(cfg.guided_path) if guided else "none",
        "other_units": int(np.sum(assignments == OUTLIER_THEME)),
        "outlier_share": float(np.mean(assignments == OUTLIER_THEME)),
        # "other" per level: leaves = units in no leaf theme; parents = units under no parent theme
        "other_share": {"leaves": float(np.mean(assignments == OUTLIER_THEME)),
                        "parents": _unparented_share(themes, assignments)},
        "strategy": strategy,
        "label_sample": int(len(sample.positions)),
        "changes": {c: int(sum(1 for x in changes if x["change"] == c)) for c in ("new", "merged", "split", "gone")},
        "theme_model_id": model.model_id,
        "embedding_model_id": model_id,
    }


def discover(ctx: StageContext, model, units: Units, rest: np.ndarray, chunk_rows: int) -> tuple[np.ndarray, str]:
    """(discovered theme per unit of `rest`, numbered by size with -1 for none; the fit's strategy).

    The theme model's `cluster` gets float32 vectors of at most `fit_sample` units: above that, its cluster
    model is fitted on its own seeded sample of `rest` (the same sample and k ceiling `fit` would use on all of
    `rest`) and every other unit goes to the nearest centroid here, a chunk at a time, so all of `rest` is never
    one float32 matrix. The partition is the one `model.cluster(all vectors and texts of rest)` gives. The texts
    (of the fit sample only) are read when the cluster model refines its partition by words (lexical.py).
    """
    from .bertopic_model import MIN_UNITS_TO_CLUSTER, numbered_by_size
    from .clustering import SelectedKClusterer, nearest_centroid

    n = len(rest)
    kinds = list(ctx.config.themes.unit_kinds)
    if not hasattr(model, "cluster"):  # a backend that fits on texts too: it gets every text and vector of rest
        fit = model.fit(texts_at(ctx, kinds, rest, chunk_rows), float32_rows(units.vectors[rest]))
        return np.asarray(fit.assignments, np.int64), fit.strategy
    clusterer = model.cluster_model(n)[0] if hasattr(model, "cluster_model") and n >= MIN_UNITS_TO_CLUSTER else None
    # the words of the units clustered refine the partition (lexical.py); read only when they are used
    words = isinstance(clusterer, SelectedKClusterer) and clusterer.lexical_weight > 0
    if not isinstance(clusterer, SelectedKClusterer) or n <= clusterer.fit_sample:
        dim = units.vectors.shape[1] if units.vectors.ndim == 2 else 0
        extra = {"texts": texts_at(ctx, kinds, rest, chunk_rows)} if words else {}
        fit = model.cluster(float32_rows(units.vectors[rest]) if n else np.zeros((0, dim), np.float32),
                            progress=ctx.progress, **extra)
        return np.asarray(fit.assignments, np.int64), fit.strategy
    sample = clusterer.sample_indices(n)
    clusterer.progress = ctx.progress
    clusterer.fit(float32_rows(units.vectors[rest[sample]]), n_units=n,   # the k range of all n units
                  texts=texts_at(ctx, kinds, rest[sample], chunk_rows) if words else None)
    labels = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk_rows):
        labels[start : start + chunk_rows] = nearest_centroid(
            float32_rows(units.vectors[rest[start : start + chunk_rows]]), clusterer.cluster_centers_)
    labels[sample] = clusterer.labels_
    return numbered_by_size(labels), clusterer.describe(n)[0]


def _unparented_share(themes: pd.DataFrame, assignments: np.ndarray) -> float | None:
    """Share of units in "other" or in a leaf theme that has no parent (the parent level's "other"); None when
    there is no parent level (too few leaves to group)."""
    if "parent_id" not in themes or not (themes.kind == "parent").any():
        return None
    parented = themes.loc[themes.kind.isin(["guided", "discovered"]) & themes.parent_id.notna(), "theme_id"]
    return float(np.mean(~np.isin(assignments, parented.astype(int).to_numpy())))


def _clear_run(ctx: StageContext) -> None:
    # Replace, not merge: a re-fit can produce fewer themes, and stale theme rows must not survive.
    for table in ("unit_themes", "themes", "theme_changes"):
        ctx.store.delete(table, "run_id = ?", [ctx.run_id])


class PhraseVectors:
    """Vectors of phrases compared with the units' (guided seed phrases; parent label candidates, nearest.py) by
    the embed stage's configured embedder (`commentminer.embed.stage.build_embedder`: the one stage-to-stage
    import, for phrases only). Built on first use and shared, so a run loads the model at most once and only when
    some phrase needs a vector. `matches`: whether the configured model is the units' (`model_id`); a phrase
    vector is only comparable with vectors of its own space."""

    def __init__(self, ctx: StageContext, model_id: str):
        self.ctx, self.model_id = ctx, model_id
        self._embedder = None

    @property
    def embedder(self):
        if self._embedder is None:
            from ..embed.stage import build_embedder

            self._embedder = build_embedder(self.ctx)
        return self._embedder

    @property
    def matches(self) -> bool:
        return self.embedder.model_id == self.model_id

    def __call__(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 vectors."""
        return np.asarray(self.embedder.embed(list(texts)), np.float32)

    def close(self) -> None:
        """Let the embedder (its ONNX session and threads) go once no phrase needs a vector any more."""
        self._embedder = None


def seed_vectors(ctx: StageContext, guided: list, phrases: PhraseVectors) -> list[np.ndarray]:
    """(seeds, dim) vectors per guided theme, from the embeddings cache (text hash + the units' model id) or
    embedded now by `phrases`, so they share the units' vector space; a configured model other than the units'
    is an error rather than silently comparing two spaces.
    """
    model_id = phrases.model_id
    texts = sorted({s for g in guided for s in g.seeds})
    hashes = {t: sha256_text(t) for t in texts}
    cached = ctx.store.query(
        f"SELECT text_hash, vector FROM embeddings WHERE model_id = ? AND text_hash IN ({placeholders(texts)})",
        [model_id, *hashes.values()],
    )
    found = dict(zip(cached.text_hash, stack(cached.vector)))
    missing = [t for t in texts if hashes[t] not in found]
    if missing:
        if not phrases.matches:
            raise CommentminerError(
                f"themes: units are embedded with '{model_id}' but [embed] is now '{phrases.embedder.model_id}'; "
                "re-run the embed stage so guided seed phrases and units share one model"
            )
        vecs = phrases(missing)
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


def write_unit_themes(ctx: StageContext, units: Units, assignments: np.ndarray, similarity: np.ndarray,
                      quotes: dict[int, list[int]], chunk_rows: int) -> None:
    """This run's unit_themes rows, `chunk_rows` at a time in one transaction (quote_rank from `quotes`)."""
    quote_rank = np.full(len(units), np.nan)
    for chosen in quotes.values():
        quote_rank[chosen] = np.arange(1, len(chosen) + 1)
    probability = np.clip(np.where(assignments == OUTLIER_THEME, 0.0, similarity), 0.0, 1.0)
    with ctx.store.transaction():
        for start in range(0, len(units), chunk_rows):
            part = slice(start, start + chunk_rows)
            ctx.store.upsert("unit_themes", pd.DataFrame({
                "run_id": ctx.run_id, "unit_id": units.unit_ids[part], "theme_id": assignments[part].astype(np.int32),
                "probability": probability[part], "quote_rank": pd.array(quote_rank[part], dtype="Int32"),
            }), transaction=False)


def to_rows(ctx: StageContext, units: Units, assignments: np.ndarray, described: dict, info: dict,
            sample: ThemeSample, texts: list[str], sum_of: dict, cfg) -> pd.DataFrame:
    """The `themes` frame (schema columns) for the leaf themes and "other": counts from the written unit_themes,
    summaries from the sampled units (`texts` are the sample's), centroids from the exact vector sums `sum_of`."""
    counts = theme_counts(ctx)
    sampled_of = assignments[sample.positions]
    rows = []
    for theme_id in sorted(described):
        label, keywords = described[theme_id]
        meta = info.get(theme_id, {})
        summary, summary_ids = None, []
        if theme_id != OUTLIER_THEME:
            summary, summary_ids = sampled_summary(units, sample.positions[sampled_of == theme_id], sample, texts,
                                            cfg.summary_sentences)
        rows.append({
            "run_id": ctx.run_id, "theme_id": int(theme_id), "label": label, "keywords": list(keywords),
            "kind": meta.get("kind", "other"), **counts[int(theme_id)], "name": meta.get("name"), "parent_id": None,
            "summary": summary, "summary_unit_ids": summary_ids,
            "centroid": normalised(sum_of[int(theme_id)][None, :])[0].astype(float).tolist(),
            "matched_similarity": meta.get("matched"),
        })
    return pd.DataFrame(rows)
