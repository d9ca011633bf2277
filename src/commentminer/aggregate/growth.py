"""Which themes grew in a run: the report's "what changed" next to theme_changes (see themes/incremental.py)."""

from __future__ import annotations

import pandas as pd

from ..store import Store


def theme_growth(store: Store, run_id: str) -> pd.DataFrame:
    """Leaf and "other" themes of `run_id` with more units than in the run before it (by stable id).

    Columns: theme_id, label (the guided name, else the label), kind, before, after, previous_run_id, mode
    ("incremental": new units placed into the last fit's themes; "full": a re-fit). Largest growth first; empty
    for a first run or a store written before `theme_runs` existed.
    """
    return store.query(
        """
        SELECT t.theme_id, coalesce(t.name, t.label) AS label, t.kind, p.n_units AS before, t.n_units AS after,
               r.previous_run_id, r.mode
        FROM theme_runs r
        JOIN themes t ON t.run_id = r.run_id
        JOIN themes p ON p.run_id = r.previous_run_id AND p.theme_id = t.theme_id
        WHERE r.run_id = ? AND t.kind <> 'parent' AND t.n_units > p.n_units
        ORDER BY t.n_units - p.n_units DESC, t.theme_id
        """,
        [run_id],
    )
