"""The ray engine: segment, embed and sentiment as Ray Data `map_batches` over Parquet shards, results written
back to the store by the driver (this process) in chunks of [engine] chunk_rows rows, each in one transaction.

The pending rows of a stage (the same query the local stage runs) are written to Parquet shards; Ray Data reads
them, and a pool of [engine] workers actors (one model each, built once in the actor's constructor, with
[engine] worker_threads CPUs and ONNX Runtime threads) maps them to results. The driver streams the results
back and stores each chunk through the stage's own write function, so the tables are those the local engine
writes, and a run killed mid-stage resumes from the store losing at most one chunk.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..errors import CommentminerError, ConfigError
from .local import run_target
from .shards import shard_size, write_shards

if TYPE_CHECKING:
    import pandas as pd

    from ..context import StageContext

INSTALL_HINT = '[engine] backend = "ray" needs Ray, which is not installed: pip install "commentminer[ray]"'


def import_ray() -> Any:
    """The ray module, or a one-line error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data ships in the ray[data] extra)
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return ray


def shipped_config(config: Config) -> str:
    """The config as JSON for the workers, with relative model paths made absolute (workers may run in another
    folder; on a cluster every node needs the model folder at that same path)."""
    cfg = config.model_copy(deep=True)
    cfg.embed.model_path = str(Path(cfg.embed.model_path).resolve())
    if cfg.sentiment.weights_path:
        cfg.sentiment.weights_path = str(Path(cfg.sentiment.weights_path).resolve())
    if Path(cfg.segment.model).exists():  # a spaCy pipeline given as a folder rather than a package name
        cfg.segment.model = str(Path(cfg.segment.model).resolve())
    return cfg.to_json()


class RayEngine:
    """Runs segment, embed and sentiment on Ray (joined or started on first use); every other stage locally."""

    name = "ray"

    def __init__(self, config: Config):
        self.config = config
        self.ray: Any = import_ray()  # fail at once, not mid-run, when Ray is missing
        self._started = False

    # -- lifecycle -------------------------------------------------------------------------------------------
    def connect(self) -> Any:
        """Join [engine] ray_address, or start a local Ray instance, unless this process already has one."""
        ray = self.ray
        if not ray.is_initialized():
            address = self.config.engine.ray_address or None
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"--ray-address {address}" if address else "local Ray"
                raise CommentminerError(f"{where}: cannot start or join Ray ({str(exc).splitlines()[0]})") from None
            self._started = True
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # no per-dataset plans and progress lines
        data_context = ray.data.DataContext.get_current()
        data_context.enable_progress_bars = False  # the driver shows its own bar, counting rows written
        return ray

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False

    def workers(self) -> int:
        """[engine] workers, capped by the CPUs the cluster has for actors of [engine] worker_threads CPUs."""
        cpus = int(self.connect().cluster_resources().get("CPU", 1))
        return max(1, min(self.config.engine.workers, cpus // self.config.engine.worker_threads))

    # -- stages ----------------------------------------------------------------------------------------------
    def run_stage(self, name: str, target: str, ctx: "StageContext") -> dict:
        from . import ray_stages

        stage = ray_stages.DISTRIBUTED.get(name)
        if stage is None:
            return run_target(target, ctx)
        return stage(self, ctx)

    def shard_rows(self, n_rows: int) -> int:
        """Rows per Parquet shard for a stage with `n_rows` pending rows."""
        return shard_size(n_rows, self.config.engine.shard_rows, self.workers())

    def map_chunks(self, ctx: "StageContext", shards: "Iterable[pd.DataFrame]", total: int, worker: type,
                   batch_format: str, desc: str, unit: str) -> Iterator[Any]:
        """Write `shards` (frames of pending rows, `total` rows in all) to Parquet, run `worker` over them on the
        cluster, and yield its results in chunks of [engine] chunk_rows rows (in `batch_format`), with a progress
        bar counting rows. The shards are deleted afterwards."""
        engine = self.config.engine
        ray = self.connect()
        workers = self.workers()
        root = Path(engine.shard_dir) if engine.shard_dir else Path(tempfile.gettempdir())
        folder = root / f"commentminer-shards-{desc}-{uuid.uuid4().hex[:8]}"
        bar = None
        try:
            paths = write_shards(shards, folder)
            shards = ray.data.from_items([{"path": str(p)} for p in paths], override_num_blocks=len(paths))
            dataset = shards.map_batches(
                worker, fn_constructor_kwargs={"config_json": shipped_config(self.config),
                                               "threads": engine.worker_threads, "batch_rows": engine.batch_rows},
                batch_size=1, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=engine.worker_threads)
            if self.config.run.progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, desc=ctx.label(f"{desc} (ray, {workers} workers)"), unit=unit,
                           leave=False)
            for chunk in dataset.iter_batches(batch_size=engine.chunk_rows, batch_format=batch_format):
                yield chunk
                if bar is not None:
                    bar.update(len(next(iter(chunk.values()))) if isinstance(chunk, dict) else len(chunk))
        finally:
            if bar is not None:
                bar.close()
            shutil.rmtree(folder, ignore_errors=True)
