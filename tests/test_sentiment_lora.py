"""The LoRA-fine-tuned MiniLM sentiment backend (minilm_lora.v1): shipped weights, scores, selection, bad files."""

import importlib.resources
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from commentminer import registry
from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.errors import BackendError
from commentminer.sentiment import stage
from commentminer.sentiment.lora_model import DEFAULT_WEIGHTS, LoraSentiment, sha256_file

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "all-MiniLM-L6-v2"
TEXTS = ["This is a wonderful, excellent plan and I love it.",
         "The board meets on Tuesday at ten o'clock.",
         "It is a terrible, insulting and awful decision."]


def needs_model():
    if not (MODEL_DIR / "model.safetensors").is_file():
        pytest.skip("needs the embedding model (make model)")


@pytest.fixture(scope="module")
def model():
    needs_model()
    return LoraSentiment(model_path=str(MODEL_DIR))


def test_weights_ship_as_package_data_with_a_recipe():
    files = importlib.resources.files("commentminer.sentiment") / "data"
    assert (files / "minilm_lora_sentiment.npz").is_file()
    assert Path(str(files / "minilm_lora_sentiment.npz")) == DEFAULT_WEIGHTS
    assert DEFAULT_WEIGHTS.stat().st_size < 3_000_000
    recipe = json.loads((files / "minilm_lora_sentiment.json").read_text())
    assert recipe["weights_sha256"] == sha256_file(DEFAULT_WEIGHTS)
    assert recipe["backend_id"] == LoraSentiment().backend_id
    assert recipe["training_data"] and all(item["licence"] for item in recipe["training_data"])
    assert recipe["hyperparameters"]["seed"] is not None and recipe["base_model_licence"]
    meta = LoraSentiment().meta
    assert meta["base_model"] == "all-MiniLM-L6-v2" and len(meta["base_model_sha256"]) == 64
    assert 0 < meta["neutral_band"] < 1 and 0 <= meta["vader_weight"] < 1
    with np.load(DEFAULT_WEIGHTS, allow_pickle=False) as data:  # no pickle needed to read it
        assert "meta" in data.files and "head.w" in data.files


def test_registered_and_constructor_is_lazy(tmp_path):
    created = registry.create("sentiment", "minilm_lora.v1", weights_path=str(tmp_path / "nothing-yet.npz"))
    assert isinstance(created, LoraSentiment) and not created.needs_embeddings  # nothing read yet
    assert registry.create("sentiment", "minilm_lora.v1").backend_id.startswith("minilm_lora.v1+")


def test_config_selects_it_with_the_embed_model_path(store):
    config = load_config(overrides=["run.progress=false", "sentiment.backend=minilm_lora.v1",
                                    "embed.model_path=some/where"])
    built = stage.build_model(StageContext.create(store, config))
    assert isinstance(built, LoraSentiment) and built.model_path == Path("some/where")
    assert built.weights_path == DEFAULT_WEIGHTS


def test_clear_sentences_labels_ranges_and_determinism(model):
    pos, neu, neg = model.score(TEXTS)
    assert pos.label == "positive" and neg.label == "negative" and neu.label == "neutral"
    assert pos.score > neu.score > neg.score
    for s in (pos, neu, neg):
        assert -1 <= s.score <= 1 and 0 <= s.confidence <= 1
    assert pos.confidence > 0.5 and neg.confidence > 0.5
    # the same input gives the same output, whatever the batch it is in and on a fresh instance
    assert model.score(TEXTS) == [pos, neu, neg]
    assert model.score(TEXTS[::-1]) == [neg, neu, pos]
    assert LoraSentiment(model_path=str(MODEL_DIR)).score(TEXTS[:1]) == [pos]
    assert model.score([]) == []


def test_scores_stay_in_range_on_odd_text(model):
    texts = ["", "!!!", "ok", "Not bad at all, not bad.", "x " * 400, "😀😀 great!!", "I don't hate it."]
    out = model.score(texts)
    assert len(out) == len(texts)
    assert all(-1 <= s.score <= 1 and 0 <= s.confidence <= 1 for s in out)
    assert {s.label for s in out} <= {"negative", "neutral", "positive"}


def test_missing_or_corrupt_weights_are_clear_errors(tmp_path):
    with pytest.raises(BackendError, match="not found"):
        LoraSentiment(weights_path=str(tmp_path / "missing.npz")).backend_id
    with pytest.raises(BackendError, match="not found"):
        LoraSentiment(weights_path=str(tmp_path / "missing.npz")).score(["x"])
    copy = tmp_path / "w.npz"
    shutil.copy(DEFAULT_WEIGHTS, copy)
    with pytest.raises(BackendError, match="recipe"):  # no recipe next to it
        LoraSentiment(weights_path=str(copy)).meta
    shutil.copy(DEFAULT_WEIGHTS.with_suffix(".json"), copy.with_suffix(".json"))
    assert LoraSentiment(weights_path=str(copy)).meta == LoraSentiment().meta
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(BackendError, match="sha256.*does not match"):
        LoraSentiment(weights_path=str(copy)).score(["x"])
    assert LoraSentiment(weights_path=str(copy)).backend_id != LoraSentiment().backend_id


def test_base_model_must_be_the_one_trained_on(tmp_path):
    other = tmp_path / "other-model"
    other.mkdir()
    for name in ("config.json", "modules.json", "tokenizer.json"):
        (other / name).write_text("{}")
    (other / "model.safetensors").write_bytes(b"not the model the adapters were trained on")
    with pytest.raises(BackendError, match="model_path"):  # checked before anything is loaded
        LoraSentiment(model_path=str(other)).score(["x"])


def test_stage_scores_units_without_stored_vectors(store, monkeypatch):
    needs_model()
    config = load_config(overrides=["run.progress=false", "sentiment.backend=minilm_lora.v1",
                                    f"embed.model_path={MODEL_DIR}"])
    ctx = StageContext.create(store, config, run_id="r")
    monkeypatch.setattr("commentminer.embed.stage.build_embedder",
                        lambda ctx: (_ for _ in ()).throw(AssertionError("no embedder needed")))
    ctx.store.upsert("units", pd.DataFrame([{
        "unit_id": f"u{i}", "kind": "comment", "article_id": "a", "comment_id": "c1", "position": i, "text": t,
        "char_start": 0, "char_end": len(t), "text_hash": f"h{i}", "speaker": None, "place": None,
        "segmenter_id": "s"} for i, t in enumerate(TEXTS)]))
    result = stage.run(ctx)
    assert result["units_scored"] == 3 and result["backend_id"] == LoraSentiment().backend_id
    rows = ctx.store.read("sentiment", "target_kind = 'unit'").set_index("target_id")
    assert list(rows.loc[["u0", "u1", "u2"], "label"]) == ["positive", "neutral", "negative"]
    assert stage.run(ctx)["units_scored"] == 0  # incremental
