"""Theme labels and keywords from class-based TF-IDF (BERTopic's c-TF-IDF), made contrastive across themes.

Plain functions on arrays. The pipeline is:

1. `PhraseAnalyzer` turns a unit's text into candidate phrases: 1-3 word n-grams formed inside punctuation
   chunks that neither start nor end with a stop word ("lip service", "voting rights", "seat on the board"),
   so phrases read naturally instead of the stop-word-stripped n-grams a stop-word CountVectorizer builds
   ("rights boards").
2. `term_statistics` counts, per theme, how often each phrase occurs and in how many member units (support).
   The counts are taken per unit, not over BERTopic's concatenated per-topic documents, so no phrase spans two
   units and support is exact.
3. `ctfidf` weights the per-theme counts with BERTopic's `ClassTfidfTransformer`.
4. `select_labels` / `select_keywords` rank phrases by c-TF-IDF x sqrt(concentration) (the share of the phrase's
   units that sit in this theme), drop corpus-wide phrases (in more than `label_max_df` of all units: a stop list
   computed from the corpus itself, e.g. "practice managers" in a corpus about practice managers), prefer a
   longer phrase when it keeps most of the support of a shorter one, and keep labels distinct across themes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

# Words that carry no theme in news text and comments but are not in scikit-learn's English list: reporting
# verbs and honorifics would otherwise label every article-heavy theme "said".
EXTRA_STOP_WORDS = frozenset(
    {"said", "says", "say", "saying", "told", "tell", "added", "just", "like", "really", "think", "thought",
     "going", "got", "get", "gets", "yes", "mr", "mrs", "ms", "dr", "don", "doesn", "didn", "isn", "won", "ll",
     "ve", "re", "s", "t", "d", "m", "lot", "lots", "way", "things", "thing", "want", "make", "need", "needs"}
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | EXTRA_STOP_WORDS

# A phrase has to keep this share of a shorter phrase's support in the theme to replace it as the label:
# "lip service" (10 units) beats "lip" (10) and "service" (12); "voting rights" (6) beats "voting" (8).
PHRASE_KEEP = 0.6

_CHUNK_SPLIT = re.compile(r"[.,;:!?()\[\]\"“”‘’/|–—…]+|\s[-']\s|\s'|'\s")
_TOKEN = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")


class PhraseAnalyzer:
    """Callable CountVectorizer analyzer: text -> phrases of `ngram_range` words without stop words at the edges.

    A class (not a closure) so fitted vectorizers stay picklable for saving BERTopic models.
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), stop_words: frozenset[str] = STOP_WORDS):
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.stop_words = stop_words

    def tokens(self, chunk: str) -> list[str]:
        out = []
        for tok in _TOKEN.findall(chunk):
            tok = tok.strip("'-")
            if tok.endswith("'s"):  # possessive: "CCG's board" counts with "CCG board"
                tok = tok[:-2]
            if len(tok) >= 2:
                out.append(tok)
        return out

    def _is_stop(self, token: str) -> bool:
        # A token still holding an apostrophe after the possessive strip is a contraction ("don't", "isn't",
        # "we're"): a function word, never a theme.
        return token in self.stop_words or "'" in token

    def __call__(self, text: str) -> list[str]:
        text = text.lower().replace("’", "'").replace("‘", "'")
        lo, hi = self.ngram_range
        phrases: list[str] = []
        for chunk in _CHUNK_SPLIT.split(text):
            toks = self.tokens(chunk)
            for n in range(lo, hi + 1):
                for i in range(len(toks) - n + 1):
                    gram = toks[i : i + n]
                    if self._is_stop(gram[0]) or self._is_stop(gram[-1]):
                        continue
                    phrases.append(" ".join(gram))
        return phrases


def make_vectorizer(ngram_range: tuple[int, int] = (1, 3)) -> CountVectorizer:
    """CountVectorizer over `PhraseAnalyzer` phrases (also usable as BERTopic's vectorizer_model)."""
    return CountVectorizer(analyzer=PhraseAnalyzer(ngram_range), lowercase=False)


@dataclass
class TermStats:
    """Per-theme phrase statistics. Rows follow `theme_ids`; columns follow `vocab`."""

    theme_ids: list[int]
    vocab: np.ndarray          # (V,) phrase strings
    counts: np.ndarray         # (k, V) occurrences of each phrase in each theme's member units
    support: np.ndarray        # (k, V) member units containing the phrase
    doc_freq: np.ndarray       # (V,) units (all themes) containing the phrase
    sizes: np.ndarray          # (k,) member units per theme
    n_units: int


def term_statistics(
    texts: Sequence[str], assignments: np.ndarray, ngram_range: tuple[int, int] = (1, 3)
) -> TermStats | None:
    """Count phrases per theme from unit texts. Returns None when no text yields a phrase."""
    assignments = np.asarray(assignments)
    theme_ids = sorted(int(t) for t in np.unique(assignments))
    vectorizer = make_vectorizer(ngram_range)
    try:
        X = vectorizer.fit_transform(list(texts)).tocsr()
    except ValueError:  # empty vocabulary: every text is stop words / punctuation
        return None
    # Theme-membership indicator (k x n) turns unit rows into theme rows with one sparse product.
    rows = np.searchsorted(theme_ids, assignments)
    member = sparse.csr_matrix((np.ones(len(assignments)), (rows, np.arange(len(assignments)))),
                               shape=(len(theme_ids), len(assignments)))
    present = (X > 0).astype(np.float64)
    counts = np.asarray((member @ X).todense(), dtype=np.float64)
    support = np.asarray((member @ present).todense(), dtype=np.float64)
    return TermStats(
        theme_ids=theme_ids,
        vocab=vectorizer.get_feature_names_out(),
        counts=counts,
        support=support,
        doc_freq=np.asarray(present.sum(axis=0)).ravel(),
        sizes=np.bincount(rows, minlength=len(theme_ids)).astype(np.float64),
        n_units=len(assignments),
    )


def ctfidf(counts: np.ndarray) -> np.ndarray:
    """BERTopic's c-TF-IDF of per-theme phrase counts (sqrt-damped term frequencies, as BERTopic recommends)."""
    from bertopic.vectorizers import ClassTfidfTransformer

    weights = ClassTfidfTransformer(reduce_frequent_words=True).fit_transform(sparse.csr_matrix(counts))
    return np.asarray(weights.todense(), dtype=np.float64)


def phrase_scores(stats: TermStats) -> np.ndarray:
    """(k, V) contrastive score: c-TF-IDF times the square root of the phrase's concentration in the theme.

    Concentration is the share of the phrase's units that fall in the theme. c-TF-IDF alone still favours
    phrases frequent everywhere in a single-subject corpus; the concentration factor makes "voting rights" (all
    its units in one theme) beat "practice managers" (spread out). The square root keeps support mattering:
    with the plain product, any phrase seen in exactly two units, both in the theme, beat well-supported ones
    on the sample corpus ("crucial" over "practice management").
    """
    concentration = stats.support / np.maximum(stats.doc_freq, 1.0)[None, :]
    return ctfidf(stats.counts) * np.sqrt(concentration)


def _min_support(size: float) -> float:
    # A label must occur in at least two member units (one sentence is an anecdote, not a theme), unless the
    # theme itself has a single unit.
    return min(2.0, size)


def _contains(longer: str, shorter: str) -> bool:
    return f" {shorter} " in f" {longer} "


def _ranked_candidates(
    stats: TermStats, scores: np.ndarray, row: int, label_max_df: float, min_support: float | None = None,
    exclude_common: bool = True,
) -> list[int]:
    floor = _min_support(stats.sizes[row]) if min_support is None else min_support
    eligible = stats.support[row] >= floor
    eligible &= scores[row] > 0
    common = corpus_wide(stats, label_max_df)
    if exclude_common and (eligible & ~common).any():  # corpus-wide phrases only when nothing else is left
        eligible &= ~common
    idx = np.flatnonzero(eligible)
    # Deterministic order: score desc; on ties, more specific words first ("lip service" before "lip"), then
    # fewer corpus-wide words ("excluded" before "managers feel excluded"), then vocabulary order.
    words = _common_words(stats, label_max_df)
    phrases = [str(p).split() for p in stats.vocab[idx]]
    n_common = np.array([sum(w in words for w in p) for p in phrases], dtype=np.int64)
    n_specific = np.array([len(p) for p in phrases], dtype=np.int64) - n_common
    return [int(i) for i in idx[np.lexsort((idx, n_common, -n_specific, -scores[row, idx]))]]


def _common_words(stats: TermStats, max_df: float) -> set[str]:
    """Words of corpus-wide phrases ("practice", "managers")."""
    return {w for phrase in stats.vocab[corpus_wide(stats, max_df)] for w in str(phrase).split()}


def corpus_wide(stats: TermStats, max_df: float) -> np.ndarray:
    """(V,) mask of phrases that are common *and* spread out: a corpus-specific stop list.

    Common: in more than `max_df` of all units. Spread out: no theme holds more than half of those units. A phrase that
    defines one big theme ("lip service" in every unit of a theme a third of the corpus) is common but not
    spread out, so it stays a candidate; "practice managers" in a corpus about practice managers is both.
    """
    common = stats.doc_freq > max_df * stats.n_units
    top_share = stats.support.max(axis=0) / np.maximum(stats.doc_freq, 1.0)
    return common & (top_share <= 0.5)


def _extend_phrase(
    stats: TermStats, scores: np.ndarray, row: int, best: int, candidates: list[int], common_words: set[str]
) -> int:
    """Replace `best` by a longer candidate phrase containing it that keeps PHRASE_KEEP of its support.

    The added words must not be corpus-wide words: "excluded" may grow into "feel excluded" but not into
    "managers feel excluded" in a corpus where "managers" is everywhere.
    """
    current = best
    while True:
        phrase = stats.vocab[current]
        longer = [
            c for c in candidates
            if len(stats.vocab[c]) > len(phrase) and _contains(stats.vocab[c], phrase)
            and stats.support[row, c] >= PHRASE_KEEP * stats.support[row, current]
            and not (set(stats.vocab[c].split()) - set(phrase.split())) & common_words
        ]
        if not longer:
            return current
        current = max(longer, key=lambda c: (scores[row, c], -c))


def select_labels(
    stats: TermStats, scores: np.ndarray, label_max_df: float = 0.25, skip: Sequence[int] = ()
) -> dict[int, str]:
    """One distinct phrase per theme (theme ids in `skip`, e.g. the outlier theme, get none).

    Themes choose in order of their best score, so the clearest theme gets its first choice; a phrase equal to,
    inside, or containing an already chosen label is not reused. A theme with no phrase in two member units
    falls back to its best single-unit phrase; a theme with no phrase at all gets "theme N".
    """
    rows = [r for r, t in enumerate(stats.theme_ids) if t not in set(skip)]
    ranked = {}
    for r in rows:
        ranked[r] = _ranked_candidates(stats, scores, r, label_max_df)
        if not ranked[r]:
            ranked[r] = _ranked_candidates(stats, scores, r, label_max_df, min_support=1.0)
    common_words = _common_words(stats, label_max_df)
    order = sorted(rows, key=lambda r: (-(scores[r, ranked[r][0]] if ranked[r] else 0.0), stats.theme_ids[r]))
    chosen: dict[int, str] = {}
    for r in order:
        taken = list(chosen.values())
        free = [c for c in ranked[r]
                if not any(_contains(stats.vocab[c], t) or _contains(t, stats.vocab[c]) for t in taken)]
        label = None
        if free:
            best = _extend_phrase(stats, scores, r, free[0], free, common_words)
            label = str(stats.vocab[best])
        chosen[stats.theme_ids[r]] = label or f"theme {stats.theme_ids[r]}"
    return chosen


def select_keywords(
    stats: TermStats, scores: np.ndarray, top_n: int = 10, label_max_df: float = 0.2
) -> dict[int, list[str]]:
    """Top `top_n` phrases per theme, best first; a phrase overlapping a better kept phrase is not repeated.

    Corpus-wide phrases are allowed here: as keywords they still tell a reader what a theme talks about, they
    just make poor distinguishing labels.
    """
    out: dict[int, list[str]] = {}
    for r, theme in enumerate(stats.theme_ids):
        kept: list[str] = []
        # Phrases from two or more member units first, then single-unit phrases to fill up to half the list: in
        # a small corpus a pointed phrase ("voting rights") may be said once and is still worth showing, but a
        # full list of one-off phrases reads as noise.
        ranked = _ranked_candidates(stats, scores, r, label_max_df, exclude_common=False)
        n_multi = len(ranked)
        seen = set(ranked)
        ranked += [c for c in _ranked_candidates(stats, scores, r, label_max_df, min_support=1.0,
                                                 exclude_common=False) if c not in seen]
        for pos, c in enumerate(ranked):
            if pos >= n_multi and len(kept) >= max(3, top_n // 2):
                break
            phrase = str(stats.vocab[c])
            if any(_contains(k, phrase) or _contains(phrase, k) for k in kept):
                continue
            # A one-off phrase sharing a word with a kept one is a fragment of it ("paying lip").
            if pos >= n_multi and set(phrase.split()) & {w for k in kept for w in k.split()}:
                continue
            kept.append(phrase)
            if len(kept) >= top_n:
                break
        out[theme] = kept
    return out


def with_label(label: str, keywords: list[str], top_n: int) -> list[str]:
    """Keywords with the label first (and not repeated), cut to `top_n`."""
    rest = [k for k in keywords if k != label and not _contains(label, k)]
    return ([label] + rest)[:top_n] if not label.startswith("theme ") else keywords[:top_n]


def describe_themes(
    texts: Sequence[str], assignments: np.ndarray, ngram_range: tuple[int, int] = (1, 3), top_n: int = 10,
    label_max_df: float = 0.25, outlier: int = -1,
) -> dict[int, tuple[str, list[str]]]:
    """theme id -> (label, keywords) for every theme in `assignments`. The outlier theme is labelled "other"."""
    themes = sorted(int(t) for t in np.unique(np.asarray(assignments)))
    stats = term_statistics(texts, assignments, ngram_range)
    if stats is None:
        return {t: ("other" if t == outlier else f"theme {t}", []) for t in themes}
    scores = phrase_scores(stats)
    labels = select_labels(stats, scores, label_max_df, skip=[outlier])
    keywords = select_keywords(stats, scores, top_n, label_max_df)
    out = {}
    for t in themes:
        if t == outlier:
            out[t] = ("other", keywords[t][:top_n])
        else:
            out[t] = (labels[t], with_label(labels[t], keywords[t], top_n))
    return out
