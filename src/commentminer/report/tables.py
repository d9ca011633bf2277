"""Per-comment theme lists for comments.csv and the notebook DataFrames (`commentminer.comments`).

A comment's themes are the themes of its sentence units in the run, most units first; the label shown is the
theme's guided name when it has one, else its generated label. Parent themes are not listed (their leaves are).
"""

from __future__ import annotations

import pandas as pd

from ..store import Store

THEME_SEPARATOR = "; "


def comment_themes(store: Store, run_id: str) -> pd.DataFrame:
    """comment_id, themes ("label; label", most of the comment's units first), theme_ids (list of int)."""
    frame = store.query(
        """
        WITH per_theme AS (
            SELECT u.comment_id, t.theme_id, coalesce(nullif(t.name, ''), t.label) AS theme, count(*) AS n
            FROM units u
            JOIN unit_themes ut ON ut.unit_id = u.unit_id AND ut.run_id = ?
            JOIN themes t ON t.run_id = ut.run_id AND t.theme_id = ut.theme_id
            WHERE u.kind = 'comment' AND u.comment_id IS NOT NULL
            GROUP BY u.comment_id, t.theme_id, theme
        )
        SELECT comment_id,
               string_agg(theme, ? ORDER BY n DESC, theme_id = -1, theme_id) AS themes,
               list(theme_id ORDER BY n DESC, theme_id = -1, theme_id) AS theme_ids
        FROM per_theme GROUP BY comment_id ORDER BY comment_id
        """,
        [run_id, THEME_SEPARATOR],
    )
    frame["theme_ids"] = [[int(t) for t in ids] for ids in frame["theme_ids"]]
    return frame[["comment_id", "themes", "theme_ids"]]


def with_comment_themes(comments: pd.DataFrame, store: Store, run_id: str) -> pd.DataFrame:
    """`comments` with `themes` and `theme_ids` columns inserted before `text` ("" / [] for an unthemed comment)."""
    themes = comment_themes(store, run_id)
    merged = comments.merge(themes, on="comment_id", how="left")
    merged["themes"] = merged["themes"].fillna("")
    merged["theme_ids"] = [ids if isinstance(ids, list) else [] for ids in merged["theme_ids"]]
    if "text" in merged:  # keep the long text last, as in the other exports
        merged = merged[[c for c in merged.columns if c != "text"] + ["text"]]
    return merged
