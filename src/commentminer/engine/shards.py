"""Pending rows -> Parquet shards that Ray Data reads (one read task per shard, so every worker gets some)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd


def shard_size(n_rows: int, max_rows: int, workers: int) -> int:
    """Rows per shard: at most `max_rows`, and small enough that each worker gets at least two shards."""
    return max(1, min(max_rows, math.ceil(n_rows / (2 * workers))))


def write_shards(frame: pd.DataFrame, folder: Path, max_rows: int, workers: int) -> list[Path]:
    """Write `frame` as consecutive Parquet files part-00000.parquet, ... in `folder`; their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    size = shard_size(len(frame), max_rows, workers)
    paths = []
    for number, start in enumerate(range(0, len(frame), size)):
        path = folder / f"part-{number:05d}.parquet"
        table = pa.Table.from_pandas(frame.iloc[start:start + size], preserve_index=False)
        pq.write_table(table, path)
        paths.append(path)
    return paths
