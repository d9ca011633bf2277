"""Theme labels and keywords: grounded, contrastive phrases chosen by log-odds with an informative prior.

Plain functions on arrays. The pipeline is:

1. `terms.PhraseAnalyzer` turns a unit's text into candidate phrases: 1-3 word n-grams formed inside punctuation
   chunks that neither start nor end with a stop word ("lip service", "voting rights", "seat on the board"),
   so phrases read naturally instead of the stop-word-stripped n-grams a stop-word CountVectorizer builds.
2. `terms.term_statistics` counts, per theme, how often each phrase occurs and in how many member units (support),
   and marks phrases a writer set in quotation marks (“lip service”, “sidelined”: salient by the writer's own
   choice) and proper names (tokens only ever written Capitalised: "Lansley", "Gerada").
3. `phrase_scores` ranks phrases per theme by the z-score of the log-odds ratio with an informative Dirichlet
   prior (Monroe, Colaresi & Quinn 2008) of the theme against all other units, so a phrase wins by being
   *more* frequent in the theme than elsewhere, with the evidence (its count) taken into account; quoted
   phrases and phrases of the theme's guided seed list are boosted, proper names damped.
4. `select_labels` picks one distinct phrase per theme. A label always occurs in member units: normally in
   at least two, but a phrase said once may win in a small theme when it is distinctive (found nowhere else)
   and pointed (quoted, a seed phrase, or several words): "lip service" is said once in the sample corpus.
   Corpus-wide phrases ("practice managers" in a corpus about practice managers), names and, given a
   part-of-speech tagger, single words their sentences use as verbs or adjectives ("hope", "best") are used
   only when nothing else is left. `select_keywords` fills the keyword list by MMR (score vs word overlap with
   the phrases already kept), so keywords are varied rather than five forms of one phrase.
5. Labels and keywords are shown as the texts most often write them inside a sentence ("CCG boards", "PCT",
   "Department of Health", "lip service"; `wordforms.phrase_forms`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .phrases import NOUN_LIKE as _NOUN_LIKE
from .phrases import Tagger, first_names, generic_mask, pos_flags, prefer_phrase
from .terms import STOP_WORDS, PhraseAnalyzer, TermStats, term_statistics, vocab_index
from .wordforms import phrase_forms

# A phrase has to keep this share of a shorter phrase's support in the theme to replace it as the label:
# "lip service" (10 units) beats "lip" (10) and "service" (12); "voting rights" (6) beats "voting" (8).
PHRASE_KEEP = 0.6

# Log-odds prior: this many pseudo-counts, spread over the vocabulary in proportion to corpus frequency.
PRIOR_MASS = 100.0
# Score multipliers: a phrase the writer put in quotation marks, a phrase from the theme's guided seed list, a name.
QUOTED_BOOST = 2.0
QUOTED_MAX_DF = 3
SEED_BOOST = 2.0
NAME_DAMP = 0.5
# Score multiplier per extra word of a phrase.
PHRASE_BONUS = 0.25
# Themes with at most this many units may take a distinctive phrase said in only one member unit as label.
SMALL_THEME = 40
# A label kept from an earlier run (`select_labels` fixed) must still be among the theme's this many best phrases
# (about its keyword list).
FIXED_TOP = 10
# MMR trade-off for keywords: 1 = by score only, 0 = by novelty only.
MMR_LAMBDA = 0.7
MMR_POOL = 60


def log_odds_z(counts: np.ndarray, prior_mass: float = PRIOR_MASS) -> np.ndarray:
    """(k, V) z-scores of the log-odds ratio of each phrase in each theme vs all other themes.

    Informative Dirichlet prior (Monroe et al. 2008): alpha_w = prior_mass * corpus share of w. The z-score
    divides the smoothed log-odds difference by its approximate standard deviation, so a phrase seen once
    scores lower than one seen five times at the same rate.
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=0)
    n_all = max(float(total.sum()), 1.0)
    alpha = prior_mass * total / n_all
    a0 = float(alpha.sum())
    n_in = counts.sum(axis=1, keepdims=True)
    rest = total[None, :] - counts
    n_rest = n_all - n_in
    eps = 1e-12
    delta = (np.log((counts + alpha + eps) / np.maximum(n_in + a0 - counts - alpha, eps))
             - np.log((rest + alpha + eps) / np.maximum(n_rest + a0 - rest - alpha, eps)))
    var = 1.0 / (counts + alpha + eps) + 1.0 / (rest + alpha + eps)
    return delta / np.sqrt(var)


def seed_mask(stats: TermStats, seeds: Sequence[str]) -> np.ndarray:
    """(V,) bool: phrases equal to a seed phrase, or multi-word phrases inside one ("lip service" in
    "paying lip service")."""
    analyzer = PhraseAnalyzer((1, 4))
    wanted: set[str] = set()
    for seed in seeds:
        words = analyzer.tokens(seed.lower())
        wanted.add(" ".join(words))
        # every run of 2+ consecutive words: exactly the multi-word phrases found inside the seed at word edges
        wanted.update(" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1))
    index = vocab_index(stats)
    mask = np.zeros(len(stats.vocab), dtype=bool)
    mask[[index[p] for p in wanted if p in index]] = True
    return mask


def phrase_scores(stats: TermStats, seed_phrases: dict[int, Sequence[str]] | None = None,
                  label_max_df: float = 0.25) -> np.ndarray:
    """(k, V) contrastive score: log-odds z times sqrt(concentration), boosted for quoted, seed and longer
    phrases, damped for names.

    Only positive scores are boosted or damped (a phrase rarer in the theme than elsewhere stays negative).
    """
    # Concentration (share of the phrase's units that are in this theme) favours phrases the theme owns:
    # "sidelined" (both its units here) over "management" (a quarter of its units here) at similar z.
    concentration = stats.support / np.maximum(stats.doc_freq, 1.0)[None, :]
    z = log_odds_z(stats.counts) * np.sqrt(concentration)
    # A phrase of several words names a theme more precisely than any one of its words ("shadow board").
    # Only words that are neither stop words nor corpus-wide ("managers") make a phrase more precise.
    plain = STOP_WORDS | _common_words(stats, label_max_df)
    n_words = np.array([sum(w not in plain for w in str(p).split()) for p in stats.vocab], dtype=np.float64)
    boost = np.ones_like(z) * (1.0 + PHRASE_BONUS * np.maximum(n_words[None, :] - 1.0, 0.0))
    # Quotation marks single a phrase out only when it is rare: scare quotes (“sidelined”), not ‘management’.
    boost[:, stats.quoted & (stats.doc_freq <= QUOTED_MAX_DF)] *= QUOTED_BOOST
    boost[:, stats.names] *= NAME_DAMP
    for row, theme in enumerate(stats.theme_ids):
        seeds = (seed_phrases or {}).get(theme)
        if seeds:
            boost[row, seed_mask(stats, seeds)] *= SEED_BOOST
    return np.where(z > 0, z * boost, z)


def _contains(longer: str, shorter: str) -> bool:
    return f" {shorter} " in f" {longer} "


def _pointed(stats: TermStats) -> np.ndarray:
    """(V,) phrases worth showing even when said once: quoted, or several content words ("voting rights", not
    "cacophany and wise")."""
    if "pointed" not in stats.memo:
        multi = np.array([" " in str(p) and not any(w in STOP_WORDS for w in str(p).split()) for p in stats.vocab],
                         dtype=bool)
        stats.memo["pointed"] = _frozen(stats.quoted | multi)
    return stats.memo["pointed"]


def _eligible(stats: TermStats, scores: np.ndarray, row: int, allow_single: bool,
              seeds: np.ndarray | None = None) -> np.ndarray:
    size = stats.sizes[row]
    eligible = stats.support[row] >= min(2.0, size)
    if allow_single and size <= SMALL_THEME:
        pointed = _pointed(stats) if seeds is None else _pointed(stats) | seeds
        eligible |= (stats.support[row] >= 1) & (stats.doc_freq == stats.support[row]) & pointed
    return eligible & (scores[row] > 0)


def _ranked_candidates(
    stats: TermStats, scores: np.ndarray, row: int, label_max_df: float, min_support: float | None = None,
    exclude_common: bool = True, allow_single: bool = True, seeds: np.ndarray | None = None,
) -> list[int]:
    if min_support is None:
        eligible = _eligible(stats, scores, row, allow_single, seeds)
    else:
        eligible = (stats.support[row] >= min_support) & (scores[row] > 0)
    common = corpus_wide(stats, label_max_df)
    if exclude_common:  # corpus-wide phrases, names and lone verbs/adjectives only when nothing else is left
        loose = stats.loose if stats.loose is not None else np.zeros(len(stats.vocab), dtype=bool)
        for unwanted in (common, stats.names, stats.non_nouns, loose):
            if (eligible & ~unwanted).any():
                eligible &= ~unwanted
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
    key = ("common_words", max_df)
    if key not in stats.memo:
        stats.memo[key] = frozenset(w for phrase in stats.vocab[corpus_wide(stats, max_df)] for w in str(phrase).split())
    return stats.memo[key]


def corpus_wide(stats: TermStats, max_df: float) -> np.ndarray:
    """(V,) mask of phrases that are common *and* spread out: a corpus-specific stop list.

    Common: in more than `max_df` of all units. Spread out: no theme holds more than half of those units. A phrase that
    defines one big theme ("lip service" in every unit of a theme a third of the corpus) is common but not
    spread out, so it stays a candidate; "practice managers" in a corpus about practice managers is both.
    Computed once per `stats` and `max_df` (do not change the returned mask).
    """
    key = ("corpus_wide", max_df)
    if key not in stats.memo:
        stats.memo[key] = _frozen(_corpus_wide(stats, max_df))
    return stats.memo[key]


def _frozen(mask: np.ndarray) -> np.ndarray:
    mask.flags.writeable = False
    return mask


def _corpus_wide(stats: TermStats, max_df: float) -> np.ndarray:
    common = stats.doc_freq > max_df * stats.n_units
    top_share = stats.support.max(axis=0) / np.maximum(stats.doc_freq, 1.0)
    mask = common & (top_share <= 0.5)
    # Variants made only of those phrases' words count too ("practice manager" next to "practice managers").
    words = {w.rstrip("s") for p in stats.vocab[mask] for w in str(p).split()}
    if words:
        mask |= np.array([all(w.rstrip("s") in words for w in str(p).split()) for p in stats.vocab], dtype=bool)
    return mask


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
    stats: TermStats, scores: np.ndarray, label_max_df: float = 0.25, skip: Sequence[int] = (),
    fixed: dict[int, str] | None = None, seed_masks: dict[int, np.ndarray] | None = None,
    avoid: dict[int, Sequence[str]] | None = None, allowed: dict[int, np.ndarray] | None = None,
    used: Sequence[str] = (), preferred: dict[int, list[int]] | None = None,
) -> dict[int, str]:
    """One distinct phrase per theme (theme ids in `skip`, e.g. the outlier theme, get none).

    `used` are labels taken elsewhere (the leaf labels, when naming parents): no theme gets one of them or its
    singular/plural (`singular`), so no two nodes of the tree share a label (SFU C3 had a parent "Prime Minister"
    and, under another parent, a leaf "Prime Minister"; later a parent "woman" and a leaf "women").

    `allowed` (theme id -> (V,) weights in [0, 1]) limits a theme's labels to the phrases of positive weight when
    any of them is a candidate, and multiplies their scores by the weight (a parent theme: the share of its
    children that use each phrase, `hierarchy.shared_phrases`, so a phrase most of them say beats one two of them
    say).

    `avoid` (theme id -> phrases) bars a theme from those labels and from phrases inside or around them: a parent
    theme is not named after one of its own children ("PM" over "PM", "consortia"; "Trudeau" over "Justin
    Trudeau"), since the tree would then say nothing new. First names ("Tom", "Doug": `phrases.first_names`)
    never label a theme.

    `fixed` labels (theme id -> phrase, e.g. kept from the previous run) are used as they are when the phrase
    still occurs in a member unit and is still among the theme's FIXED_TOP best-scored phrases (a theme that
    matched an earlier one but has since changed, e.g. a re-fit with other leaves, is named afresh: SFU C3 kept
    "Black Lives Matter" for a theme now about women and religion). The other themes choose in order of their
    best score, so the clearest theme gets its first choice; a phrase equal to, inside, or containing an already
    chosen label, or its singular/plural, is not reused. A theme with no eligible phrase falls back to its best
    phrase in any member unit; with none at all it gets "theme N".

    `preferred` (theme id -> phrase columns, best first: a parent's phrases nearest its centroid, `nearest.py`)
    names such a theme by the first of them that is free of the bars above, before any other candidate.
    """
    skip_set = set(skip)
    scores = _weighted(stats, scores, allowed or {})
    index = vocab_index(stats)
    barred = {t: {p.lower() for p in phrases} for t, phrases in (avoid or {}).items()}
    elsewhere = {p.lower() for p in used}
    chosen: dict[int, str] = {}
    for theme, label in (fixed or {}).items():
        label = label.lower()  # stored as displayed ("CCG boards"); phrases are counted lower-cased
        if is_barred(label, barred.get(theme, ())) or label in elsewhere:
            continue
        if theme in stats.theme_ids and theme not in skip_set and label in index:
            row = stats.theme_ids.index(theme)
            if stats.support[row, index[label]] >= 1 and _still_describes(stats, scores, row, index[label]):
                chosen[theme] = label
    rows = [r for r, t in enumerate(stats.theme_ids) if t not in skip_set and t not in chosen]
    ranked = {}
    for r in rows:
        seeds = (seed_masks or {}).get(stats.theme_ids[r])
        ranked[r] = _ranked_candidates(stats, scores, r, label_max_df, seeds=seeds)
        if seeds is not None:  # a guided theme says it in its own seed words when its members do
            own = [c for c in _ranked_candidates(stats, scores, r, label_max_df, min_support=1.0, exclude_common=False)
                   if seeds[c]]
            own.sort(key=lambda c: (-stats.support[r, c], -scores[r, c], c))
            ranked[r] = own + [c for c in ranked[r] if c not in set(own)]
        if not ranked[r]:
            ranked[r] = _ranked_candidates(stats, scores, r, label_max_df, min_support=1.0)
    common_words = _common_words(stats, label_max_df)
    generic = _generic(stats)
    for r in rows:  # generic words ("article", "shame", "people") never label a theme
        ranked[r] = [c for c in ranked[r] if not generic[c]] or [
            c for c in _ranked_candidates(stats, scores, r, label_max_df, min_support=1.0) if not generic[c]]
        weights = (allowed or {}).get(stats.theme_ids[r])
        if weights is not None:  # e.g. a parent: phrases its children share, when there are any
            ranked[r] = [c for c in ranked[r] if weights[c] > 0] or ranked[r]
    order = sorted(rows, key=lambda r: (-(scores[r, ranked[r][0]] if ranked[r] else 0.0), stats.theme_ids[r]))
    elsewhere_forms = {singular(p) for p in elsewhere}
    for r in order:
        taken = list(chosen.values())
        taken_forms = elsewhere_forms | {singular(t) for t in taken}
        first = first_names(stats, r)
        own_bars = barred.get(stats.theme_ids[r], ())

        def is_free(c: int) -> bool:
            phrase = str(stats.vocab[c])
            return (not first[c] and singular(phrase) not in taken_forms
                    and not is_barred(phrase, own_bars) and not is_barred(phrase, taken))

        free = [c for c in ranked[r] if is_free(c)]
        near = [c for c in (preferred or {}).get(stats.theme_ids[r], []) if is_free(c)]
        label = None
        if near:
            label = str(stats.vocab[near[0]])
        elif free:
            best = _extend_phrase(stats, scores, r, prefer_phrase(stats, scores, r, free, common_words), free, common_words)
            label = str(stats.vocab[best])
        chosen[stats.theme_ids[r]] = label or f"theme {stats.theme_ids[r]}"
    return chosen


def rename_theme(stats: TermStats, texts: Sequence[str], theme: int, barred: Sequence[str],
                 label_max_df: float = 0.25, forms_cache: dict[str, str] | None = None) -> str:
    """A new label for `theme`, written as `texts` write it, when its label went to its parent
    (`hierarchy.family_words`).

    Chosen as `select_labels` chooses, barred from `barred` (the parent's label and every other label in the
    tree) and from phrases inside or around them. `stats` are the leaf statistics of exactly `texts` that
    `describe_themes` has already flagged (part of speech); no guided seeds (a guided theme keeps its label).
    """
    scores = phrase_scores(stats, None, label_max_df)
    others = [t for t in stats.theme_ids if t != theme]
    label = select_labels(stats, scores, label_max_df, skip=others, avoid={theme: [b.lower() for b in barred]})[theme]
    cache = {} if forms_cache is None else forms_cache
    if label not in cache:
        cache.update(phrase_forms([label], texts, stats.display))
    return cache[label]


def _weighted(stats: TermStats, scores: np.ndarray, weights: dict[int, np.ndarray]) -> np.ndarray:
    """`scores` with each weighted theme's row multiplied by its weights where they are positive (a copy when any
    theme is weighted). Phrases of weight 0 keep their score: they are the fallback when no weighted phrase is
    a candidate."""
    rows = [(stats.theme_ids.index(t), np.asarray(w, np.float64)) for t, w in weights.items() if t in stats.theme_ids]
    if not rows:
        return scores
    out = scores.copy()
    for r, w in rows:
        out[r] = np.where(w > 0, out[r] * w, out[r])
    return out


# Plurals a trailing "s" does not make; enough for labels to tell "woman" and "women" apart from a new theme.
_IRREGULAR_PLURALS = {"women": "woman", "men": "man", "children": "child", "people": "person", "lives": "life"}


def singular(phrase: str) -> str:
    """`phrase` (lower-case) with its last word in the singular, roughly: "women" -> "woman", "carbon taxes" ->
    "carbon tax", "policies" -> "policy". Two labels with the same singular are one label to a reader: SFU C3 had a
    parent "woman" over three columnists, and a leaf "women" under another parent."""
    *head, last = phrase.split(" ") if phrase else [""]
    if last in _IRREGULAR_PLURALS:
        last = _IRREGULAR_PLURALS[last]
    elif len(last) > 4 and last.endswith("ies"):
        last = last[:-3] + "y"
    elif len(last) > 4 and last.endswith(("xes", "ches", "shes", "sses")):
        last = last[:-2]
    elif len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is")):
        last = last[:-1]
    return " ".join([*head, last])


def is_barred(phrase: str, barred: Sequence[str] | set[str]) -> bool:
    """Whether `phrase` is a barred phrase, inside one or around one (whole words, lower-cased phrases)."""
    return any(phrase == b or _contains(b, phrase) or _contains(phrase, b) for b in barred)


def _still_describes(stats: TermStats, scores: np.ndarray, row: int, col: int) -> bool:
    """Whether phrase `col` is among theme `row`'s FIXED_TOP best-scored phrases found in its members."""
    found = scores[row][stats.support[row] >= 1]
    return scores[row, col] > 0 and int(np.sum(found > scores[row, col])) < FIXED_TOP


def _generic(stats: TermStats) -> np.ndarray:
    if "generic" not in stats.memo:
        stats.memo["generic"] = _frozen(generic_mask(stats.vocab))
    return stats.memo["generic"]


def _overlap(a: str, b: str) -> float:
    """Word overlap (Jaccard, a trailing plural "s" ignored) between two phrases."""
    wa = {w.rstrip("s") for w in a.split()}
    wb = {w.rstrip("s") for w in b.split()}
    return len(wa & wb) / max(len(wa | wb), 1)


def select_keywords(
    stats: TermStats, scores: np.ndarray, top_n: int = 10, label_max_df: float = 0.2,
    seed_masks: dict[int, np.ndarray] | None = None,
) -> dict[int, list[str]]:
    """Up to `top_n` phrases per theme by maximal marginal relevance, best first.

    Candidates are the theme's positively scored phrases in two or more member units, plus pointed phrases
    (quoted, seed, several words) said once and nowhere else. Each step keeps the candidate maximising
    MMR_LAMBDA * score - (1 - MMR_LAMBDA) * its word overlap with kept phrases; a phrase inside or containing
    a kept one is skipped. Corpus-wide phrases are allowed here: as keywords they still tell a reader what a
    theme talks about, they just make poor distinguishing labels.
    """
    out: dict[int, list[str]] = {}
    for r, theme in enumerate(stats.theme_ids):
        seeds = (seed_masks or {}).get(theme)
        pool = _ranked_candidates(stats, scores, r, label_max_df, exclude_common=False, seeds=seeds,
                                  allow_single=True)[:MMR_POOL]
        if not pool:
            pool = _ranked_candidates(stats, scores, r, label_max_df, min_support=1.0, exclude_common=False)[:MMR_POOL]
        top = max((scores[r, c] for c in pool), default=1.0) or 1.0
        kept: list[str] = []
        n_single = 0
        remaining = list(pool)
        while remaining and len(kept) < top_n:
            best, best_value = None, -np.inf
            for c in remaining:
                phrase = str(stats.vocab[c])
                novelty = max((_overlap(phrase, k) for k in kept), default=0.0)
                value = MMR_LAMBDA * scores[r, c] / top - (1 - MMR_LAMBDA) * novelty
                if value > best_value:
                    best, best_value = c, value
            remaining.remove(best)
            phrase = str(stats.vocab[best])
            if any(_contains(k, phrase) or _contains(phrase, k) for k in kept):
                continue
            if stats.support[r, best] < 2 and n_single >= max(2, top_n // 2):
                continue  # a full list of one-off phrases reads as noise: at most half of it
            n_single += stats.support[r, best] < 2
            kept.append(phrase)
        out[theme] = kept
    return out


def with_label(label: str, keywords: list[str], top_n: int) -> list[str]:
    """Keywords with the label first (and not repeated), cut to `top_n`."""
    rest = [k for k in keywords if k != label and not _contains(label, k)]
    return ([label] + rest)[:top_n] if not label.startswith("theme ") else keywords[:top_n]


# Word classes that can name a theme on their own ("funding", "Lansley", "CCG"); see phrases.py.
NOUN_LIKE = _NOUN_LIKE


def phrase_occurs(phrase: str, text: str, ngram_range: tuple[int, int] = (1, 4)) -> bool:
    """Whether `phrase` is one of the candidate phrases of `text` (labels must be grounded in members)."""
    n = len(phrase.split())
    return phrase in PhraseAnalyzer((min(ngram_range[0], n), max(ngram_range[1], n)))(text)


def describe_themes(
    texts: Sequence[str], assignments: np.ndarray, ngram_range: tuple[int, int] = (1, 3), top_n: int = 10,
    label_max_df: float = 0.25, outlier: int = -1, seed_phrases: dict[int, Sequence[str]] | None = None,
    fixed_labels: dict[int, str] | None = None, skip: Sequence[int] = (), tagger: Tagger | None = None,
    avoid_labels: dict[int, Sequence[str]] | None = None, stats: TermStats | None = None,
    forms_cache: dict[str, str] | None = None, allowed_labels: dict[int, np.ndarray] | None = None,
    used_labels: Sequence[str] = (),
    preferred_labels: Callable[[TermStats, np.ndarray], dict[int, list[int]]] | None = None,
) -> dict[int, tuple[str, list[str]]]:
    """theme id -> (label, keywords) for every theme in `assignments`. The outlier theme is labelled "other".

    Labels and keywords are written the way the texts write their words ("CCG boards", "Department of
    Health", "lip service"; see `phrase_forms`).

    `seed_phrases` (theme id -> guided seed phrases) boost those phrases in that theme; `fixed_labels` keep
    earlier labels that are still grounded, `avoid_labels` bars phrases per theme, `allowed_labels` limits and weighs
    them and `used_labels` bars labels taken elsewhere (see `select_labels`); `preferred_labels(stats, scores)`, called
    once the phrases are flagged, gives themes phrases to be named by first (`select_labels` `preferred`; the
    parents' phrases nearest their centroids, `nearest.nearest_phrases`);
    themes in `skip` get keywords but no label (label ""). With a `tagger`, single words used mostly as verbs
    or adjectives label a theme only when nothing else is left (see `non_noun_words`).

    `stats` may be given when already computed for exactly these texts and assignments (`term_statistics`, or
    `regroup` of another grouping of the same texts); part-of-speech flags it already has are kept, and the
    tagger's findings on these themes' best candidates added. `forms_cache`
    (phrase -> written form) keeps `phrase_forms` results between calls on the same texts.
    """
    themes = sorted(int(t) for t in np.unique(np.asarray(assignments)))
    if stats is None:
        stats = term_statistics(texts, assignments, ngram_range)
    elif stats.theme_ids != themes:
        raise ValueError(f"describe_themes: stats are for themes {stats.theme_ids}, assignments have {themes}")
    if stats is None:
        return {t: ("other" if t == outlier else f"theme {t}", []) for t in themes}
    scores = phrase_scores(stats, seed_phrases, label_max_df)
    none = np.zeros(len(stats.vocab), dtype=bool)
    found = (pos_flags(stats, scores, texts, assignments, tagger) if tagger is not None
             else (none, none.copy(), none.copy()))
    # flags carried over from the leaves (`regroup`) stay: they were found tagging other candidates of the same texts
    stats.non_nouns, stats.proper, stats.loose = (new if old is None else new | old for new, old in
                                                  zip(found, (stats.non_nouns, stats.proper, stats.loose)))
    masks = {t: seed_mask(stats, s) for t, s in (seed_phrases or {}).items() if s and t in stats.theme_ids}
    preferred = preferred_labels(stats, scores) if preferred_labels is not None else None
    labels = select_labels(stats, scores, label_max_df, skip=[outlier, *skip], fixed=fixed_labels, seed_masks=masks,
                           avoid=avoid_labels, allowed=allowed_labels, used=used_labels, preferred=preferred)
    keywords = select_keywords(stats, scores, top_n, label_max_df, seed_masks=masks)
    shown_words = {t: keywords[t][:top_n] if t == outlier or t in set(skip)
                   else with_label(labels[t], keywords[t], top_n) for t in themes}
    wanted = [w for t in themes for w in shown_words[t]] + [labels[t] for t in labels]
    cache = {} if forms_cache is None else forms_cache
    new = [w for w in dict.fromkeys(wanted) if w not in cache]
    if new:
        cache.update(phrase_forms(new, texts, stats.display))
    forms = {w: cache[w] for w in wanted}
    out = {}
    for t in themes:
        label = "other" if t == outlier else "" if t in set(skip) else forms[labels[t]]
        out[t] = (label, [forms[w] for w in shown_words[t]])
    return out
