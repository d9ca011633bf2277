"""The ray engine: the same rows as the local engine, resumable after a kill mid-embed, and optional.

Runs on one local Ray instance (ray.init(num_cpus=2)) started once for this module; skipped when Ray is not
installed (`pip install "commentminer[ray]"`, part of the test extra).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from commentminer import api
from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.embed import stage as embed_stage
from commentminer.engine import make_engine
from commentminer.errors import ConfigError
from commentminer.store import Store

STORE_VECTORS = embed_stage.write_vectors  # the real write, whatever a test wraps around it
SEEDS_DIR = Path(__file__).resolve().parents[1] / "corpus" / "seeds"
DISTRIBUTED = ("segment", "embed", "sentiment")
CHUNK = 50  # rows per store write on the driver in these tests: the seeds' ~234 units make 5 chunks


def _config(backend: str, extra: tuple[str, ...] = ()):
    return load_config(overrides=["run.progress=false", f"engine.backend={backend}", f"engine.chunk_rows={CHUNK}",
                                  "engine.workers=2", "engine.batch_rows=40", *extra])


def _run_stages(db, backend: str, names=DISTRIBUTED, extra: tuple[str, ...] = ()) -> dict:
    cfg = _config(backend, extra)
    targets = dict(api.ANALYSIS_STAGES)
    engine = make_engine(cfg)
    stats = {}
    try:
        with Store(db) as store:
            ctx = StageContext.create(store, cfg, run_id="run_test")
            for name in names:
                stats[name] = engine.run_stage(name, targets[name], ctx)
    finally:
        engine.close()
    return stats


def _table(db, sql: str):
    with Store(db, read_only=True) as store:
        return store.query(sql)


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray", reason='the ray engine needs Ray: pip install "commentminer[ray]"')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    db = tmp_path_factory.mktemp("engine") / "ingested.duckdb"
    api.ingest([SEEDS_DIR], config=load_config(overrides=["run.progress=false"]), db=db)
    return db


def _recording_writes(monkeypatch) -> dict:
    """Record the float32 vectors and logits each engine hands embed.stage.write_vectors (the one write path),
    keyed by text hash: what the model computed, whatever precision the store keeps."""
    seen = {}

    def recording(ctx, hashes, model_id, vectors, logits=None, output_id=None):
        for i, text_hash in enumerate(hashes):
            seen[text_hash] = (np.array(vectors[i], np.float32), None if logits is None else np.array(logits[i]))
        STORE_VECTORS(ctx, hashes, model_id, vectors, logits, output_id)

    monkeypatch.setattr(embed_stage, "write_vectors", recording)
    return seen


def _assert_same_vectors(got: dict, want: dict) -> None:
    assert got.keys() == want.keys() and len(got) > 0
    worst_vector = max(float(np.abs(got[h][0] - want[h][0]).max()) for h in want)
    worst_logit = max(float(np.abs(got[h][1] - want[h][1]).max()) for h in want)
    assert worst_vector <= 1e-6, f"vectors differ by up to {worst_vector}"
    assert worst_logit <= 1e-5, f"sentiment logits differ by up to {worst_logit}"


def _stored_hashes(db) -> list:
    return _table(db, "SELECT text_hash, model_id FROM embeddings ORDER BY ALL").values.tolist()


def test_both_engines_give_the_same_rows(ray_instance, ingested, monkeypatch):
    computed = {}
    for backend in ("local", "ray"):
        db = ingested.with_name(f"{backend}.duckdb")
        shutil.copy(ingested, db)
        computed[backend] = _recording_writes(monkeypatch)
        stats = _run_stages(db, backend)
    assert all(stats[name]["engine"].startswith("ray(") for name in DISTRIBUTED)
    local, ray = ingested.with_name("local.duckdb"), ingested.with_name("ray.duckdb")
    units = "SELECT * FROM units ORDER BY unit_id"
    assert _table(ray, units).equals(_table(local, units))
    _assert_same_vectors(computed["ray"], computed["local"])
    assert _stored_hashes(ray) == _stored_hashes(local)
    sentiment = "SELECT target_kind, target_id, backend_id, label, score FROM sentiment ORDER BY ALL"
    got, want = _table(ray, sentiment), _table(local, sentiment)
    assert len(got) > 0 and got[["target_kind", "target_id", "backend_id", "label"]].equals(
        want[["target_kind", "target_id", "backend_id", "label"]])
    assert np.allclose(got["score"], want["score"], atol=1e-5)
    # A backend that reads neither vectors nor logits (VADER) goes through the same worker path.
    for db in (local, ray):
        _run_stages(db, "local" if db == local else "ray", ["sentiment"], ("sentiment.backend=vader.v1",))
    vader = "SELECT target_kind, target_id, label, score FROM sentiment WHERE backend_id LIKE 'vader%' ORDER BY ALL"
    got, want = _table(ray, vader), _table(local, vader)
    assert len(got) > 0 and got[["target_kind", "target_id", "label"]].equals(want[["target_kind", "target_id", "label"]])
    # comment scores are sums in DuckDB, whose order follows the order rows were written: equal to float rounding
    assert np.allclose(got["score"], want["score"], atol=1e-9)
    # A second run finds nothing pending and does not even start the workers.
    again = _run_stages(ray, "ray")
    assert again["embed"]["embedded"] == 0 and again["embed"]["engine"] == "ray"


def test_a_ray_run_killed_mid_embed_resumes_without_loss_or_duplicates(ray_instance, ingested, monkeypatch):
    local = ingested.with_name("local_for_kill.duckdb")
    shutil.copy(ingested, local)
    want = _recording_writes(monkeypatch)
    _run_stages(local, "local")
    db = ingested.with_name("killed.duckdb")
    shutil.copy(ingested, db)
    _run_stages(db, "local", ["segment"])
    n_texts = int(_table(db, "SELECT count(DISTINCT text_hash) FROM units").iloc[0, 0])
    assert n_texts > 3 * CHUNK
    got = _recording_writes(monkeypatch)
    write = embed_stage.write_vectors
    written = []

    def dies_after_two_chunks(*args, **kwargs):
        if len(written) == 2:
            raise KeyboardInterrupt  # as if the driver were killed while the third chunk comes in
        write(*args, **kwargs)
        written.append(1)

    monkeypatch.setattr(embed_stage, "write_vectors", dies_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        _run_stages(db, "ray", ["embed"])
    assert int(_table(db, "SELECT count(*) FROM embeddings").iloc[0, 0]) == 2 * CHUNK  # whole chunks only
    monkeypatch.setattr(embed_stage, "write_vectors", write)
    resumed = _run_stages(db, "ray", ["embed", "sentiment"])
    assert resumed["embed"]["embedded"] == n_texts - 2 * CHUNK
    counts = _table(db, "SELECT count(*) AS n, count(DISTINCT (text_hash, model_id)) AS keys FROM embeddings")
    assert counts.loc[0, "n"] == counts.loc[0, "keys"] == n_texts
    assert _stored_hashes(db) == _stored_hashes(local)
    _assert_same_vectors(got, want)  # the two chunks before the kill, and the rest after it
    labels = "SELECT target_id, label FROM sentiment WHERE target_kind = 'unit' ORDER BY target_id"
    assert _table(db, labels).equals(_table(local, labels))


def test_ray_is_optional():
    code = ("import sys, commentminer, commentminer.api, commentminer.cli, commentminer.engine as e, "
            "commentminer.config as c; e.make_engine(c.load_config()); print('ray' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_choosing_ray_without_it_installed_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees when Ray is not installed
    with pytest.raises(ConfigError, match=r'pip install "commentminer\[ray\]"') as error:
        make_engine(_config("ray"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("args, backend, address", [
    (["--engine", "ray", "--ray-address", "head:6379"], "ray", "head:6379"), ([], "local", "")])
def test_engine_options_set_the_engine_config(monkeypatch, tmp_path, args, backend, address):
    from typer.testing import CliRunner

    from commentminer.cli import app

    seen = {}

    def fake_analyse(config, db, log):
        seen.update(backend=config.engine.backend, address=config.engine.ray_address)
        raise ConfigError("stop here")

    monkeypatch.setattr(api, "analyse", fake_analyse)
    result = CliRunner().invoke(app, ["analyse", "--db", str(tmp_path / "s.duckdb"), "-q", *args])
    assert isinstance(result.exception, ConfigError)
    assert seen == {"backend": backend, "address": address}
