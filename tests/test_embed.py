from pathlib import Path

import numpy as np

from commentminer.store.vectors import stack
import pandas as pd
import pytest

from commentminer import registry
from commentminer.embed import stage
from commentminer.embed.st_embedder import SentenceTransformerEmbedder
from commentminer.errors import ModelMissingError

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "all-MiniLM-L6-v2"


class CountingEmbedder:
    """Deterministic fake: a vector from the text's characters; counts what it was asked to embed."""

    calls: list[list[str]] = []

    def __init__(self, model_path="", batch_size=64, threads=0):
        self.model_id = "fake@1"

    def embed(self, texts):
        CountingEmbedder.calls.append(list(texts))
        vectors = np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _units(store, texts):
    store.upsert("units", pd.DataFrame([{
        "unit_id": f"u{i}", "kind": "comment", "article_id": "a", "comment_id": f"c{i}", "position": 0, "text": t,
        "char_start": 0, "char_end": len(t), "text_hash": f"h_{t}", "speaker": None, "place": None,
        "segmenter_id": "s",
    } for i, t in enumerate(texts)]))


def test_cache_embeds_each_distinct_text_once(ctx, monkeypatch):
    monkeypatch.setitem(registry.BACKENDS["embed"], "fake.v1", f"{__name__}:CountingEmbedder")
    ctx.config.embed.backend = "fake.v1"
    CountingEmbedder.calls = []
    _units(ctx.store, ["same text", "same text", "other text"])
    assert stage.run(ctx)["embedded"] == 2
    assert stage.run(ctx)["embedded"] == 0
    assert sorted(t for call in CountingEmbedder.calls for t in call) == ["other text", "same text"]
    _units(ctx.store, ["same text", "same text", "other text", "a new one"])
    assert stage.run(ctx)["embedded"] == 1
    vectors = ctx.store.read("embeddings")
    assert set(vectors["model_id"]) == {"fake@1"} and len(vectors) == 3
    assert all(abs(np.linalg.norm(v) - 1) < 1e-3 for v in stack(vectors["vector"]))  # stored as float16


def test_pending_texts_come_shortest_first_so_each_stored_chunk_pads_little(ctx, monkeypatch):
    monkeypatch.setitem(registry.BACKENDS["embed"], "fake.v1", f"{__name__}:CountingEmbedder")
    monkeypatch.setattr(stage, "BATCH_SIZE", 2)
    ctx.config.embed.backend = "fake.v1"
    CountingEmbedder.calls = []
    texts = ["a much longer sentence than the rest", "tiny", "mid-length one", "bb", "tiny"]
    _units(ctx.store, texts)
    assert stage.pending_texts(ctx, "fake@1").text.tolist() == ["bb", "tiny", "mid-length one", texts[0]]
    assert stage.run(ctx)["embedded"] == 4
    assert CountingEmbedder.calls == [["bb", "tiny"], ["mid-length one", texts[0]]]     # chunks of similar length


def test_missing_model_names_folder_and_fix(tmp_path):
    embedder = SentenceTransformerEmbedder(model_path=str(tmp_path / "nothing-here"))
    with pytest.raises(ModelMissingError, match=r"nothing-here: embedding model not found .*make model"):
        embedder.embed(["x"])


@pytest.mark.slow
def test_real_minilm_vectors_are_normalised_and_in_input_order():
    if not (MODEL_DIR / "model.safetensors").is_file():
        pytest.skip(f"model not installed at {MODEL_DIR}; run `make model`")
    embedder = SentenceTransformerEmbedder(model_path=str(MODEL_DIR), batch_size=2)
    texts = ["Practice managers were sidelined by the CCG board.",
             "Short.",
             "They paid lip service to managers.",
             "Managers were excluded from CCG boards and ignored."]
    vectors = embedder.embed(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # Length-sorted batching must not scramble rows: each row equals the text embedded alone.
    for text, row in zip(texts, vectors):
        assert np.allclose(embedder.embed([text])[0], row, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 3] > similarity[0, 1]   # sidelined ~ excluded, not ~ "Short."
    assert embedder.model_id.startswith("st:all-MiniLM-L6-v2@")
