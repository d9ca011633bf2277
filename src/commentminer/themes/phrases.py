"""Which candidate phrase labels a theme: a noun phrase of two or three words over a single word, never a generic word.

An editor names a theme "electoral reform", "carbon tax" or "Stephen Harper", not "party", "Canada" or "shame".
labels.py ranks every candidate phrase of a theme by contrastive score; this module decides between the top
single word and the phrases:

- `generic_mask`: phrases made only of GENERIC_WORDS (and stop words) never label a theme ("article", "shame",
  "think", "people", "good point"): they are in every comment section whatever it is about.
- `pos_flags`: with a part-of-speech tagger, for each theme's best few candidates, tagged in a few member
  sentences each: single words used mostly as verbs/adjectives (`non_nouns`: "hope", "best"), single words
  used mostly as proper nouns (`proper`: "Harper", "Trudeau"), and multi-word n-grams that are not noun phrases
  where they occur (`loose`: "vote conservative", "harper won", whose last word is not a noun or whose first
  word is a verb, pronoun or adverb).
- `prefer_phrase`: the top candidate when it is already a phrase; otherwise a noun phrase of the theme that keeps
  PHRASE_MIN_SCORE of the word's score and PHRASE_MIN_SUPPORT of its member units wins over the word, unless the
  word is a proper name that covers at least NAME_COVER of the theme's units ("Harper" over "prime minister"
  when most sentences say Harper). A proper name is written in full when the theme's members mostly write it
  one way (`full_name`: "Rob Ford", not "Ford", in a theme where "Doug Ford" is rare).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import islice

import numpy as np

from .terms import STOP_WORDS, TermStats, vocab_index
from .wordforms import LETTER as _LETTER

# Words that say nothing about what a comment is about: meta-talk about the article and the thread, opinion
# markers, evaluations and fillers. A phrase made only of these (and stop words) never labels a theme.
GENERIC_WORDS = frozenset({
    "article", "articles", "author", "writer", "column", "columnist", "columns", "comment", "comments",
    "commenter", "commenters", "story", "stories", "piece", "read", "reading", "reader", "readers", "post",
    "posts", "headline", "editorial", "op-ed", "shame", "think", "thinks", "people", "person", "persons",
    "thing", "things", "way", "ways", "time", "times", "year", "years", "day", "days", "today", "fact", "facts",
    "question", "questions", "point", "points", "issue", "issues", "problem", "problems", "lol", "yes", "agree",
    "agreed", "right", "wrong", "true", "false", "sure", "really", "actually", "course", "matter", "reason",
    "reasons", "kind", "sort", "lot", "bit", "stuff", "part", "case", "idea", "ideas", "word", "words",
    "nonsense", "sense", "opinion", "opinions", "view", "views", "side", "sides", "good", "bad", "great",
    "better", "best", "worse", "worst", "nice", "sad", "wow", "oh", "ok", "okay", "thanks", "thank", "please",
    "hope", "believe", "feel", "feels", "mean", "means", "sorry", "stupid", "idiot", "idiots", "joke", "funny",
    "exactly", "absolutely", "indeed", "simply", "maybe", "probably", "certainly", "clearly", "obviously",
    "guy", "guys", "folks", "everybody", "everyone", "somebody", "someone", "anybody", "anyone", "man",
    "example", "number", "numbers", "place", "end", "start", "long", "little", "big", "real", "whole", "fine",
    "wonder", "hear", "heard", "look", "looks", "looking", "see", "sees", "saw", "remember", "understand",
    "glad", "happy", "wish", "care", "stop", "start", "keep", "try", "trying", "talk", "talking", "writing",
    "write", "wrote", "written", "agree", "disagree", "certain", "different", "important", "interesting",
    "simple", "easy", "hard", "far", "sir", "madam", "dear", "hey", "hi", "haha", "ha", "etc", "thread",
    "subject", "subjects", "topic", "topics",
    # verbs of any sentence (the stop list has "do" but not "does"; a C3 parent was named "does")
    "does", "did", "doing", "get", "gets", "got", "make", "makes", "made", "say", "says", "said", "know",
    "knows", "want", "wants", "need", "needs", "go", "goes", "going",
})

# Stop words that may join the words of a promoted phrase.
PHRASE_JOINERS = frozenset({"of", "the", "for", "on"})
# A phrase label needs at least this share of the top single word's score and of its supporting units.
PHRASE_MIN_SCORE = 0.3
PHRASE_MIN_SUPPORT = 0.15
# A proper name labels a theme alone when it occurs in at least this share of the theme's units.
NAME_COVER = 0.3
# A one-word name is shown as a longer name containing it ("Kathleen Wynne" for "Wynne") when that name is in at
# least FULL_NAME_SHARE of the word's member units and in FULL_NAME_LEAD times as many as any other such name
# ("Justin Trudeau" 123 units, "Pierre Trudeau" 21, on SFU C3), so the full form is the one the members mean.
FULL_NAME_SHARE = 0.1
FULL_NAME_LEAD = 2.0
# A proper name is a first name in a theme when at least this share of its member units write it before another
# name ("Tom Flanagan", "Tom Mulcair", "Angry Tom" aside): it never labels the theme alone.
FIRST_NAME_SHARE = 0.6
# ... or when, over the whole label sample, at least this share of its units do: of the about 415 SFU C3 units
# saying "Justin", 157 say "Justin Trudeau", which tells whom the rest mean; a parent over the Obama, Trump and
# Senate leaves was named "Justin" by a sarcastic mention in each child. A one-word name that is someone's first name
# this often names that person, never a group.
FIRST_NAME_CORPUS_SHARE = 0.3
# A one-word proper name covering its theme still gives way to a phrase containing it (not a name: "French
# immersion" under "French") that holds PRECISE_FORM_SHARE of the name's units and FULL_NAME_LEAD times as many as
# the next such phrase: on SFU C3, 50 of the 159 units saying "French" in a schools leaf say "French immersion",
# the next form ("English and French") 3.
PRECISE_FORM_SHARE = 0.25
# Part-of-speech check budget per theme: this many single words and this many phrases, each in this many sentences.
POS_WORDS = 8
POS_PHRASES = 12
POS_CONTEXTS = 12
# ... but fewer sentences per candidate (down to POS_MIN_CONTEXTS) when themes x candidates x POS_CONTEXTS would
# pass POS_BUDGET sentences: spaCy tags about 450 sentences/s here, and on SFU C3 12k (53 leaves) 12 sentences
# per candidate cost 14.6 s of a 36 s themes stage while 4 gave the same labels but one ("vote" for "election").
POS_BUDGET = 3000
POS_MIN_CONTEXTS = 3
# A word is noun-like / a proper noun when at least this share of its tagged occurrences are.
POS_SHARE = 0.5
NOUN_LIKE = frozenset({"NOUN", "PROPN", "NUM", "SYM", "X"})
# First words that do not open a noun phrase ("vote conservative", "blame harper", "never trust").
NOT_NP_START = frozenset({"VERB", "AUX", "PRON", "ADV", "ADP", "SCONJ", "CCONJ", "PART", "INTJ", "DET"})

# texts -> per text, (lower-cased token, coarse part of speech) pairs: e.g. `themes.pos.SpacyTagger`.
Tagger = Callable[[Sequence[str]], Sequence[Sequence[tuple[str, str]]]]


def generic_mask(vocab: np.ndarray) -> np.ndarray:
    """(V,) bool: phrases whose every word is a generic word or a stop word."""
    return np.array([all(w in GENERIC_WORDS or w in STOP_WORDS for w in str(p).split()) for p in vocab], dtype=bool)


def is_multi(stats: TermStats) -> np.ndarray:
    """(V,) bool: phrases of two or more words (memoised on `stats`)."""
    if "multi" not in stats.memo:
        stats.memo["multi"] = np.array([" " in str(p) for p in stats.vocab], dtype=bool)
    return stats.memo["multi"]


def proper_words(stats: TermStats) -> np.ndarray:
    """(V,) bool: words that are proper names, by the tagger (`stats.proper`, set by `pos_flags`) or, without
    one, by being only ever written Capitalised (`stats.names`)."""
    return stats.names if stats.proper is None else stats.proper | stats.names


def name_phrases(stats: TermStats) -> np.ndarray:
    """(V,) bool: phrases of several words opening and closing on a proper name (`proper_words`) whatever joins
    them ("Globe and Mail", "Rob Ford"). Memoised, so computed after the proper names are set (`pos_flags`)."""
    if "name_phrases" not in stats.memo:
        index = vocab_index(stats)
        proper = proper_words(stats)

        def named(word: str) -> bool:
            return word in index and bool(proper[index[word]])

        stats.memo["name_phrases"] = np.array(
            [len(words) >= 2 and named(words[0]) and named(words[-1])
             for words in (str(p).split() for p in stats.vocab)], dtype=bool)
    return stats.memo["name_phrases"]


def is_compact(stats: TermStats) -> np.ndarray:
    """(V,) bool: multi-word phrases shaped like a noun phrase: their inner stop words, if any, are PHRASE_JOINERS
    ("freedom of speech", "carbon tax"; not "savings and accounts", "harper to win"), or they are a name of
    several words (`name_phrases`: "Globe and Mail").

    The mask is memoised, so it is computed after the proper names are set."""
    if "compact" not in stats.memo:
        joined = np.array([len(words) >= 2 and all(w not in STOP_WORDS or w in PHRASE_JOINERS for w in words)
                           for words in (str(p).split() for p in stats.vocab)], dtype=bool)
        stats.memo["compact"] = joined | name_phrases(stats)
    return stats.memo["compact"]


def _words(tags: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Tagged tokens reduced to the words PhraseAnalyzer counts (punctuation and a possessive "'s" dropped)."""
    words, pos = [], []
    for token, tag in tags:
        if tag == "PUNCT" or token in ("'s", "'"):
            continue
        words.append(token)
        pos.append(tag)
    return words, pos


def _phrase_tags(words: list[str], pos: list[str], phrase: list[str]) -> list[list[str]]:
    """The tags of each occurrence of `phrase` (a word list) in `words`."""
    n = len(phrase)
    return [pos[i : i + n] for i in range(len(words) - n + 1) if words[i : i + n] == phrase]


def pos_contexts(n_themes: int) -> int:
    """Member sentences tagged per candidate phrase for `n_themes` themes (see POS_BUDGET)."""
    share = POS_BUDGET // max(1, n_themes * (POS_WORDS + POS_PHRASES))
    return int(min(POS_CONTEXTS, max(POS_MIN_CONTEXTS, share)))


def pos_flags(stats: TermStats, scores: np.ndarray, texts: Sequence[str], assignments: np.ndarray,
              tagger: Tagger) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(non_nouns, proper, loose): (V,) bool masks from tagging each theme's best candidates in context.

    Only each theme's POS_WORDS best single words and POS_PHRASES best phrases are checked, in at most
    `pos_contexts` member sentences each, so the cost does not grow with the corpus (and grows with the number
    of themes only past POS_BUDGET). Unchecked phrases are False in every mask.
    """
    vocab = [str(p) for p in stats.vocab]
    multi = is_multi(stats)
    assignments = np.asarray(assignments)
    wanted: dict[int, list[int]] = {}            # vocab index -> member text indices to tag
    contexts = pos_contexts(len(stats.theme_ids))
    for row, theme in enumerate(stats.theme_ids):
        members = np.flatnonzero(assignments == theme)
        for mask, budget in ((~multi, POS_WORDS), (multi, POS_PHRASES)):
            cols = np.flatnonzero(mask & (scores[row] > 0) & (stats.support[row] >= 1))
            cols = cols[np.argsort(-scores[row, cols], kind="stable")][:budget]
            for col in cols:
                pattern = r"\W+".join(re.escape(w) for w in vocab[col].split())
                found = re.compile(rf"(?<!{_LETTER}){pattern}(?!{_LETTER})")
                hits = islice((int(i) for i in members if found.search(str(texts[i]).lower())), contexts)
                wanted.setdefault(int(col), []).extend(hits)
    non_nouns = np.zeros(len(vocab), dtype=bool)
    proper = np.zeros(len(vocab), dtype=bool)
    loose = np.zeros(len(vocab), dtype=bool)
    order = sorted({i for found in wanted.values() for i in found})
    if not order:
        return non_nouns, proper, loose
    tagged = {i: _words(tags) for i, tags in zip(order, tagger([str(texts[i]) for i in order]))}
    for col, found in wanted.items():
        phrase = vocab[col].split()
        seen = [t for i in set(found) for t in _phrase_tags(*tagged[i], phrase)]
        if not seen:
            continue
        if len(phrase) == 1:
            tags = [t[0] for t in seen]
            non_nouns[col] = sum(t in NOUN_LIKE for t in tags) / len(tags) < POS_SHARE
            proper[col] = sum(t == "PROPN" for t in tags) / len(tags) >= POS_SHARE
        else:
            np_like = [t[-1] in NOUN_LIKE and t[0] not in NOT_NP_START for t in seen]
            loose[col] = sum(np_like) / len(np_like) < POS_SHARE
    return non_nouns, proper, loose


def prefer_phrase(stats: TermStats, scores: np.ndarray, row: int, free: list[int],
                  common_words: frozenset[str] | set[str] = frozenset()) -> int:
    """The label among `free` (theme `row`'s candidates, best first): a phrase over a single word (see module).

    Phrases with a corpus-wide word (`common_words`: "managers" in a corpus about practice managers) or a
    generic word are not promoted: the added word would say nothing about the theme."""
    best = free[0]
    multi = is_multi(stats)
    if multi[best]:
        return best
    support = stats.support[row]
    if proper_words(stats)[best]:
        full = full_name(stats, row, free, best)
        if full is not None:
            return full
        if support[best] >= NAME_COVER * stats.sizes[row]:
            precise = precise_form(stats, row, free, best)
            return best if precise is None else precise
    loose = stats.loose if stats.loose is not None else np.zeros(len(stats.vocab), dtype=bool)
    compact = is_compact(stats)
    phrases = [c for c in free if compact[c] and not loose[c]
               and scores[row, c] >= PHRASE_MIN_SCORE * scores[row, best]
               and support[c] >= max(2.0, PHRASE_MIN_SUPPORT * support[best])
               and not any(w in common_words or w in GENERIC_WORDS for w in str(stats.vocab[c]).split())]
    if not phrases:
        return best
    # a phrase with the top word in it reads as its precise form ("carbon tax" for "tax"): preferred on near-ties
    word = str(stats.vocab[best])
    return max(phrases, key=lambda c: (scores[row, c] * (1.5 if word in str(stats.vocab[c]).split() else 1.0), -c))


def full_name(stats: TermStats, row: int, free: list[int], word: int) -> int | None:
    """The name among `free` that writes the one-word name `word` in full in theme `row`, or None.

    Candidates are names of several words (`name_phrases`) with `word` in
    them; the most supported wins when it has FULL_NAME_SHARE of the word's units and FULL_NAME_LEAD times the
    next one's ("Rob Ford" 75 units over "Ford Nation" 27; "Tom Mulcair" in 6% of "Mulcair"'s units is not
    enough)."""
    text = str(stats.vocab[word])
    named = name_phrases(stats)
    names = [c for c in free if named[c] and text in str(stats.vocab[c]).split()]
    return _dominant_form(stats.support[row], names, word, FULL_NAME_SHARE)


def precise_form(stats: TermStats, row: int, free: list[int], word: int) -> int | None:
    """The phrase among `free` that theme `row` uses for the one-word name `word` made precise ("French
    immersion" for "French"), or None: a noun phrase (`is_compact`, not `loose`) containing the word, not itself a
    name, in PRECISE_FORM_SHARE of the word's units and FULL_NAME_LEAD times as many as the next such phrase."""
    text = str(stats.vocab[word])
    compact, named = is_compact(stats), name_phrases(stats)
    loose = stats.loose if stats.loose is not None else np.zeros(len(stats.vocab), dtype=bool)
    forms = [c for c in free if compact[c] and not named[c] and not loose[c] and text in str(stats.vocab[c]).split()]
    return _dominant_form(stats.support[row], forms, word, PRECISE_FORM_SHARE)


def _dominant_form(support: np.ndarray, forms: list[int], word: int, share: float) -> int | None:
    """The most supported of `forms` (ties: lowest column) when it is in `share` of the word's units and in
    FULL_NAME_LEAD times as many as the next form, else None (`full_name`, `precise_form`)."""
    if not forms:
        return None
    ranked = sorted(forms, key=lambda c: (-support[c], c))
    runner_up = support[ranked[1]] if len(ranked) > 1 else 0.0
    top = ranked[0]
    return top if support[top] >= share * support[word] and support[top] >= FULL_NAME_LEAD * runner_up else None


def first_names(stats: TermStats, row: int) -> np.ndarray:
    """(V,) bool: one-word proper names that theme `row`'s members mostly write as the first word of a two-word
    name (FIRST_NAME_SHARE of the word's units, summed over the names it opens: "Tom", "Doug", "Stephen";
    also "Supreme" of "Supreme Court"), or that the whole label sample writes so in FIRST_NAME_CORPUS_SHARE of its
    units ("Justin"). Such a word alone names nobody in particular, or one person rather than a theme."""
    if "first_name_pairs" not in stats.memo:
        index = vocab_index(stats)
        opener, pair = [], []
        for col in np.flatnonzero(name_phrases(stats)):
            words = str(stats.vocab[col]).split()
            if len(words) == 2:
                opener.append(index[words[0]])
                pair.append(col)
        stats.memo["first_name_pairs"] = (np.array(opener, dtype=np.int64), np.array(pair, dtype=np.int64))
    opener, pair = stats.memo["first_name_pairs"]
    support = stats.support[row]
    opened = np.bincount(opener, weights=support[pair], minlength=len(stats.vocab))
    if "first_names_corpus" not in stats.memo:
        overall = np.bincount(opener, weights=stats.doc_freq[pair], minlength=len(stats.vocab))
        stats.memo["first_names_corpus"] = (overall > 0) & (overall >= FIRST_NAME_CORPUS_SHARE * stats.doc_freq)
    return ((opened > 0) & (opened >= FIRST_NAME_SHARE * support)) | stats.memo["first_names_corpus"]
