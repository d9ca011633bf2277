"""Reading stored vectors (embeddings, encoder outputs) as contiguous NumPy arrays, in bounded chunks.

A query's rows come back as Arrow record batches; the vector column's flat values buffer is reshaped to an
(n, dim) float32 matrix, so no Python object is made per row. `iter_vector_chunks` yields at most `chunk_rows`
rows at a time, so memory is bounded by the chunk size, not the corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StoreError


def vector_matrix(column: Any) -> np.ndarray:
    """(n, dim) float32 matrix of an Arrow list / fixed-size-list column without nulls, from its values buffer.

    Raises StoreError when the vectors do not all have the same length.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    chunks = [c for c in chunks if len(c)]
    if not chunks:
        return np.zeros((0, 0), np.float32)
    lengths = np.concatenate([np.asarray(pc.list_value_length(c)) for c in chunks])
    if lengths.min() != lengths.max():
        raise StoreError(f"stored vectors differ in length ({lengths.min()} to {lengths.max()})")
    values = [c.flatten() for c in chunks]  # respects each chunk's offsets and slicing
    flat = np.concatenate([np.asarray(v.to_numpy(zero_copy_only=False), dtype=np.float32) for v in values]) \
        if len(values) > 1 else np.asarray(values[0].to_numpy(zero_copy_only=False), dtype=np.float32)
    return flat.reshape(len(lengths), int(lengths[0]))


def _split(table: Any, vector_column: str, con: Any) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(other columns as pandas, (n_with_vector, dim) matrix, boolean mask of rows that have a vector)."""
    import pyarrow.compute as pc

    column = table.column(vector_column)
    has = ~np.asarray(pc.is_null(column), dtype=bool) if len(table) else np.zeros(0, bool)
    present = column.filter(pc.invert(pc.is_null(column))) if column.null_count else column
    frame = table.drop_columns([vector_column]).to_pandas() if table.num_columns > 1 else pd.DataFrame(index=range(len(table)))
    return frame, vector_matrix(present), has


def read_vectors(store: Any, sql: str, params: list | None = None,
                 vector_column: str = "vector") -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Run `sql` and return (the other columns, the (k, dim) float32 matrix of the non-null vectors, a boolean
    mask over the rows saying which have one): row i's vector is `matrix[mask[:i].sum()]` when `mask[i]`."""
    table = store.con.sql(sql, params=params or None).to_arrow_table()
    return _split(table, vector_column, store.con)


def iter_vector_chunks(store: Any, sql: str, params: list | None = None, vector_column: str = "vector",
                       chunk_rows: int = 50_000) -> Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray]]:
    """`read_vectors` in chunks of at most `chunk_rows` rows (streamed from DuckDB; one chunk in memory)."""
    import pyarrow as pa

    # A cursor of its own: the caller may write to the store between chunks without ending this result.
    result = store.con.cursor().sql(sql, params=params or None)
    reader = result.to_arrow_reader(chunk_rows)
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        if len(batch):
            yield _split(pa.Table.from_batches([batch]), vector_column, store.con)
