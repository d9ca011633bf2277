"""Segmenter protocol: texts in, sentence character spans out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Segmenter(Protocol):
    segmenter_id: str

    def split(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """For each text, the (start, end) character offsets of its sentences, in order, covering no whitespace-only spans."""
        ...
