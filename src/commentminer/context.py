"""What every stage receives: the store, the resolved config, the error policy, and the current run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

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


    def batches(self, frame: Any, size: int, desc: str, unit: str = "row") -> Iterator[Any]:
        """Consecutive row slices of a DataFrame of at most `size` rows, with a progress bar counting rows.

        Stages write each slice in its own transaction, so a crash loses at most the slice in flight.
        """
        bar = None
        if self.config.run.progress and len(frame):
            from tqdm.auto import tqdm

            bar = tqdm(total=len(frame), desc=desc, unit=unit, leave=False)
        try:
            for start in range(0, len(frame), size):
                chunk = frame.iloc[start : start + size]
                yield chunk
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()


def batched(items: list[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
