"""Exports of the report tables: CSV (pandas to_csv, UTF-8, no index) and Parquet, and exports/manifest.json.

CSV cannot hold lists, so list columns (a theme's keywords) are joined by "; " there; Parquet keeps them as
lists. CSV text cells are neutralised against spreadsheet formula injection (see `neutralise_cell`); Parquet keeps
the raw text. The manifest records what is needed to reproduce the run and check the files: see `manifest`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ..ids import sha256_file

KEYWORD_SEPARATOR = "; "
LIST_COLUMNS = ("keywords", "summary_unit_ids", "theme_ids")
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets ("=HYPERLINK(...)"
# in a comment). OWASP's advice: prefix such cells with a single quote, so they are shown as text. Tab and CR
# start formulas in some spreadsheets too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """A text cell that a spreadsheet would evaluate, prefixed with "'" so it is shown as text; anything else
    unchanged (numbers, including negative ones, are not text and stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text (object) columns are passed through `neutralise_cell`."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = [neutralise_cell(v) for v in frame[column]]
    return frame


def themes_for_csv(themes: pd.DataFrame) -> pd.DataFrame:
    """Themes with their keyword list joined by "; " (lists do not survive a CSV round trip)."""
    frame = themes.copy()
    for column in LIST_COLUMNS:
        if column in frame:
            frame[column] = [KEYWORD_SEPARATOR.join(str(k) for k in kws) if isinstance(kws, (list, tuple)) else kws
                             for kws in frame[column]]
    return frame


def _write_tables(out_dir: Path, tables: dict[str, pd.DataFrame], ext: str,
                  write: Callable[[pd.DataFrame, Path], None]) -> dict[str, Path]:
    """`write(frame, out_dir/exports/<name>.<ext>)` for each table; returns {"<name>_<ext>": path}."""
    folder = out_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in tables.items():
        path = folder / f"{name}.{ext}"
        write(frame, path)
        paths[f"{name}_{ext}"] = path
    return paths


def write_csvs(out_dir: Path, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write each table to out_dir/exports/<name>.csv; returns {"<name>_csv": path}."""
    return _write_tables(out_dir, tables, "csv",
                         lambda frame, path: neutralise_frame(themes_for_csv(frame)).to_csv(path, index=False,
                                                                                            encoding="utf-8"))


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose list columns are plain lists of str, so pyarrow infers list<string>."""
    frame = frame.copy()
    for column in LIST_COLUMNS:
        if column in frame:
            frame[column] = [[k if isinstance(k, int) and column == "theme_ids" else str(k) for k in kws]
                             if isinstance(kws, (list, tuple)) else [] for kws in frame[column]]
    return frame


def write_parquets(out_dir: Path, tables: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write each table to out_dir/exports/<name>.parquet (pyarrow); returns {"<name>_parquet": path}."""
    return _write_tables(out_dir, tables, "parquet",
                         lambda frame, path: _parquet_ready(frame).to_parquet(path, index=False, engine="pyarrow"))


def config_toml(config: dict[str, Any]) -> str:
    """A resolved config (Config.model_dump(mode="json")) as TOML that `load_config` reads back to the same Config."""
    lines: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(str(v), ensure_ascii=False)   # JSON string escapes are valid TOML basic strings

    def table(name: str, data: dict[str, Any]) -> None:
        lines.append(f"[{name}]")
        nested = {k: v for k, v in data.items() if isinstance(v, dict)}
        lines.extend(f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict))
        lines.append("")
        for key, sub in nested.items():
            table(f"{name}.{key}", sub)

    for section, data in config.items():
        table(section, data)
    return "\n".join(lines)


def manifest(*, run: dict[str, Any], store_path: str, sources: pd.DataFrame, counts: dict[str, int],
             files: dict[str, Path], out_dir: Path, report_settings: dict[str, Any], commentminer_version: str,
             config_file: str) -> dict[str, Any]:
    """What exports/manifest.json holds: enough to reproduce the run and to check every written file.

    Keys: commentminer_version, generated_at, run (run_id, status, started_at, finished_at, stats), versions
    (package versions and model ids stored with the run), config (the run's resolved config), config_hash,
    config_file (the same config as TOML), seeds (themes.seed, aggregate.bootstrap_seed), report_settings (the
    [report] and [aggregate] settings this report was written with), store, sources (uri, format, sha256,
    size_bytes of every ingested source), counts (rows per table), files (path relative to the output folder,
    sha256, bytes), reproduce (the command).
    """
    config = json.loads(run.get("config_json") or "{}")
    return {
        "commentminer_version": commentminer_version,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": {"run_id": run["run_id"], "status": run.get("status"), "started_at": _iso(run.get("started_at")),
                "finished_at": _iso(run.get("finished_at")), "stats": json.loads(run.get("stats_json") or "{}")},
        "versions": json.loads(run.get("versions_json") or "{}"),
        "config": config,
        "config_hash": run.get("config_hash"),
        "config_file": config_file,
        "seeds": {"themes.seed": config.get("themes", {}).get("seed"),
                  "aggregate.bootstrap_seed": report_settings.get("aggregate", {}).get("bootstrap_seed")},
        "report_settings": report_settings,
        "store": store_path,
        "sources": [{"uri": r.uri, "format": r.format, "sha256": r.sha256,
                     "size_bytes": None if pd.isna(r.size_bytes) else int(r.size_bytes)}
                    for r in sources.itertuples()],
        "counts": {k: int(v) for k, v in counts.items()},
        "files": [{"name": name, "path": path.relative_to(out_dir).as_posix(), "sha256": sha256_file(path),
                   "bytes": path.stat().st_size} for name, path in sorted(files.items())],
        "reproduce": f"commentminer run <the sources above> --config {config_file} --out <folder>",
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
