"""Stored vectors: float16 BLOBs (embeddings) or FLOAT[] lists (encoder outputs), read as contiguous NumPy
arrays in bounded chunks.

Unit vectors are stored as float16 (little-endian, `dim` values, 2 bytes each: half of float32, a sixth of the
FLOAT[] list DuckDB would keep), as one BLOB per row. float16 keeps 3 significant digits, which leaves cosine
neighbourhoods of L2-normalised sentence vectors as they were (tests/test_store_vectors.py checks top-10
neighbours on real MiniLM vectors). Writes build one Arrow binary array over the matrix's bytes; reads take the
Arrow column's data buffer and view it as an (n, dim) matrix, so no Python object is made per row.
`iter_vector_chunks` yields at most `chunk_rows` rows at a time: memory is bounded by the chunk, not the corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StoreError


# Tables whose vector column holds float16 BLOBs (the others' vectors are FLOAT[] lists).
FLOAT16_COLUMNS = {"embeddings": "vector"}
FLOAT16 = np.dtype("<f2")


def float16_array(matrix: Any):
    """An Arrow binary array with one float16 BLOB per row of the (n, dim) `matrix` (no Python object per row)."""
    import pyarrow as pa

    half = np.ascontiguousarray(matrix, dtype=FLOAT16)
    n, dim = half.shape
    offsets = np.arange(n + 1, dtype=np.int32) * (dim * FLOAT16.itemsize)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(half.reshape(-1))])


def float16_blobs(values: Any) -> list:
    """Vectors given one per row (lists, arrays, or already BLOBs; None stays None) as float16 BLOBs: the
    pandas path of `Store.upsert` (small writes: seed phrases, tests); bulk writes use `float16_array`."""
    out = []
    for v in values:
        if v is None or isinstance(v, (bytes, bytearray, memoryview)):
            out.append(v)
        else:
            out.append(np.asarray(v, dtype=FLOAT16).tobytes())
    return out


def stack(values: Any) -> np.ndarray:
    """(n, dim) float32 matrix of vectors given one per row, as `Store.query` returns them: float16 BLOBs
    (embeddings) or lists (other vector columns)."""
    values = list(values)
    if not values:
        return np.zeros((0, 0), np.float32)
    if isinstance(values[0], (bytes, bytearray, memoryview)):
        return np.stack([np.frombuffer(v, dtype=FLOAT16) for v in values]).astype(np.float32)
    return np.stack([np.asarray(v, dtype=np.float32) for v in values])


def vector_matrix(column: Any) -> np.ndarray:
    """(n, dim) float32 matrix of an Arrow column without nulls: float16 BLOBs (binary), or a list /
    fixed-size-list column; read from its buffers, never row by row.

    Raises StoreError when the vectors do not all have the same length.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    chunks = [c for c in chunks if len(c)]
    if not chunks:
        return np.zeros((0, 0), np.float32)
    if pa.types.is_binary(chunks[0].type) or pa.types.is_large_binary(chunks[0].type):
        views = [_float16_matrix(c) for c in chunks]  # views of the Arrow buffers, no copy yet
        if len({v.shape[1] for v in views}) > 1:
            raise StoreError("stored vectors differ in length")
        out = np.empty((sum(len(v) for v in views), views[0].shape[1]), np.float32)
        start = 0
        for view in views:  # one float32 copy, written in place
            out[start : start + len(view)] = view
            start += len(view)
        return out
    lengths = np.concatenate([np.asarray(pc.list_value_length(c)) for c in chunks])
    if lengths.min() != lengths.max():
        raise StoreError(f"stored vectors differ in length ({lengths.min()} to {lengths.max()})")
    values = [c.flatten() for c in chunks]  # respects each chunk's offsets and slicing
    flat = np.concatenate([np.asarray(v.to_numpy(zero_copy_only=False), dtype=np.float32) for v in values]) \
        if len(values) > 1 else np.asarray(values[0].to_numpy(zero_copy_only=False), dtype=np.float32)
    return flat.reshape(len(lengths), int(lengths[0]))


def _float16_matrix(chunk: Any) -> np.ndarray:
    """(n, dim) float16 view of one Arrow binary chunk of equal-length float16 BLOBs."""
    offset_type = np.int64 if chunk.type == "large_binary" else np.int32
    _, offsets_buffer, data = chunk.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[chunk.offset : chunk.offset + len(chunk) + 1]
    lengths = np.diff(offsets)
    if lengths.min() != lengths.max():
        raise StoreError(f"stored vectors differ in length ({lengths.min() // 2} to {lengths.max() // 2})")
    flat = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].view(FLOAT16)
    return flat.reshape(len(chunk), int(lengths[0]) // FLOAT16.itemsize)


def _split(table: Any, vector_column: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
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
    return _split(table, vector_column)


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
            yield _split(pa.Table.from_batches([batch]), vector_column)
