"""Pending rows -> Parquet shards that the Ray workers read (one shard per worker call, so every worker gets some)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd


def shard_size(n_rows: int, max_rows: int, workers: int) -> int:
    """Rows per shard: at most `max_rows`, and small enough that each worker gets at least two shards."""
    return max(1, min(max_rows, math.ceil(n_rows / (2 * workers))))


def split(frame: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    """Consecutive slices of `frame` of at most `rows` rows."""
    for start in range(0, len(frame), rows):
        yield frame.iloc[start:start + rows]


def write_shards(frames: Iterable[pd.DataFrame], folder: Path) -> list[Path]:
    """Write each frame as one Parquet file part-00000.parquet, ... in `folder` (one frame in memory at a time);
    their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, frame in enumerate(frames):
        if not len(frame):
            continue
        path = folder / f"part-{number:05d}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        paths.append(path)
    return paths
