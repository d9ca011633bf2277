"""What every stage receives: the store, the resolved config, the error policy, and the current run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from .config import Config
from .store import Quarantine, Store

T = TypeVar("T")


@dataclass
class StageContext:
    store: Store
    config: Config
    quarantine: Quarantine
    run_id: str | None = None    # set by the runner; per-run tables (themes, unit_themes) are keyed by it

    @classmethod
    def create(cls, store: Store, config: Config, run_id: str | None = None) -> "StageContext":
        return cls(store=store, config=config, quarantine=Quarantine(store, config.run.error_policy), run_id=run_id)

    def progress(self, items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "item") -> Iterator[T]:
        """Wrap a long loop in a progress bar (on stderr) unless [run] progress = false."""
        if not self.config.run.progress:
            yield from items
            return
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=desc, unit=unit, leave=False)


def batched(items: list[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
