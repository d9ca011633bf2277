"""Engines: where the per-row model stages (segment, embed, sentiment) run.

`local` runs every stage in this process (the stages' own `run`). `ray` runs segment, embed and sentiment as Ray
Data `map_batches` over Parquet shards of their pending rows, one model per worker actor, and writes the results
back to the store from this process through the stages' own write functions, so every later stage reads the
same tables either way. Every other stage runs here with both engines.

Importing this package does not import Ray; only choosing the ray engine does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .local import LocalEngine

if TYPE_CHECKING:
    from ..config import Config
    from ..context import StageContext

ENGINES = ("local", "ray")


class Engine(Protocol):
    name: str

    def run_stage(self, name: str, target: str, ctx: "StageContext") -> dict:
        """Run analysis stage `name` ("module:function" `target` is its local implementation); its counts."""
        ...

    def close(self) -> None:
        """Release what the engine started (a local Ray instance, worker actors)."""
        ...


def make_engine(config: "Config") -> Engine:
    """The engine [engine] backend names (Ray is imported, and started or joined, only on first use)."""
    if config.engine.backend == "ray":
        from .ray_engine import RayEngine

        return RayEngine(config)
    return LocalEngine()
