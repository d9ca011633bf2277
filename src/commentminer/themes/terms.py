"""Candidate phrases and their counts per theme: what theme labels and keywords are chosen from.

`PhraseAnalyzer` turns a unit's text into candidate phrases (1-3 word n-grams inside punctuation chunks that
neither start nor end with a stop word); `term_statistics` counts them per theme (occurrences, supporting units,
document frequency) and marks quoted phrases and proper names; `regroup` merges theme rows (parent themes)
without counting again. labels.py scores and chooses from these statistics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from .wordforms import LETTER as _LETTER
from .wordforms import proper_name_words, word_forms, written_forms

# Words that carry no theme in news text and comments but are not in scikit-learn's English list: reporting
# verbs and honorifics would otherwise label every article-heavy theme "said".
EXTRA_STOP_WORDS = frozenset(
    {"said", "says", "say", "saying", "told", "tell", "added", "just", "like", "really", "think", "thought",
     "going", "got", "get", "gets", "yes", "mr", "mrs", "ms", "dr", "don", "doesn", "didn", "isn", "won", "ll",
     "ve", "re", "s", "t", "d", "m", "lot", "lots", "way", "things", "thing", "want", "make", "need", "needs",
     "let", "seen", "know", "used", "use", "able", "come", "new", "good", "people", "point", "particularly"}
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | EXTRA_STOP_WORDS

_CHUNK_SPLIT = re.compile(r"[.,;:!?()\[\]\"“”‘’/|–—…]+|\s[-']\s|\s'|'\s")
_TOKEN = re.compile(rf"{_LETTER}(?:{_LETTER}|['\-])*{_LETTER}|{_LETTER}")


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
        stop = self.stop_words
        phrases: list[str] = []
        for chunk in _CHUNK_SPLIT.split(text):
            toks = self.tokens(chunk)
            if not toks:
                continue
            edge = [not (t in stop or "'" in t) for t in toks]   # may open or close a phrase (see `_is_stop`)
            for n in range(lo, hi + 1):
                for i in range(len(toks) - n + 1):
                    if edge[i] and edge[i + n - 1]:
                        phrases.append(toks[i] if n == 1 else " ".join(toks[i : i + n]))
        return phrases


def make_vectorizer(ngram_range: tuple[int, int] = (1, 3)) -> CountVectorizer:
    """CountVectorizer over `PhraseAnalyzer` phrases (also usable as BERTopic's vectorizer_model)."""
    return CountVectorizer(analyzer=PhraseAnalyzer(ngram_range), lowercase=False)


_QUOTED = re.compile(r"[“\"‘]([^“”\"‘’\n]{2,60})[”\"’]")


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
    quoted: np.ndarray | None = None   # (V,) bool: the phrase was written inside quotation marks somewhere
    names: np.ndarray | None = None    # (V,) bool: every word is a proper name ("andrew lansley")
    non_nouns: np.ndarray | None = None  # (V,) bool: a single word used mostly as a verb/adjective ("best", "hope")
    proper: np.ndarray | None = None   # (V,) bool: a single word tagged mostly as a proper noun ("Harper")
    loose: np.ndarray | None = None    # (V,) bool: a multi-word n-gram that is not a noun phrase ("vote conservative")
    written: dict[str, str] | None = None  # word -> its written form, for words never written lower-case ("CCG")
    # (units, V) bool CSR: which phrases each counted unit has (`term_statistics`; `regroup` keeps it: same units)
    unit_phrases: sparse.csr_matrix | None = None
    # per-vocabulary masks that depend only on the fields above (corpus_wide, _common_words, _pointed), computed
    # once per TermStats: the label and keyword choice asks for them once per theme and candidate list
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.quoted is None:
            self.quoted = np.zeros(len(self.vocab), dtype=bool)
        if self.names is None:
            self.names = np.zeros(len(self.vocab), dtype=bool)
        if self.non_nouns is None:
            self.non_nouns = np.zeros(len(self.vocab), dtype=bool)
        if self.written is None:
            self.written = {}

    def display(self, phrase: str) -> str:
        """`phrase` with each word as the texts write it: "ccg boards" -> "CCG boards" (see `written_forms`)."""
        return " ".join(self.written.get(word, word) for word in phrase.split(" "))


def vocab_index(stats: TermStats) -> dict[str, int]:
    """phrase -> its column in `stats`, built once per TermStats (memoised)."""
    if "index" not in stats.memo:
        stats.memo["index"] = {str(p): i for i, p in enumerate(stats.vocab)}
    return stats.memo["index"]


def quoted_phrases(texts: Sequence[str], analyzer: PhraseAnalyzer) -> set[str]:
    """Phrases (1-4 words, stop words trimmed at the edges) that a writer set in quotation marks."""
    out: set[str] = set()
    for text in texts:
        for span in _QUOTED.findall(str(text)):
            toks = analyzer.tokens(span.lower().replace("’", "'"))
            while toks and analyzer._is_stop(toks[0]):
                toks = toks[1:]
            while toks and analyzer._is_stop(toks[-1]):
                toks = toks[:-1]
            if 1 <= len(toks) <= 4:
                out.add(" ".join(toks))
    return out


# Above this many theme x phrase cells, phrases found in a single unit are left out (see term_statistics).
MAX_DENSE_CELLS = 5_000_000


def term_statistics(
    texts: Sequence[str], assignments: np.ndarray, ngram_range: tuple[int, int] = (1, 3)
) -> TermStats | None:
    """Count phrases per theme from unit texts. Returns None when no text yields a phrase."""
    assignments = np.asarray(assignments)
    texts = [str(t) for t in texts]
    theme_ids = sorted(int(t) for t in np.unique(assignments))
    vectorizer = make_vectorizer(ngram_range)
    try:
        X = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # empty vocabulary: every text is stop words / punctuation
        return None
    # Theme-membership indicator (k x n) turns unit rows into theme rows with one sparse product.
    rows = np.searchsorted(theme_ids, assignments)
    member = sparse.csr_matrix((np.ones(len(assignments)), (rows, np.arange(len(assignments)))),
                               shape=(len(theme_ids), len(assignments)))
    present = (X > 0).astype(np.float64)
    vocab = vectorizer.get_feature_names_out()
    if len(theme_ids) * len(vocab) > MAX_DENSE_CELLS:
        # counts and support are dense (themes x phrases): with hundreds of themes over a big label sample they
        # would take gigabytes, and most n-grams occur in one unit only (C3: 219k phrases, 32k in two units or
        # more); a phrase in one unit never covers a theme, so it is dropped here rather than scored
        keep = np.flatnonzero(np.asarray(present.sum(axis=0)).ravel() >= 2)
        X, present, vocab = X[:, keep], present[:, keep], vocab[keep]
    quoted = quoted_phrases(texts, vectorizer.analyzer)
    forms = word_forms(texts)
    names = proper_name_words(forms)
    return TermStats(
        theme_ids=theme_ids,
        vocab=vocab,
        counts=np.asarray((member @ X).todense(), dtype=np.float64),
        support=np.asarray((member @ present).todense(), dtype=np.float64),
        doc_freq=np.asarray(present.sum(axis=0)).ravel(),
        sizes=np.bincount(rows, minlength=len(theme_ids)).astype(np.float64),
        n_units=len(assignments),
        quoted=np.array([str(p) in quoted for p in vocab], dtype=bool),
        names=np.array([all(w in names for w in str(p).split()) for p in vocab], dtype=bool),
        written=written_forms(forms),
        unit_phrases=present.astype(bool).tocsr(),
    )


def regroup(stats: TermStats, group_of: dict[int, int]) -> TermStats:
    """`stats` with theme rows merged: theme t's units count towards theme `group_of.get(t, t)`.

    The same as `term_statistics` of the same texts with the merged assignments (counts and supports of disjoint
    unit sets add up; vocabulary, document frequencies, quoted phrases, names and written forms depend on the
    texts only), without counting the phrases again. The part-of-speech flags are carried over as they are: they say
    how the phrase is used in these texts (`labels.describe_themes` adds what tagging the merged themes' own best
    candidates finds), so a word tagged a proper name under one leaf is still one under its parent.
    """
    new_of = [int(group_of.get(t, t)) for t in stats.theme_ids]
    theme_ids = sorted(set(new_of))
    rows = np.searchsorted(theme_ids, new_of)
    merge = sparse.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))),
                              shape=(len(theme_ids), len(rows)))
    return TermStats(
        theme_ids=theme_ids, vocab=stats.vocab, counts=merge @ stats.counts, support=merge @ stats.support,
        doc_freq=stats.doc_freq, sizes=merge @ stats.sizes, n_units=stats.n_units, quoted=stats.quoted,
        names=stats.names, written=stats.written, unit_phrases=stats.unit_phrases,
        non_nouns=stats.non_nouns, proper=stats.proper, loose=stats.loose,
    )
