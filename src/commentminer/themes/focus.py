"""How focused a theme is: the share of its members that use any of its top keywords.

Sentence embeddings group sentences by what they say, and also by how they say it. On 12,000 news comments (SFU
C3) a few leaves hold short reactions and tone ("Bring it on.", "This is beyond stupid.", "Shame on them.")
whose members share no words: their label is the most distinctive of many rare phrases ("waste of space", in
0.1% of its 2,052 sentences) and any of their five top keywords is in 1-6% of their members, against 15-95% in
the topical leaves. A theme whose focus is below `[themes] loose_focus` is *loose*: it gathers sentences by tone
or form, not by subject, and the report lists it after the focused themes instead of headlining it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .terms import TermStats, vocab_index

# The keywords a member may use to count as on the theme's subject: the label and the next four.
FOCUS_KEYWORDS = 5


def keyword_focus(stats: TermStats, keywords: Sequence[str], members: np.ndarray) -> float:
    """Share of the units at rows `members` of `stats.unit_phrases` that contain at least one of the first
    FOCUS_KEYWORDS of `keywords` (as written in labels: "Globe and Mail" is the phrase "globe and mail");
    0.0 when there are no members or none of the keywords is a counted phrase."""
    index = vocab_index(stats)
    # keywords are phrases as displayed ("CCG boards"); the counted phrases are their lower-cased forms
    cols = sorted({index[key] for key in (str(k).lower() for k in list(keywords)[:FOCUS_KEYWORDS]) if key in index})
    if not len(members) or not cols:
        return 0.0
    return float(np.mean(stats.unit_phrases[np.asarray(members)][:, cols].getnnz(axis=1) > 0))


def theme_focus(stats: TermStats | None, sampled: np.ndarray, themes: pd.DataFrame,
                loose_below: float) -> tuple[list[float | None], list[bool]]:
    """(focus, loose) per row of the `themes` frame (leaves, parents with their children's `parent_id`, "other").

    `sampled`: the leaf theme of each unit `stats` counted (the label sample). A parent's members are its
    children's. "other" (and every theme when `stats` is None: no text had a phrase) gets no focus and is not
    loose."""
    sampled = np.asarray(sampled)
    children: dict[int, list[int]] = {}
    if "parent_id" in themes:
        for theme_id, parent in zip(themes.theme_id, themes.parent_id):
            if parent is not None and not pd.isna(parent):
                children.setdefault(int(parent), []).append(int(theme_id))
    focus: list[float | None] = []
    for row in themes.itertuples():
        if stats is None or row.kind == "other":
            focus.append(None)
            continue
        group = children.get(int(row.theme_id), []) if row.kind == "parent" else [int(row.theme_id)]
        focus.append(keyword_focus(stats, list(row.keywords), np.flatnonzero(np.isin(sampled, group))))
    return focus, [f is not None and f < loose_below for f in focus]
