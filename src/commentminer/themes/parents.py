"""Parent themes for the themes stage: the leaves grouped (hierarchy.py), named, counted and summarised.

`parent_rows` groups the leaf themes by their centroids, gives each group a stable id (tracking.py) and a label:
by meaning when the stage passes phrase vectors (nearest.py), else by the phrase most of its children say, a
child's own label when its siblings say it more (the child is then renamed), or its children's labels when they
share nothing (hierarchy.children_label). Counts are SQL over the written unit_themes (`units.theme_counts`);
summaries come from the label sample (`summary.sampled_summary`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..context import StageContext
from .base import OUTLIER_THEME
from .focus import keyword_focus
from .hierarchy import PARENT_MIN_COVER, children_label, family_words, group_leaves, shared_phrases
from .labels import corpus_wide, describe_themes, is_barred, rename_theme, with_label
from .nearest import PhraseEmbedder, nearest_phrases
from .phrases import generic_mask
from .summary import sampled_summary
from .terms import regroup, vocab_index
from .tracking import Known, match_ids
from .units import ThemeSample, Units, normalised, theme_counts


def parent_rows(
    ctx: StageContext, units: Units, assignments: np.ndarray, themes: pd.DataFrame, known: list[Known], cfg,
    sample: ThemeSample, texts: list[str], sum_of: dict, tagger=None, stats=None, forms_cache: dict | None = None,
    embed: PhraseEmbedder | None = None,
) -> tuple[pd.DataFrame, dict, set[int]]:
    """Parent themes over the leaf themes (kind "parent"), with a `children` column of leaf ids.

    `stats` (terms.term_statistics of the sampled texts by leaf theme) saves counting the phrases again: the
    parents' phrase counts are their leaves' added up (`regroup`). `forms_cache` as in `describe_themes`.
    With `embed` (phrases -> vectors in the units' space: `[themes] parent_labels = "nearest"`) and `stats`, a
    parent is named first by the phrase its children say whose vector is nearest its centroid (`nearest.py`).

    Returns (parents, renamed, by_meaning): `renamed` maps a leaf id to its new (label, keywords) when its parent
    took its label, a word its siblings say more than it does (`hierarchy.family_words`; needs `stats`);
    `by_meaning` are the parents named by a phrase nearest their centroid.
    """
    leaves = themes[themes.kind.isin(["guided", "discovered"])].sort_values("theme_id")
    if cfg.parent_fanout < 2 or len(leaves) == 0:
        return pd.DataFrame(), {}, set()
    leaf_ids = leaves.theme_id.astype(int).tolist()
    groups = group_leaves(np.stack([np.asarray(c, np.float64) for c in leaves.centroid]), cfg.parent_fanout)
    if not groups:
        return pd.DataFrame(), {}, set()
    children = [[leaf_ids[i] for i in g] for g in groups]
    cents = normalised(np.stack([sum(sum_of[c] for c in group) for group in children]))
    taken = [Known(t, "taken", None, "", np.zeros(0)) for t in leaf_ids]  # this run's new leaf ids are in use
    ids, matched = match_ids(cents, ["parent"] * len(children), [None] * len(children), [*known, *taken],
                             cfg.match_threshold)
    parent_of = {leaf: pid for pid, group in zip(ids, children) for leaf in group}
    sampled_of = assignments[sample.positions]
    upper = np.array([parent_of.get(int(t), int(t)) for t in sampled_of], dtype=np.int64)
    unparented = [t for t in leaf_ids if t not in parent_of]
    fixed = {k.theme_id: k.label for k in known if k.kind == "parent" and k.theme_id in ids and k.label}
    label_of = {int(t): str(x) for t, x in zip(leaves.theme_id, leaves.label) if x}
    rows_of = [[stats.theme_ids.index(c) for c in group] for group in children] if stats is not None else None
    family = (_family_labels(stats, dict(zip(leaves.theme_id.astype(int), leaves.kind)), label_of, children, rows_of)
              if stats is not None else [set() for _ in children])
    promoted = set().union(*family)
    # a child's label is barred from its parent unless it is the family's word; then only the other parents
    avoid = {pid: [label_of[c] for c in group if c in label_of and label_of[c].lower() not in family[i]]
             + [w for j, words in enumerate(family) if j != i for w in words]
             for i, (pid, group) in enumerate(zip(ids, children))}
    shared = ({pid: shared_phrases(stats.support, stats.sizes, rows) for pid, rows in zip(ids, rows_of)}
              if stats is not None else None)
    nearest_of: dict[int, list[int]] = {}     # parent -> phrases nearest its centroid, filled while labelling

    def nearest(parent_stats, scores):
        using = {pid: (stats.support[rows] > 0).sum(axis=0) for pid, rows in zip(ids, rows_of)}
        unwanted = generic_mask(parent_stats.vocab) | corpus_wide(parent_stats, cfg.label_max_df)
        nearest_of.update(nearest_phrases(parent_stats, scores, unwanted,
                                          dict(zip(ids, cents)), embed, using,
                                          {pid: [label_of[c] for c in group if c in label_of]
                                           for pid, group in zip(ids, children)}))
        return nearest_of

    described = describe_themes(texts, upper, tuple(cfg.ngram_range), cfg.top_n_words,
                                cfg.label_max_df, outlier=OUTLIER_THEME, fixed_labels=fixed, skip=unparented,
                                tagger=tagger, avoid_labels=avoid,
                                stats=regroup(stats, parent_of) if stats is not None else None,
                                forms_cache=forms_cache, allowed_labels=shared,
                                used_labels=[x for x in label_of.values() if x.lower() not in promoted],
                                preferred_labels=nearest if embed is not None and stats is not None else None)
    # a label chosen for its meaning names the group however few members say it ("Canadian politics": 30 of 8,411)
    by_meaning = {pid for pid in ids
                  if described[pid][0].lower() in {str(stats.vocab[c]) for c in nearest_of.get(pid, [])}}
    unnamed = _unnamed_parents(stats, described, {p: g for p, g in zip(ids, children) if p not in by_meaning},
                               sampled_of)
    renamed = _rename_children(stats, texts, leaves, label_of,
                               {pid: g for pid, g in zip(ids, children) if pid not in unnamed}, described, cfg,
                               forms_cache) if promoted else {}
    for pid, group in zip(ids, children):
        if pid in unnamed:
            described[pid] = _named_by_children(stats, sampled_of, leaves, group, renamed, described[pid],
                                                cfg.loose_focus)
    counts = theme_counts(ctx, parent_of)
    rows = []
    for pid, group, cent, sim in zip(ids, children, cents, matched):
        members = sample.within(sample.positions[np.isin(sampled_of, group)])
        summary, summary_ids = sampled_summary(units, members, sample, texts, cfg.summary_sentences)
        label, keywords = described[pid]
        rows.append({
            "run_id": ctx.run_id, "theme_id": int(pid), "label": label, "keywords": keywords, "kind": "parent",
            **counts[int(pid)], "name": None, "parent_id": None, "summary": summary,
            "summary_unit_ids": summary_ids, "centroid": cent.astype(float).tolist(), "matched_similarity": sim,
            "children": group,
        })
    return pd.DataFrame(rows), renamed, by_meaning


def _unnamed_parents(stats, described: dict, children_of: dict[int, list[int]], sampled_of: np.ndarray) -> set[int]:
    """Parents whose label is in fewer than PARENT_MIN_COVER of their sampled members (or that got no phrase at
    all, "theme N"): no phrase their children share names the group (hierarchy.children_label)."""
    if stats is None:
        return set()
    return {pid for pid, group in children_of.items()
            if keyword_focus(stats, [described[pid][0]], np.flatnonzero(np.isin(sampled_of, group))) < PARENT_MIN_COVER}


def _named_by_children(stats, sampled_of: np.ndarray, leaves: pd.DataFrame, group: list[int], renamed: dict,
                       described: tuple, loose_below: float) -> tuple:
    """(label, keywords) of a parent named by its children (a guided child by its name): the focused ones first
    (a loose child's label names few of its own members, focus.py), each part largest first. The rejected label
    leaves the keywords."""
    named = []
    for row in leaves[leaves.theme_id.isin(group)].itertuples():
        theme = int(row.theme_id)
        label, keywords = renamed.get(theme, (str(row.label), list(row.keywords)))
        loose = keyword_focus(stats, keywords, np.flatnonzero(sampled_of == theme)) < loose_below
        title = row.name if isinstance(row.name, str) and row.name else label
        named.append((loose, -int(row.n_units), theme, title))
    rejected, keywords = described
    return children_label([title for *_, title in sorted(named)]), [k for k in keywords if k.lower() != rejected.lower()]


def _family_labels(stats, kind_of: dict[int, str], label_of: dict[int, str], children: list[list[int]],
                   rows_of: list[list[int]]) -> list[set[str]]:
    """Per parent: its discovered children's labels (lower-cased) that name the family (`family_words`).
    `rows_of`: each parent's children's rows in `stats`."""
    index = vocab_index(stats)
    out = []
    for group, rows in zip(children, rows_of):
        labels = [label_of.get(c, "").lower() for c in group]
        cols = [index.get(label) if label and kind_of[c] == "discovered" else None for c, label in zip(group, labels)]
        out.append({label for label, ok in zip(labels, family_words(stats.support, rows, cols)) if ok})
    return out


def _rename_children(stats, texts: list[str], leaves: pd.DataFrame, label_of: dict[int, str],
                     children_of: dict[int, list[int]], described: dict, cfg, forms_cache) -> dict:
    """leaf id -> (new label, keywords) for each child whose parent took its label (`parent_rows`)."""
    keywords_of = dict(zip(leaves.theme_id.astype(int), leaves.keywords))
    renamed = {}
    for pid, group in children_of.items():
        taken = described[pid][0]
        for child in group:
            own = label_of.get(child, "").lower()
            # the parent's label is the child's, or holds it or sits inside it ("rest of Canada" over "Canada")
            if not own or not is_barred(own, [taken.lower()]):
                continue
            barred = [taken, *(x for t, x in label_of.items() if t != child),
                      *(label for p, (label, _) in described.items() if p in children_of and label),
                      *(label for label, _ in renamed.values())]
            label = rename_theme(stats, texts, child, barred, cfg.label_max_df, forms_cache)
            renamed[child] = (label, with_label(label, list(keywords_of[child]), cfg.top_n_words))
    return renamed
