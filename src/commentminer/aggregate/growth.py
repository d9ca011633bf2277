"""Which themes grew in a run: the report's "what changed" next to theme_changes (see themes/incremental.py)."""

from __future__ import annotations

import pandas as pd

from ..store import Store


def grown_since(store: Store, run_id: str, previous_run_id: str) -> pd.DataFrame:
    """Leaf and "other" themes of `run_id` with more units than in `previous_run_id` (by stable id).

    Columns: theme_id, label (the guided name, else the label), kind, before, after; largest growth first. A theme
    new in `run_id` is not listed (theme_changes has it)."""
    return store.query(
        """
        SELECT t.theme_id, coalesce(t.name, t.label) AS label, t.kind, p.n_units AS before, t.n_units AS after
        FROM themes t JOIN themes p ON p.run_id = ? AND p.theme_id = t.theme_id
        WHERE t.run_id = ? AND t.kind <> 'parent' AND t.n_units > p.n_units
        ORDER BY t.n_units - p.n_units DESC, t.theme_id
        """,
        [previous_run_id, run_id],
    )


def theme_growth(store: Store, run_id: str) -> pd.DataFrame:
    """`grown_since` the run before `run_id` in `theme_runs`, plus its previous_run_id and mode ("incremental":
    new units placed into the last fit's themes; "full": a re-fit). Empty for a first run or a store written
    before `theme_runs` existed."""
    found = store.query("SELECT previous_run_id, mode FROM theme_runs WHERE run_id = ?", [run_id])
    if found.empty or found.iloc[0]["previous_run_id"] is None or pd.isna(found.iloc[0]["previous_run_id"]):
        return pd.DataFrame(columns=["theme_id", "label", "kind", "before", "after", "previous_run_id", "mode"])
    previous, mode = str(found.iloc[0]["previous_run_id"]), str(found.iloc[0]["mode"])
    return grown_since(store, run_id, previous).assign(previous_run_id=previous, mode=mode)
