"""Data for the theme map, theme x region heatmap and over-time views (charts in charts_map / charts_grid).

`build_views` runs in the report stage (it reads the store); `time_views` runs in `html.context` on the per-period
rows the stage already computed. The templates _theme_map / _theme_regions / _over_time.html.j2 show them.
"""

from __future__ import annotations

from typing import Any

from .. import aggregate as agg
from ..store import Store
from . import charts_map
from .charts_grid import UNDATED, heatmap, time_charts
from .pseudonyms import Pseudonyms


def _map_pseudonym(pseudonyms: Pseudonyms):
    """The theme map's hover name for a unit row under pseudonymisation (None keeps the stored name)."""
    def pseudonym(row: dict) -> str | None:
        if row["kind"] == "comment" and (alias := pseudonyms.comment(row.get("comment_id"))):
            place = row.get("place")
            return f"{alias}, {place}" if isinstance(place, str) else alias
        if row["kind"] == "quote" and (alias := pseudonyms.speaker(row.get("speaker"))):
            return f"{alias} (quoted)"
        return None
    return pseudonym


def build_views(store: Store, run_id: str, table: dict, pseudonyms: Pseudonyms | None = None,
                map_method: str = "umap") -> dict[str, Any]:
    """{"theme_map", "theme_map_caption", "heatmap", "heatmap_cells"}; `table`: sentiment_table keyword
    arguments (sentiment_backend, resolver_id, min_commenters, resamples, seed); `map_method`: [report]
    theme_map ("umap" or "pca")."""
    pseudonym = _map_pseudonym(pseudonyms) if pseudonyms is not None else None
    text = pseudonyms.text if pseudonyms is not None else None
    chart, caption = charts_map.theme_map(charts_map.map_units(store, run_id), pseudonym=pseudonym, text=text,
                                          method=map_method)
    cells = agg.sentiment_table(store, run_id, by=("theme", "region"), **table)
    cell_rows = [{k: (None if v != v else v) for k, v in row.items()}   # NaN -> None
                 for row in cells[["theme_id", "theme", "region", "n_commenters", "mean_score", "too_few"]]
                 .to_dict("records")]
    if pseudonyms is not None:
        for row in cell_rows:
            row["theme"] = pseudonyms.text(row["theme"])
    return {"theme_map": chart, "theme_map_caption": caption,
            "heatmap": heatmap(cell_rows, int(table.get("min_commenters", 5))), "heatmap_cells": len(cell_rows)}


def time_views(themes: list[dict], periods: list[dict], period_name: str) -> dict[str, Any]:
    """{"time": [{title, chart, undated}] for the top themes, "undated_label": "Undated", "undated_units" and
    "themed_units": themed units with no date / in all (leaf themes; the over-time section says it once),
    "dated": whether any unit has a date}."""
    leaves = {t["theme_id"] for t in themes if t.get("kind") not in ("parent",)}
    rows = [p for p in periods if p["theme_id"] in leaves]
    undated = sum(int(p["n_units"] or 0) for p in rows if p["period"] == UNDATED)
    dated = any(p["period"] != UNDATED for p in rows)
    return {"time": time_charts(themes, periods, period_name) if dated else [], "undated_label": UNDATED,
            "undated_units": undated, "themed_units": sum(int(p["n_units"] or 0) for p in rows), "dated": dated}
