"""The local engine: every stage runs in this process, as its module's `run(ctx)`."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..context import StageContext


def run_target(target: str, ctx: "StageContext") -> dict:
    """Call a stage given as "module:function" with `ctx`; its counts."""
    module_name, attr = target.split(":")
    return getattr(import_module(module_name), attr)(ctx)


class LocalEngine:
    """Today's path: each stage's own loop, batch by batch, in this process."""

    name = "local"

    def run_stage(self, name: str, target: str, ctx: "StageContext") -> dict:
        return run_target(target, ctx)

    def close(self) -> None:
        return None
