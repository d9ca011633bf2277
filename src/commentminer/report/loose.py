"""Loose themes in the report: themes that gather sentences by tone or form rather than by subject.

The themes stage stores per theme `focus` (the share of its sampled member sentences that contain any of its first
keywords) and `loose` (focus below `[themes] loose_focus`). A loose theme ("This is beyond stupid.", "Bring it
on.") is labelled by the most distinctive of many rare phrases, so its label names almost none of its members: the
key findings do not rank it, and the brief and report.html mark it and list it after the focused themes. Runs stored
before these columns existed have them null, which reads as "not loose" (the report then is as before).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

MARKER = "loose group"


def is_loose(theme: Mapping[str, Any]) -> bool:
    """Whether a theme row (a dict from `theme_summary`) is a loose group; a missing or null `loose` is not."""
    value = theme.get("loose")
    try:
        if value is None or pd.isna(value):
            return False
    except (TypeError, ValueError):   # not a scalar: not a flag we know
        return False
    return bool(value)


def loose_last(theme: Mapping[str, Any]) -> int:
    """Sort key prefix that puts loose themes after the focused ones (0 focused, 1 loose); sizes order each part."""
    return int(is_loose(theme))


def loose_note(theme: Mapping[str, Any], pct) -> str:
    """The one-line note under a loose theme's heading ("" for a focused theme); `pct` formats its focus share
    the way the surrounding text formats percentages (e.g. `html.fmt_pct`)."""
    if not is_loose(theme):
        return ""
    focus = theme.get("focus")
    if focus is None or pd.isna(focus):
        share = "few of its sentences use"
    else:
        share = f"only {pct(float(focus))} of its sentences use"
    return (f"A loose group: {share} any of its top words; it gathers sentences by tone or form rather than by "
            "subject.")
