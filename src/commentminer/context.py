"""What every stage receives: the store, the resolved config, the error policy, and the current run; and the
runner's RunSteps, which numbers, times and shows the stages of one command."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
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
    step: str = ""               # "[3/9]" while the runner runs the 3rd of 9 stages; prefixed to bar labels

    @classmethod
    def create(cls, store: Store, config: Config, run_id: str | None = None) -> "StageContext":
        return cls(store=store, config=config, quarantine=Quarantine(store, config.run.error_policy), run_id=run_id)

    def label(self, desc: str) -> str:
        """A progress bar's label with the run's stage number in front: "embed" -> "[3/9] embed"."""
        return f"{self.step} {desc}".strip() if self.step else desc

    def progress(self, items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "item") -> Iterator[T]:
        """Wrap a long loop in a progress bar (on stderr) unless [run] progress = false."""
        if not self.config.run.progress:
            yield from items
            return
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=self.label(desc), unit=unit, leave=False)


    def batches(self, frame: Any, size: int, desc: str, unit: str = "row") -> Iterator[Any]:
        """Consecutive row slices of a DataFrame of at most `size` rows, with a progress bar counting rows.

        Stages write each slice in its own transaction, so a crash loses at most the slice in flight.
        """
        bar = None
        if self.config.run.progress and len(frame):
            from tqdm.auto import tqdm

            bar = tqdm(total=len(frame), desc=self.label(desc), unit=unit, leave=False)
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


def usage() -> tuple[float, float, float]:
    """(wall clock s, CPU s, peak RSS MB) now. CPU is this process's user + system time over all its threads
    (time.process_time) plus that of child processes it has waited for (worker processes); peak RSS is this
    process's high-water mark so far (0 where the resource module is missing)."""
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        import resource
    except ImportError:  # not on Windows
        return wall, cpu, 0.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    per_mb = 2**20 if sys.platform == "darwin" else 2**10  # ru_maxrss is in bytes on macOS, KiB on Linux
    return wall, cpu + children.ru_utime + children.ru_stime, peak / per_mb


def timing_row(stage: str, start: tuple[float, float, float], end: tuple[float, float, float]) -> dict:
    """One row of a run's timings: stage, wall_s and cpu_s between two `usage()` readings, peak_rss_mb at the end."""
    return {"stage": stage, "wall_s": round(end[0] - start[0], 3), "cpu_s": round(end[1] - start[1], 3),
            "peak_rss_mb": round(end[2], 1)}


class RunSteps:
    """The stages of one command, in order (e.g. ingest, parse, segment, ..., report for `run`).

    `stage(name, ctx)` numbers a stage "[n/m]" (put into `ctx.step`, so every progress bar of the stage is
    labelled "[3/9] embed"), times it (wall s, CPU s, peak RSS MB so far: `timings`), and, with [run] progress
    on, keeps one line for the whole run ("run [3/9] embed |███     | 2/9 stages") above the stage's own bar.
    Use it as a context manager so that line is removed at the end; `write` prints a message without
    breaking the bars.
    """

    def __init__(self, names: Sequence[str], progress: bool = True):
        self.names = list(names)
        self.progress = progress
        self.timings: list[dict] = []
        self._start = usage()
        self._bar: Any = None

    def __enter__(self) -> "RunSteps":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def number(self, name: str) -> str:
        """ "[n/m]" for stage `name`."""
        return f"[{self.names.index(name) + 1}/{len(self.names)}]"

    @contextmanager
    def stage(self, name: str, ctx: StageContext | None = None) -> Iterator[None]:
        """Run one stage inside: numbered, shown, and timed (a failing stage is timed too)."""
        step = self.number(name)
        self._show(f"run {step} {name}")
        if ctx is not None:
            ctx.step = step
        start = usage()
        try:
            yield
        finally:
            if ctx is not None:
                ctx.step = ""
            self.timings.append(timing_row(name, start, usage()))
            if self._bar is not None:
                self._bar.update(1)

    def rows(self) -> list[dict]:
        """The finished stages' timings plus a "total" row: everything since this RunSteps was made."""
        return [*self.timings, timing_row("total", self._start, usage())]

    def last_wall(self) -> float:
        return self.timings[-1]["wall_s"] if self.timings else 0.0

    def write(self, log: Callable[[str], None], message: str) -> None:
        """log(message), with the progress bars cleared while it is written and redrawn after."""
        if self._bar is None:
            log(message)
            return
        with type(self._bar).external_write_mode():
            log(message)

    def _show(self, desc: str) -> None:
        if not self.progress:
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=len(self.names), desc=desc, unit="stage", leave=False,
                             bar_format="{desc} |{bar:16}| {n_fmt}/{total_fmt} stages")
        else:
            self._bar.set_description_str(desc)
