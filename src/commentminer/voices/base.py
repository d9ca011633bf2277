"""Voice-extractor protocol: article bodies in, quoted voices (offsets, speaker, role, place) out (plain data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Voice:
    """One person quoted in a text, with the stretch of text that carries what they said.

    `start`/`end` index the text the extractor was given (text[start:end] is the unit text, stripped).
    """

    start: int
    end: int
    speaker: str | None   # "Liz Reynolds"; None for an unnamed speaker ("Another delegate, ...")
    role: str | None      # "practice manager"; None when the text gives none
    place: str | None     # the speaker's own place as written ("Surrey"), never an event's location


class VoiceExtractor(Protocol):
    """Finds quoted voices. `extractor_id` changes whenever the results could change (model, rules)."""

    extractor_id: str

    def extract(self, texts: Sequence[str]) -> list[list[Voice]]:
        """Voices of each text, in text order; at most one voice per (start, end) span."""
        ...
