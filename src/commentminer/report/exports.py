"""CSV exports of the report tables (pandas to_csv, UTF-8, no index)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

KEYWORD_SEPARATOR = "; "


def themes_for_csv(themes: pd.DataFrame) -> pd.DataFrame:
    """Themes with their keyword list joined by "; " (lists do not survive a CSV round trip)."""
    frame = themes.copy()
    for column in ("keywords", "summary_unit_ids"):
        if column in frame:
            frame[column] = [KEYWORD_SEPARATOR.join(kws) for kws in frame[column]]
    return frame


def write_csvs(out_dir: Path, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write each table to out_dir/exports/<name>.csv; returns {"<name>_csv": path}."""
    folder = out_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in tables.items():
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, encoding="utf-8")
        paths[f"{name}_csv"] = path
    return paths
