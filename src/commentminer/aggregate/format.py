"""Aggregate tables as text for the terminal (an aligned plain table), CSV or JSON (`commentminer query`)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..errors import CommentminerError

FORMATS = ("table", "csv", "json")
MAX_TEXT = 40   # theme labels and article titles in the table are cut to this many characters


def render(frame: pd.DataFrame, fmt: str = "table") -> str:
    """`frame` as an aligned table (intervals in brackets), CSV (every column) or JSON records (every column)."""
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", indent=2, date_format="iso") + "\n"
    if fmt != "table":
        raise CommentminerError(f"unknown format '{fmt}' (valid: {', '.join(FORMATS)})")
    if frame.empty:
        return "(no rows)\n"
    return _display(frame).to_string(index=False) + "\n"


def _display(frame: pd.DataFrame) -> pd.DataFrame:
    if "mean_low" not in frame:   # not a sentiment table (e.g. the theme list): plain, numbers rounded
        out = frame.copy()
        for col in out.columns:
            if out[col].dtype.kind == "f":
                out[col] = [_num(v, "{:.2f}") for v in out[col]]
        return out
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        if col == "n_units":
            break
        if col == "theme_id":
            continue
        if col == "theme" and "theme_id" in frame:
            out["theme"] = [_cut(t) + ("" if pd.isna(i) else f" #{i}") for t, i in zip(frame["theme"], frame["theme_id"])]
        elif col == "article_id":
            continue
        elif col == "article":
            out["article"] = [_cut(t) for t in frame["article"]]
        else:
            out[col] = frame[col].astype(str)
    out["units"] = frame["n_units"]
    out["comments"] = frame["n_comments"]
    out["commenters"] = frame["n_commenters"]
    out["mean [95% CI]"] = [f"{_num(m, '{:+.2f}')} [{_num(lo, '{:+.2f}')}, {_num(hi, '{:+.2f}')}]"
                            if not _missing(lo) else _num(m, "{:+.2f}")
                            for m, lo, hi in zip(frame["mean_score"], frame["mean_low"], frame["mean_high"])]
    for label in ("negative", "positive"):
        out[f"{label} [95% CI]"] = [f"{_num(p, '{:.0%}')} [{_num(lo, '{:.0%}')}-{_num(hi, '{:.0%}')}]"
                                    if not _missing(lo) else "–"
                                    for p, lo, hi in zip(frame[f"share_{label}"], frame[f"{label}_low"],
                                                         frame[f"{label}_high"])]
    out["rank"] = ["too few" if few else ("–" if pd.isna(r) else str(int(r)))
                   for few, r in zip(frame["too_few"], frame["rank"])]
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _num(value: Any, pattern: str) -> str:
    return "–" if _missing(value) else pattern.format(float(value))


def _cut(value: Any) -> str:
    text = "" if _missing(value) else " ".join(str(value).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
