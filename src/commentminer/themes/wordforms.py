"""How texts write their words: case forms for theme labels and keywords, and which words are names.

Phrases are counted lower-cased (labels.py), but a reader expects "CCG boards" and "Department of Health", and
the label scorer damps proper names ("Lansley"). Both come from one scan of how each word is written, with
capitals that only open a sentence ignored.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Letters are any Unicode letters ([^\W\d_]), so "Québec" and "Zoë" stay one word; digits never start or end one.
LETTER = r"[^\W\d_]"
_WORD = re.compile(rf"{LETTER}(?:{LETTER}|['’\-])*{LETTER}|{LETTER}")


@dataclass
class WordForms:
    """How each word is written across texts. Keys are lower-cased with a possessive "'s" removed, the way
    `PhraseAnalyzer` forms phrase words."""

    lower: set[str]              # written in lower case somewhere
    title: set[str]              # written Capitalised somewhere ("Lansley", also "PMs")
    title_mid: set[str]          # written Capitalised inside a sentence
    caps: set[str]               # written in ALL CAPS somewhere ("CCG")
    mid_forms: dict[str, Counter]  # non-lower-case forms inside a sentence, counted


def word_forms(texts: Sequence[str]) -> WordForms:
    """One scan of `texts` (sentences split at . ! ? : ; and quotation marks) into a `WordForms`."""
    forms = WordForms(set(), set(), set(), set(), {})
    for text in texts:
        for chunk in re.split(r"[.!?:;“”\"]+\s*", str(text)):
            for pos, word in enumerate(_WORD.findall(chunk)):
                word = word.replace("’", "'")
                if word.lower().endswith("'s"):
                    word = word[:-2]
                key = word.lower()
                if word.islower():
                    forms.lower.add(key)
                    continue
                if word[0].isupper() and any(ch.islower() for ch in word[1:]):
                    forms.title.add(key)
                    if pos > 0:
                        forms.title_mid.add(key)
                else:
                    forms.caps.add(key)
                if pos > 0:
                    forms.mid_forms.setdefault(key, Counter())[word] += 1
    return forms


def proper_name_words(forms: WordForms) -> set[str]:
    """Lower-cased words only ever written Capitalised, at least once inside a sentence: "lansley", "gerada".

    Acronyms (all capitals: "CCG", "GP") are not names; a word that also appears in lower case is not a name.
    """
    return (forms.title & forms.title_mid) - forms.lower - forms.caps


def written_forms(forms: WordForms) -> dict[str, str]:
    """Lower-cased word -> how the texts write it, for words never written in lower case: "ccg" -> "CCG",
    "pms" -> "PMs", "lansley" -> "Lansley".

    Phrases are counted lower-cased, but an analyst writes "CCG boards", not "ccg boards". Only forms inside a
    sentence count (a capital after a full stop says nothing); the most common wins (ties: alphabetical).
    """
    return {key: min(seen, key=lambda w: (-seen[w], w)) for key, seen in forms.mid_forms.items()
            if key not in forms.lower}


# A phrase's written form is read from at most this many of its occurrences inside sentences.
FORM_SAMPLE = 25
_SENTENCE_START = re.compile(r"(?:^|[.!?:;])[\s\"“‘'(\[-]*$")


def phrase_forms(phrases: Sequence[str], texts: Sequence[str], word_display: Callable[[str], str]) -> dict[str, str]:
    """phrase -> the most common way `texts` write it: "Department of Health", "Caroline Kerby", "lip service".

    Only occurrences inside a sentence count, plus sentence-initial ones whose later words are capitalised
    (a name: "Caroline Kerby said ..."); ties go to the form with fewer capitals. A phrase read from
    FORM_SAMPLE occurrences stops there. A phrase with no usable occurrence gets `word_display(phrase)`.
    """
    texts = [str(t) for t in texts]
    lowered = [t.lower().replace("’", "'") for t in texts]
    search = _TextSearch(lowered)
    out: dict[str, str] = {}
    for phrase in dict.fromkeys(phrases):
        words = phrase.split(" ")
        longest = max(words, key=len)  # a cheap substring filter before the regex
        # phrase words hold ' where a text may have ’ ("o'neill"), and a possessive may follow each of them
        parts = ["(" + re.escape(w).replace("'", "['’]") + ")(?:['’]s)?" for w in words]
        pattern = re.compile(r"(?<![\w'’-])" + r"\s+".join(parts) + r"(?![\w'’-])", re.IGNORECASE)
        seen: Counter = Counter()
        for i in search.containing(longest):
            text = texts[i]
            for match in pattern.finditer(text):
                form = list(match.groups())  # the words without a possessive: "CCG board" for "CCG’s board"
                if _SENTENCE_START.search(text[: match.start()]) and not (
                        len(form) > 1 and all(not w.islower() for w in form[1:])):
                    continue
                seen[" ".join(form)] += 1
            if sum(seen.values()) >= FORM_SAMPLE:
                break
        out[phrase] = (min(seen, key=lambda f: (-seen[f], sum(ch.isupper() for ch in f), f)) if seen
                       else word_display(phrase))
    return out


class _TextSearch:
    """Which of many texts contain a substring, in text order, found by `str.find` over all texts at once.

    The same texts, in the same order, as testing `sub in text` for each text (a Python loop over every text
    per phrase), lazily: a caller that stops early has not searched the rest.
    """

    SEPARATOR = "\x00"

    def __init__(self, texts: Sequence[str]):
        self.texts = texts
        self.joined = self.SEPARATOR.join(texts)
        self.starts: list[int] = []
        offset = 0
        for text in texts:
            self.starts.append(offset)
            offset += len(text) + 1

    def containing(self, sub: str):
        """Indices of the texts that contain `sub`, ascending."""
        if not sub or self.SEPARATOR in sub:  # every text / a text-by-text scan (not met with phrase words)
            yield from (i for i, text in enumerate(self.texts) if sub in text)
            return
        pos = 0
        while True:
            found = self.joined.find(sub, pos)
            if found < 0:
                return
            i = bisect.bisect_right(self.starts, found) - 1
            yield i
            pos = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.joined)
