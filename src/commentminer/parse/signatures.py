"""Reader-comment signatures: "– Name, Place" as printed after a comment.

Plain functions on strings. The place is whatever follows the name (a town, a county, a region or a practice
name such as "Boleyn Road Practice"); deciding whether it is a real place is the regions stage's job.
"""

from __future__ import annotations

import re

# "Name and address withheld", "Name and address supplied", "Name withheld", "Details supplied", "Anonymous".
# Publishers print these instead of a signature when the reader asked not to be named.
_WITHHELD = re.compile(
    r"^(?:(?:name|details)(?:\s*(?:and|&)\s*(?:address|location|practice))?\s+(?:withheld|supplied)|anonymous)$",
    re.IGNORECASE,
)

# Characters trimmed from both ends of a signature: whitespace, sentence punctuation and stray quotes/dashes
# left over from the page layout (the name itself never starts or ends with them).
_TRIM = " \t\u00a0.,;:–—-\"“”'‘’"


def clean_signature(text: str) -> str:
    """The signature with surrounding whitespace, punctuation and stray quotes/dashes removed."""
    return " ".join(text.split()).strip(_TRIM)


def is_withheld(text: str) -> bool:
    """True for "Name and address withheld" and its variants ("supplied", "Name withheld", "Anonymous")."""
    return bool(_WITHHELD.match(clean_signature(text)))


def parse_signature(text: str) -> tuple[str | None, str | None, bool]:
    """Split a signature into (name, place, withheld).

    A leading dash (en, em or ASCII hyphen), stray quotes and surrounding punctuation are removed first. The
    name is everything before the FIRST comma (titles such as "Dr" stay in the name; a first name alone is a
    name); the place is everything after it, so a place may itself contain commas ("Weston-super-Mare, North
    Somerset"), and it is kept as written even when it names a practice ("Boleyn Road Practice"): deciding
    whether it is a place is the regions stage's job. No comma means no place ("Val Denton" -> place None).
    "Name and address withheld/supplied" (and variants) give (None, None, True).

    >>> parse_signature("Val Denton, Weston Super Mare")
    ('Val Denton', 'Weston Super Mare', False)
    >>> parse_signature("Name and address withheld")
    (None, None, True)
    >>> parse_signature("Jane Doe, Weston-super-Mare, North Somerset")
    ('Jane Doe', 'Weston-super-Mare, North Somerset', False)
    >>> parse_signature("- Dr Jane Povey, Leeds")
    ('Dr Jane Povey', 'Leeds', False)
    """
    cleaned = clean_signature(text)
    if not cleaned:
        return None, None, False
    if _WITHHELD.match(cleaned):
        return None, None, True
    name, _, place = cleaned.partition(",")
    return clean_signature(name) or None, clean_signature(place) or None, False
