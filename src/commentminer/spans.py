"""Character-span helpers shared by the stages that cut texts into units (segment, voices)."""

from __future__ import annotations


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) moved inward past whitespace, so text[start:end] == text[start:end].strip()."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
