"""Right-to-left override characters in user text, kept from spilling over the page.

A name such as "Eve \u202Egnp.exe" (RIGHT-TO-LEFT OVERRIDE) reverses everything after it up to the end of the
paragraph: the attribution, the article title, the score. In HTML such text goes inside <bdi> (and the page's CSS
gives bdi `unicode-bidi: isolate`), which ends every embedding and override at the element's end; in SVG text and
attributes, where elements cannot nest, it is wrapped in FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE, the
plain-text form of the same isolation. The text itself is kept (it may be a real right-to-left name).
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Embeddings, overrides, isolates and marks that change the direction of the text around them.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FSI, PDI = "\u2068", "\u2069"


def has_bidi_controls(text: str) -> bool:
    """True when `text` holds a character that can reorder the text around it."""
    return bool(BIDI_CONTROLS.search(text))


def isolate_plain(text: str) -> str:
    """`text` wrapped in FSI ... PDI when it holds direction controls (a stray PDI of its own, which would close
    the isolate early, is dropped); unchanged otherwise."""
    if not has_bidi_controls(text):
        return text
    return FSI + text.replace(PDI, "") + PDI


def finalize(value: object) -> object:
    """Jinja2 `finalize`: a plain string with direction controls is shown escaped inside <bdi>; everything else
    is left to autoescape. Values meant for attributes go through the `plain` filter first (no controls left)."""
    if isinstance(value, str) and not isinstance(value, Markup) and has_bidi_controls(value):
        return Markup("<bdi>") + escape(value) + Markup("</bdi>")
    return value


def plain(value: object) -> str:
    """Template filter for attribute values (URLs): the text with direction controls removed."""
    return BIDI_CONTROLS.sub("", "" if value is None else str(value))
