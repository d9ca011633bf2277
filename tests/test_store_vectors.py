"""Stored vectors (store/vectors.py): float16 BLOBs, read as contiguous matrices in chunks; old stores converted."""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from commentminer.errors import ModelMissingError, StoreError
from commentminer.store import Store
from commentminer.store.vectors import float16_array, iter_vector_chunks, read_vectors, stack, vector_matrix

from conftest import MODEL_DIR, SEEDS_DIR


def _rand(n: int, dim: int, seed: int = 0) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_embeddings_are_stored_as_float16_blobs_and_read_back_as_one_matrix(store):
    m = _rand(7, 384)
    store.upsert_vectors("embeddings", {"text_hash": [f"h{i}" for i in range(7)], "model_id": "m", "dim": 384},
                         "vector", m)
    sizes = store.query("SELECT octet_length(vector) AS n FROM embeddings")["n"]
    assert (sizes == 384 * 2).all()  # 2 bytes a value
    frame, matrix, has = read_vectors(store, "SELECT text_hash, vector FROM embeddings ORDER BY text_hash")
    assert frame.text_hash.tolist() == [f"h{i}" for i in range(7)] and has.all()
    assert matrix.dtype == np.float32 and matrix.flags["C_CONTIGUOUS"]
    assert np.array_equal(matrix, m.astype(np.float16).astype(np.float32))


def test_upsert_of_per_row_vectors_stores_float16_too(store):
    m = _rand(3, 8)
    store.upsert("embeddings", pd.DataFrame({"text_hash": ["a", "b", "c"], "model_id": "m", "dim": 8,
                                             "vector": [v.tolist() for v in m]}))
    back = stack(store.query("SELECT vector FROM embeddings ORDER BY text_hash").vector)
    assert np.array_equal(back, m.astype(np.float16).astype(np.float32))


def test_chunks_are_bounded_and_rows_without_vector_are_masked(store):
    m = _rand(10, 4)
    store.upsert_vectors("embeddings", {"text_hash": [f"h{i:02d}" for i in range(10)], "model_id": "m", "dim": 4},
                         "vector", m)
    sql = ("SELECT k.h, e.vector FROM (SELECT 'h' || lpad(CAST(range AS VARCHAR), 2, '0') AS h FROM range(12)) k "
           "LEFT JOIN embeddings e ON e.text_hash = k.h ORDER BY k.h")
    chunks = list(iter_vector_chunks(store, sql, chunk_rows=5))
    assert [len(f) for f, _, _ in chunks] == [5, 5, 2]
    assert [len(mat) for _, mat, _ in chunks] == [5, 5, 0] and chunks[2][2].tolist() == [False, False]
    assert np.array_equal(np.concatenate([mat for _, mat, _ in chunks[:2]]), m.astype(np.float16).astype(np.float32))


def test_vector_matrix_reads_sliced_binary_chunks_and_rejects_ragged_ones():
    m = _rand(6, 4)
    arr = float16_array(m)
    got = vector_matrix(pa.chunked_array([arr.slice(0, 2), arr.slice(2)]))
    assert np.array_equal(got, m.astype(np.float16).astype(np.float32))
    assert np.array_equal(vector_matrix(arr.slice(3, 2)), m[3:5].astype(np.float16).astype(np.float32))
    ragged = pa.array([b"\x00\x00" * 4, b"\x00\x00" * 3], type=pa.binary())
    with pytest.raises(StoreError, match="differ in length"):
        vector_matrix(ragged)


def test_a_store_with_float32_list_vectors_is_converted_on_open(tmp_path):
    path = tmp_path / "old.duckdb"
    m = _rand(5, 6)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    con.execute("CREATE TABLE embeddings (text_hash VARCHAR, model_id VARCHAR, dim INTEGER, vector FLOAT[], "
                "PRIMARY KEY (text_hash, model_id))")
    for i, v in enumerate(m):
        con.execute("INSERT INTO embeddings VALUES (?, 'm', 6, ?)", [f"h{i}", v.tolist()])
    con.close()
    with Store(path) as store:
        assert store.query("SELECT data_type FROM information_schema.columns WHERE table_name = 'embeddings' "
                           "AND column_name = 'vector'").iloc[0, 0] == "BLOB"
        assert "embeddings_float32_old" not in set(store.query("SHOW TABLES").name)
        _, matrix, _ = read_vectors(store, "SELECT vector FROM embeddings ORDER BY text_hash")
        assert np.allclose(matrix, m, atol=1e-3) and store.count("embeddings") == 5


def _seed_sentences(limit: int = 600) -> list[str]:
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS_DIR.glob("*.txt")))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.split()) >= 5]
    return list(dict.fromkeys(sentences))[:limit]


def test_float16_keeps_the_top10_neighbours_of_real_minilm_vectors():
    """Issue 12: top-10 cosine neighbours identical for at least 99% of (query, neighbour) pairs."""
    from commentminer.embed.onnx_embedder import OnnxEmbedder

    sentences = _seed_sentences()
    try:
        vectors = np.asarray(OnnxEmbedder(model_path=str(MODEL_DIR)).embed(sentences), np.float32)
    except ModelMissingError as exc:
        pytest.skip(f"needs the MiniLM model ({exc})")
    assert len(sentences) >= 150
    half = float16_array(vectors)
    restored = vector_matrix(half)

    def top10(m):
        sims = m @ m.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1)[:, :10]

    exact, approx = top10(vectors), top10(restored)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approx)])
    assert overlap >= 0.99, overlap
