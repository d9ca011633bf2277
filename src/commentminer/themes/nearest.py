"""Parent labels by meaning: the phrase, said across the children, whose embedding is nearest the parent's centroid.

A parent theme gathers leaves that sit near each other in the embedding space: SFU C3's "Canada", "Stephen Harper",
"Justin Trudeau", "Ontario" and "Quebec" leaves. The words their members say most are the leaves' own subjects, so
counting words named that parent "party", and others "world" (over immigration and refugees) or "Justin" (over
Obama, Trump and the Senate). What the children share is their meaning, and the sentence encoder that placed them
can say which phrase means what the group means: "Canadian politics" (cosine 0.76 to the parent's centroid), said in
30 of its 8,411 sentences across its children; "employment", "education", "global warming".

So, as KeyBERT and BERTopic's KeyBERTInspired do for topics, but only among phrases the members actually write:
the candidates are each parent's CANDIDATES best-scored phrases (labels.phrase_scores) that are noun-like (a
single word not used mostly as a verb or adjective, or a noun phrase: `phrases.is_compact`), neither generic nor
corpus-wide ("practices" in a corpus about practice managers: `labels.corpus_wide`), in at
least MIN_UNITS units (and MIN_SHARE of the parent's) and in MIN_CHILDREN of its children, so the label comes
from what the children share, never from one child, and not a child's label in other words (SAME_AS_CHILD). They
are embedded with the units' own model and ranked by cosine to the parent's centroid; those below MIN_COSINE
are not preferred (a group of loose leaves, gathered by tone: its nearest phrase was "surprise", 0.47), and a
parent with none is labelled as before (`labels.select_labels`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .phrases import is_compact, is_multi
from .terms import TermStats

# texts -> (n, dim) vectors in the units' embedding space
PhraseEmbedder = Callable[[Sequence[str]], np.ndarray]

CANDIDATES = 150      # best-scored phrases per parent that are embedded (SFU C3: 15 parents, 1,262 phrases in all)
# A candidate is in at least this many of the parent's units (and MIN_SHARE of them): below 10, the nearest phrase
# was often one child's detail ("living wage", 7 units, over "jobs", "firefighters" and "sick leave"; "health
# problems", 4, over "medicine" and "medical marijuana"), with 10 "employment" and "drugs".
MIN_UNITS = 10
MIN_SHARE = 0.003
MIN_CHILDREN = 2
MIN_COSINE = 0.5
# A candidate this close to a child's label says that child's subject again in other words ("freedom of religion"
# over "religious freedom"); labels.select_labels already bars the child's label and phrases in or around it.
SAME_AS_CHILD = 0.9


def candidate_columns(stats: TermStats, scores: np.ndarray, row: int, unwanted: np.ndarray,
                      children_using: np.ndarray | None) -> np.ndarray:
    """Theme `row`'s candidate phrases (vocabulary columns), best-scored first (see the module docstring).

    `unwanted` (V,): phrases that may not name a theme this way (generic words, corpus-wide phrases).
    `children_using` (V,): how many of the theme's children have each phrase in a member unit (None: not checked).
    """
    multi = is_multi(stats)
    none = np.zeros(len(stats.vocab), dtype=bool)
    non_nouns = stats.non_nouns if stats.non_nouns is not None else none
    loose = stats.loose if stats.loose is not None else none
    noun_like = np.where(multi, is_compact(stats) & ~loose, ~non_nouns)
    ok = ((scores[row] > 0) & noun_like & ~unwanted
          & (stats.support[row] >= max(MIN_UNITS, MIN_SHARE * stats.sizes[row])))
    if children_using is not None:
        ok &= children_using >= MIN_CHILDREN
    cols = np.flatnonzero(ok)
    return cols[np.argsort(-scores[row, cols], kind="stable")][:CANDIDATES]


def nearest_phrases(stats: TermStats, scores: np.ndarray, unwanted: np.ndarray, centroids: dict[int, np.ndarray],
                    embed: PhraseEmbedder, children_using: dict[int, np.ndarray] | None = None,
                    children_labels: dict[int, Sequence[str]] | None = None) -> dict[int, list[int]]:
    """theme id -> its candidate phrases (columns) with a cosine to its centroid of at least MIN_COSINE, nearest
    first, for each theme in `centroids`; themes with none are left out. Candidates within SAME_AS_CHILD of one of
    the theme's `children_labels` are left out. Candidates and labels are embedded in one call."""
    rows = {t: stats.theme_ids.index(t) for t in centroids if t in stats.theme_ids}
    cols = {t: candidate_columns(stats, scores, r, unwanted, (children_using or {}).get(t)) for t, r in rows.items()}
    labels = {t: [str(x).lower() for x in (children_labels or {}).get(t, ())] for t in rows}
    phrases = sorted({str(stats.vocab[c]) for found in cols.values() for c in found})
    if not phrases:
        return {}
    phrases = sorted(set(phrases) | {x for found in labels.values() for x in found})
    vectors = np.asarray(embed(phrases), dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    at = {p: i for i, p in enumerate(phrases)}
    out = {}
    for theme, found in cols.items():
        if not len(found):
            continue
        centroid = np.asarray(centroids[theme], dtype=np.float32)
        centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        own = vectors[[at[str(stats.vocab[c])] for c in found]]
        cosine = own @ centroid
        same = (own @ vectors[[at[x] for x in labels[theme]]].T >= SAME_AS_CHILD).any(axis=1) if labels[theme] \
            else np.zeros(len(found), dtype=bool)
        order = np.argsort(-cosine, kind="stable")
        near = [int(found[i]) for i in order if cosine[i] >= MIN_COSINE and not same[i]]
        if near:
            out[theme] = near
    return out
