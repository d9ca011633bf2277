"""A real `commentminer analyse` process killed (SIGKILL, its whole process group: with `--engine ray` the
driver, Ray's own processes and the workers) once it has stored some embeddings, then resumed by the same
command: no vector is lost or stored twice, and the resumed run finishes the analysis. Both engines.

Its own module: the ray run starts its own local Ray instance, and test_engine_ray.py keeps one open in the test
process for its module. The ray case is skipped without Ray (`pip install "commentminer[ray]"`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from commentminer import api
from commentminer.config import load_config
from commentminer.store import Store

ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = ROOT / "corpus" / "seeds"
CHUNK = 20  # rows per store write on the driver: the seeds' ~234 texts make a dozen chunks
SETTINGS = ["run.progress=false", f"engine.chunk_rows={CHUNK}", "engine.batch_rows=20", "engine.workers=2"]

# The CLI, with embed.stage.write_vectors (the one write of a chunk, by either engine) marking each committed
# chunk in $MARK and, after the second, waiting for the kill: the kill lands with the run in full flight (ray:
# workers embedding, the driver between two writes), at a known number of committed chunks. The local engine
# writes every BATCH_SIZE texts (2,048), more than the seeds hold: the driver makes it CHUNK.
DRIVER = f"""
import os, time
from commentminer.embed import stage
from commentminer.cli import main

stage.BATCH_SIZE = {CHUNK}
write = stage.write_vectors

def marked(*args, **kwargs):
    write(*args, **kwargs)
    with open(os.environ["MARK"], "a") as mark:
        mark.write("chunk\\n")
    if sum(1 for _ in open(os.environ["MARK"])) == 2:
        time.sleep(120)

stage.write_vectors = marked
main()
"""


def _analyse(db: Path, engine: str, script: list[str], env: dict, **kwargs) -> subprocess.Popen:
    sets = [arg for s in SETTINGS for arg in ("--set", s)]
    return subprocess.Popen([sys.executable, *script, "analyse", "--db", str(db), "--engine", engine, "-q", *sets],
                            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, **kwargs)


def _count(db: Path, sql: str) -> list:
    with Store(db, read_only=True) as store:
        return list(store.con.execute(sql).fetchall()[0])


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_killed_analyse_resumes_without_loss_or_duplicates(tmp_path, engine):
    if engine == "ray":
        pytest.importorskip("ray", reason='the ray engine needs Ray: pip install "commentminer[ray]"')
    db = tmp_path / "killed.duckdb"
    api.ingest([SEEDS_DIR], config=load_config(overrides=["run.progress=false"]), db=db)
    mark = tmp_path / "chunks"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MARK": str(mark)}
    (tmp_path / "driver.py").write_text(DRIVER)
    with open(tmp_path / "killed.log", "w") as log:
        run = _analyse(db, engine, [str(tmp_path / "driver.py")], env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 180
        while not (mark.is_file() and len(mark.read_text().splitlines()) >= 2):
            assert run.poll() is None, (tmp_path / "killed.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "no two chunks written in 180 s"
            time.sleep(0.2)
        os.killpg(run.pid, signal.SIGKILL)  # the run's own process group (start_new_session): nothing else
        run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL
    n_texts, = _count(db, "SELECT count(DISTINCT text_hash) FROM units")
    stored, = _count(db, "SELECT count(*) FROM embeddings")
    assert n_texts > 3 * CHUNK and stored == 2 * CHUNK   # the committed chunks, nothing of the one in flight

    resumed = _analyse(db, engine, ["-m", "commentminer.cli"], env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err[-3000:]
    total, keys, missing = _count(db, """
        SELECT count(*), count(DISTINCT (e.text_hash, e.model_id)),
               (SELECT count(DISTINCT u.text_hash) FROM units u WHERE u.text_hash NOT IN (SELECT text_hash FROM embeddings))
        FROM embeddings e""")
    assert total == keys == n_texts and missing == 0
    assert api.run_stats(db=db)["embed"]["embedded"] == n_texts - 2 * CHUNK      # only what the killed run had not stored
    units, scored, themed = _count(db, """
        SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM sentiment WHERE target_kind = 'unit'),
               (SELECT count(*) FROM unit_themes)""")
    assert scored == units and themed > 0
