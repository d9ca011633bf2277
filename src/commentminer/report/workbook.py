"""brief.xlsx: the brief's tables for people who live in Office (openpyxl).

One sheet per table of `brief.brief_tables` (Summary, Themes, Regions, Quotes), a bold frozen header row, column
widths fitted to their text (capped), shares as percentages and scores with two decimals. Every text cell is
written as a string, never a formula: openpyxl would store "=HYPERLINK(...)" from a comment as a live formula,
so text cells get the string type explicitly.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

MAX_COLUMN_WIDTH = 80
SHARE_COLUMNS = ("negative share", "neutral share", "positive share")
SCORE_COLUMNS = ("mean sentiment", "95% low", "95% high")


def write_workbook(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """Write `tables` (sheet name -> frame) to an .xlsx file at `path`; returns `path`."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for name, frame in tables.items():
        sheet = book.create_sheet(title=name[:31])
        columns = list(frame.columns) or ["(empty)"]
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            sheet.append([_value(v) for v in row])
        for row in sheet.iter_rows(min_row=2):
            for cell, column in zip(row, columns):
                if isinstance(cell.value, str):
                    cell.data_type = "s"   # text, even when it starts with "=" (never a formula)
                    cell.alignment = Alignment(wrap_text=len(cell.value) > MAX_COLUMN_WIDTH, vertical="top")
                elif column in SHARE_COLUMNS:
                    cell.number_format = "0%"
                elif column in SCORE_COLUMNS:
                    cell.number_format = "+0.00;-0.00;0.00"
        for index, column in enumerate(columns, start=1):
            longest = max([len(str(column))] + [len(str(v)) for v in frame[column]] if column in frame else [10])
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = \
                min(MAX_COLUMN_WIDTH, longest + 2)
        sheet.freeze_panes = "A2"
    book.save(path)
    return path


def _value(value: object) -> object:
    """A cell value openpyxl accepts: None for missing, Python scalars for numpy ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
