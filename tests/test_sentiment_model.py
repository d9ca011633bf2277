"""The model-based sentiment backend (minilm_mlp.v1), the stage's use of stored vectors, and the benchmark."""

import importlib.resources
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commentminer import registry
from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.errors import BackendError, ConfigError
from commentminer.sentiment import stage
from commentminer.sentiment.embedding_model import DEFAULT_WEIGHTS, EmbeddingSentiment

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "all-MiniLM-L6-v2"
TEXTS = ["This is a wonderful, excellent plan and I love it.",
         "The board meets on Tuesday at ten o'clock.",
         "It is a terrible, insulting and awful decision."]


@pytest.fixture(scope="module")
def real_vectors():
    if not (MODEL_DIR / "model.safetensors").is_file():
        pytest.skip("needs the embedding model (make model)")
    from commentminer.embed.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model_path=str(MODEL_DIR)).embed(TEXTS)


def test_weights_ship_as_package_data_with_a_recipe():
    files = importlib.resources.files("commentminer.sentiment") / "data"
    assert (files / "minilm_sentiment.npz").is_file()
    assert Path(str(files / "minilm_sentiment.npz")) == DEFAULT_WEIGHTS
    assert DEFAULT_WEIGHTS.stat().st_size < 5_000_000
    recipe = json.loads((files / "minilm_sentiment.json").read_text())
    model = EmbeddingSentiment()
    assert recipe["backend_id"] == model.backend_id
    assert recipe["training_data"] and all(item["licence"] for item in recipe["training_data"])
    assert model.meta["embedding_dim"] == 384 and 0 < model.neutral_threshold < 1
    with np.load(DEFAULT_WEIGHTS, allow_pickle=False) as data:  # no pickle needed to read it
        assert "meta" in data.files


def test_registered_and_needs_embeddings():
    model = registry.create("sentiment", "minilm_mlp.v1")
    assert isinstance(model, EmbeddingSentiment) and model.needs_embeddings
    assert model.backend_id.startswith("minilm_mlp.v1+")
    with pytest.raises(BackendError, match="vectors"):
        model.score(["no vectors given"])
    with pytest.raises(BackendError, match="384"):
        model.score(["wrong dim"], vectors=np.zeros((1, 10), dtype=np.float32))


def test_obvious_sentences_order_and_ranges(real_vectors):
    pos, neu, neg = EmbeddingSentiment().score(TEXTS, vectors=real_vectors)
    assert pos.score > neu.score > neg.score
    assert pos.label == "positive" and neg.label == "negative" and neu.label == "neutral"
    for s in (pos, neu, neg):
        assert -1 <= s.score <= 1 and 0 <= s.confidence <= 1


def test_scores_stay_in_range_on_random_vectors():
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(50, 384)).astype(np.float32) * 3
    out = EmbeddingSentiment().score([f"text {i}" for i in range(50)], vectors=vecs)
    assert all(-1 <= s.score <= 1 and 0 <= s.confidence <= 1 for s in out)
    assert {s.label for s in out} <= {"negative", "neutral", "positive"}


def test_backend_id_changes_with_weights(tmp_path):
    copy = tmp_path / "w.npz"
    copy.write_bytes(DEFAULT_WEIGHTS.read_bytes())
    assert EmbeddingSentiment(weights_path=str(copy)).backend_id == EmbeddingSentiment().backend_id
    with np.load(copy, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["b0"] = arrays["b0"] + 0.01
    changed = tmp_path / "changed.npz"
    np.savez_compressed(changed, **arrays)
    assert EmbeddingSentiment(weights_path=str(changed)).backend_id != EmbeddingSentiment().backend_id
    with pytest.raises(BackendError, match="not found"):
        EmbeddingSentiment(weights_path=str(tmp_path / "missing.npz")).backend_id


class _FakeEmbedder:
    model_id = "fake:embedder@1"

    def embed(self, texts):
        raise AssertionError("the sentiment stage must not embed")


def _units(ctx, texts, kinds=None):
    ctx.store.upsert("units", pd.DataFrame([{
        "unit_id": f"u{i}", "kind": (kinds or ["comment"] * len(texts))[i], "article_id": "a",
        "comment_id": "c1" if (kinds or ["comment"] * len(texts))[i] == "comment" else None, "position": i,
        "text": t, "char_start": 0, "char_end": len(t), "text_hash": f"h{i}", "speaker": None, "place": None,
        "segmenter_id": "s",
    } for i, t in enumerate(texts)]))


def test_stage_reads_stored_vectors_and_never_embeds(store, monkeypatch):
    config = load_config(overrides=["run.progress=false", "sentiment.backend=minilm_mlp.v1"])
    ctx = StageContext.create(store, config, run_id="r")
    monkeypatch.setattr("commentminer.embed.stage.build_embedder", lambda ctx: _FakeEmbedder())
    texts = ["I love this wonderful plan.", "A terrible, awful decision.", "No vector stored for this one."]
    _units(ctx, texts)
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(2, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ctx.store.upsert("embeddings", pd.DataFrame({"text_hash": ["h0", "h1"], "model_id": _FakeEmbedder.model_id,
                                                 "dim": 384, "vector": list(vecs)}))
    # a vector of another model must not be used
    ctx.store.upsert("embeddings", pd.DataFrame({"text_hash": ["h2"], "model_id": "other", "dim": 384,
                                                 "vector": [vecs[0]]}))
    result = stage.run(ctx)
    assert result["units_scored"] == 2 and result["units_without_vector"] == 1
    assert result["backend_id"] == EmbeddingSentiment().backend_id
    rows = ctx.store.read("sentiment", "target_kind = 'unit'").set_index("target_id")
    expected = EmbeddingSentiment().score(texts[:2], vectors=vecs)
    for i, want in enumerate(expected):
        assert rows.loc[f"u{i}", "score"] == pytest.approx(want.score, abs=1e-6)
        assert rows.loc[f"u{i}", "label"] == want.label
    comment = ctx.store.read("sentiment", "target_kind = 'comment'").iloc[0]
    w = [len(t) for t in texts[:2]]
    assert comment["score"] == pytest.approx((expected[0].score * w[0] + expected[1].score * w[1]) / sum(w))
    # once the missing vector is stored, only that unit is scored
    ctx.store.upsert("embeddings", pd.DataFrame({"text_hash": ["h2"], "model_id": _FakeEmbedder.model_id,
                                                 "dim": 384, "vector": [vecs[1]]}))
    again = stage.run(ctx)
    assert again["units_scored"] == 1 and again["units_without_vector"] == 0


def test_weights_path_with_vader_is_a_config_error(store):
    config = load_config(overrides=["run.progress=false", "sentiment.backend=vader.v1", "sentiment.weights_path=x.npz"])
    with pytest.raises(ConfigError, match="weights_path"):
        stage.build_model(StageContext.create(store, config))


def _benchmark():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import sentiment as bench
    finally:
        sys.path.pop(0)
    return bench


def test_benchmark_synthetic_smoke(capsys):
    bench = _benchmark()
    assert bench.main(["--synthetic", "--limit", "30"]) == 0
    out = capsys.readouterr().out
    assert "| vader.v1 | minilm_mlp.v1 |" in out and "synthetic" in out and "accuracy" in out


def test_benchmark_real_data_subset(shared_data, capsys):
    if not (MODEL_DIR / "model.safetensors").is_file():
        pytest.skip("needs the embedding model (make model)")
    bench = _benchmark()
    sets = bench.load_sets(shared_data, limit=40, seed=0)
    assert {s.name for s in sets} == {"tweets", "nyt", "movie", "amazon", "sst2", "sst5"}
    rows, ids = bench.evaluate(sets, bench.BACKENDS)
    assert {r["backend"] for r in rows} == set(bench.BACKENDS)
    assert all(-1 <= r["value"] <= 1 for r in rows)


def test_training_sets_exclude_evaluation_sentences(shared_data):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import train_sentiment
    finally:
        sys.path.pop(0)
    from commentminer.sentiment.datasets import overlap_key, read_labelled

    banned = train_sentiment.evaluation_keys(shared_data)
    for name in ("stsa.binary.test", "stsa.fine.dev"):
        assert set(map(overlap_key, read_labelled(shared_data / "sst" / f"{name}.txt")[0])) <= banned
