"""The exported MiniLM graphs (onnx.v1): same vectors as sentence-transformers, the sentiment branch equal to the
torch LoRA model, hash checks, and one pass feeding both the embed and the sentiment stage."""

import json
import shutil
from pathlib import Path

import numpy as np

from commentminer.store.vectors import stack
import pandas as pd
import pytest

from commentminer.embed import stage as embed_stage
from commentminer.embed.onnx_embedder import OnnxEmbedder
from commentminer.encoder import runtime
from commentminer.encoder.runtime import OnnxEncoder
from commentminer.errors import ConfigError, ModelMissingError
from commentminer.sentiment import stage as sentiment_stage
from commentminer.sentiment.lora_model import DEFAULT_WEIGHTS, LoraSentiment, softmax

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "all-MiniLM-L6-v2"
TEXTS = ["Practice managers were sidelined by the CCG board.",
         "Short.",
         "They paid lip service to managers, which is a terrible and insulting way to treat them.",
         "Managers were excluded from CCG boards and ignored.",
         "I love this wonderful plan!"]
LONG = " ".join(["The board ignored every practice manager who asked for a vote on the commissioning plan."] * 12)


def needs_graphs():
    if not (MODEL_DIR / "onnx" / "manifest.json").is_file():
        pytest.skip("needs the exported ONNX graphs (make model)")


def _branch_sha() -> str:
    return runtime.sha256_file(DEFAULT_WEIGHTS)


@pytest.mark.slow
def test_fp32_vectors_equal_sentence_transformers_and_keep_input_order():
    needs_graphs()
    from commentminer.embed.st_embedder import SentenceTransformerEmbedder

    texts = [*TEXTS, LONG]
    onnx_vectors = OnnxEmbedder(model_path=str(MODEL_DIR), batch_size=2).embed(texts)
    torch_vectors = SentenceTransformerEmbedder(model_path=str(MODEL_DIR)).embed(texts)
    assert onnx_vectors.shape == (6, 384) and onnx_vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(onnx_vectors * torch_vectors, axis=1)) >= 0.9999
    assert OnnxEmbedder(model_path=str(MODEL_DIR)).model_id == SentenceTransformerEmbedder(str(MODEL_DIR)).model_id


@pytest.mark.slow
def test_joint_graph_gives_the_same_vectors_and_the_torch_lora_models_logits():
    needs_graphs()
    from commentminer.sentiment.lora_model import reference_probabilities

    texts = [*TEXTS, LONG]
    joint = OnnxEncoder(MODEL_DIR, "joint", "fp32", batch_size=3, branch_sha256=_branch_sha()).encode(texts)
    plain = OnnxEncoder(MODEL_DIR, "embed", "fp32").encode(texts)
    assert np.allclose(joint["embedding"], plain["embedding"], atol=1e-5)
    # Reference: torch, the base model with the adapters merged, texts cut at 128 tokens (as trained).
    reference = reference_probabilities(DEFAULT_WEIGHTS, MODEL_DIR, texts)
    assert np.abs(softmax(joint["sentiment_logits"].astype(np.float64)) - reference).max() < 1e-4


@pytest.mark.slow
def test_int8_is_a_separate_cache_key_and_close_to_fp32():
    needs_graphs()
    fast = OnnxEmbedder(model_path=str(MODEL_DIR), precision="int8")
    exact = OnnxEmbedder(model_path=str(MODEL_DIR))
    assert fast.model_id == exact.model_id + "+int8"
    assert np.min(np.sum(fast.embed(TEXTS) * exact.embed(TEXTS), axis=1)) > 0.9
    lora = LoraSentiment(model_path=str(MODEL_DIR), precision="int8")
    assert lora.backend_id == LoraSentiment(model_path=str(MODEL_DIR)).backend_id + "+int8"


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="precision 'fp16'"):
        OnnxEmbedder(precision="fp16")


def _copy_model(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(MODEL_DIR, folder)
    return folder


@pytest.mark.slow
def test_missing_stale_or_edited_graphs_are_one_line_errors_naming_make_model(tmp_path):
    needs_graphs()
    folder = _copy_model(tmp_path)
    manifest = json.loads((folder / "onnx" / "manifest.json").read_text())
    # an edited graph file
    graph = folder / "onnx" / manifest["graphs"]["embed.fp32"]["file"]
    graph.write_bytes(graph.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelMissingError, match=r"sha256 does not match .*make model"):
        OnnxEncoder(folder, "embed").encode(["x"])
    # the joint graph asked for with other sentiment weights
    with pytest.raises(ModelMissingError, match=r"other sentiment weights .*make model"):
        OnnxEncoder(folder, "joint", branch_sha256="0" * 64).encode(["x"])
    # graphs exported from other base weights
    manifest["base_model_sha256"] = "f" * 64
    (folder / "onnx" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelMissingError, match=r"exported from other weights .*make model"):
        OnnxEncoder(folder, "embed").encode(["x"])
    # no export at all
    shutil.rmtree(folder / "onnx")
    with pytest.raises(ModelMissingError, match=r"exported ONNX graphs not found .*make model"):
        OnnxEmbedder(model_path=str(folder)).embed(["x"])


def _units(store, texts):
    store.upsert("units", pd.DataFrame([{
        "unit_id": f"u{i}", "kind": "comment", "article_id": "a", "comment_id": f"c{i}", "position": 0, "text": t,
        "char_start": 0, "char_end": len(t), "text_hash": f"h{i}", "speaker": None, "place": None,
        "segmenter_id": "s",
    } for i, t in enumerate(texts)]))


@pytest.mark.slow
def test_one_pass_feeds_embed_and_sentiment(ctx, monkeypatch):
    """With the defaults (onnx.v1 + minilm_lora.v1) the embed stage stores the branch logits and the sentiment
    stage scores from them without running the model; the scores equal the backend's own pass."""
    needs_graphs()
    ctx.config.embed.model_path = str(MODEL_DIR)
    _units(ctx.store, TEXTS)
    stats = embed_stage.run(ctx)
    backend = LoraSentiment(model_path=str(MODEL_DIR))
    assert stats["embedded"] == len(TEXTS) and stats["branch_output_id"] == backend.backend_id
    stored = ctx.store.read("encoder_outputs")
    assert len(stored) == len(TEXTS) and set(stored.output_id) == {backend.backend_id}

    def no_model_run(self, texts):
        raise AssertionError("the sentiment stage ran the model although the embed pass stored its logits")

    monkeypatch.setattr(LoraSentiment, "logits", no_model_run)
    result = sentiment_stage.run(ctx)
    assert result["units_scored"] == len(TEXTS) and result["units_from_embed_pass"] == len(TEXTS)
    monkeypatch.undo()
    rows = ctx.store.query("SELECT target_id, label, score FROM sentiment WHERE target_kind = 'unit' ORDER BY target_id")
    expected = backend.score(TEXTS)
    assert rows.label.tolist() == [s.label for s in expected]
    assert np.allclose(rows.score.to_numpy(), [s.score for s in expected], atol=1e-5)


@pytest.mark.slow
def test_sentiment_stage_runs_the_branch_itself_for_units_without_stored_logits(ctx):
    needs_graphs()
    ctx.config.embed.model_path = str(MODEL_DIR)
    _units(ctx.store, TEXTS[:2])
    embed_stage.run(ctx)
    _units(ctx.store, TEXTS)   # three more units, embedded by nobody yet
    result = sentiment_stage.run(ctx)
    assert result["units_scored"] == len(TEXTS) and result["units_from_embed_pass"] == 2


def test_no_branch_for_a_sentiment_backend_off_the_encoder(ctx):
    ctx.config.sentiment.backend = "vader.v1"
    assert embed_stage.sentiment_branch(ctx) is None
    ctx.config.sentiment.backend = "minilm_lora.v1"
    weights, output_id = embed_stage.sentiment_branch(ctx)
    assert weights == DEFAULT_WEIGHTS and output_id.startswith("minilm_lora.v1+")
    ctx.config.embed.precision = "int8"
    assert embed_stage.sentiment_branch(ctx)[1] == output_id + "+int8"


def test_int8_needs_the_onnx_backend(ctx):
    ctx.config.embed.backend = "sentence_transformers.v1"
    ctx.config.embed.precision = "int8"
    with pytest.raises(ConfigError, match='precision = "int8" needs backend "onnx.v1"'):
        embed_stage.build_embedder(ctx)


def test_upsert_vectors_round_trips_a_matrix_without_per_row_objects(store):
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    assert store.upsert_vectors("embeddings", {"text_hash": ["a", "b", "c"], "model_id": "m", "dim": 4},
                                "vector", vectors) == 3
    store.upsert_vectors("embeddings", {"text_hash": ["c"], "model_id": "m", "dim": 4}, "vector", vectors[:1])
    back = store.query("SELECT text_hash, vector FROM embeddings ORDER BY text_hash")
    assert back.text_hash.tolist() == ["a", "b", "c"]
    # stored as float16 BLOBs (store/vectors.py, issue 12): equal to 3 significant digits
    assert np.allclose(stack(back.vector), np.stack([vectors[0], vectors[1], vectors[0]]), atol=1e-3)
    with pytest.raises(Exception, match="columns do not match schema"):
        store.upsert_vectors("embeddings", {"text_hash": ["a"], "typo": 1}, "vector", vectors[:1])


@pytest.mark.slow
def test_worker_processes_give_the_same_outputs_in_input_order():
    needs_graphs()
    texts = [*TEXTS, LONG] * 3
    single = OnnxEncoder(MODEL_DIR, "joint", batch_size=2, branch_sha256=_branch_sha()).encode(texts)
    pooled_encoder = OnnxEncoder(MODEL_DIR, "joint", batch_size=2, branch_sha256=_branch_sha(), processes=2)
    try:
        pooled = pooled_encoder.encode(texts)
    finally:
        pooled_encoder.close()
    for name in ("embedding", "sentiment_logits"):
        assert np.array_equal(single[name], pooled[name])
