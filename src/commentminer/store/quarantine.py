"""Per-item error policy shared by all stages: raise at once, or record in the `errors` table and go on."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from ..errors import InputError
from ..ids import content_id
from .duck import Store


class Quarantine:
    """Collects items a stage could not process.

    policy "raise": the first problem raises InputError (tests, debugging).
    policy "quarantine": problems are written to `errors` (the item and the reason) and the run goes on.
    """

    def __init__(self, store: Store, policy: str = "quarantine"):
        self.store = store
        self.policy = policy
        self.recorded = 0
        self.messages: list[str] = []  # "where: what is wrong", for the CLI to show after a stage

    def report(self, stage: str, uri: str, reason: str, detail: str, item_ref: str | None = None) -> None:
        """Record (or raise) one problem. `detail` is a human sentence saying what is wrong."""
        self.report_many([{"stage": stage, "uri": uri, "reason": reason, "detail": detail, "item_ref": item_ref}])

    def report_many(self, problems: list[dict]) -> None:
        """Record (or raise on the first of) several problems in one write; each a dict of `report`'s arguments.

        One write for a file's thousands of bad rows, instead of a transaction per row.
        """
        if not problems:
            return
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        rows = []
        for problem in problems:
            uri, item_ref = problem["uri"], problem.get("item_ref")
            reason, detail = problem["reason"], problem["detail"]
            where = f"{uri} ({item_ref})" if item_ref else uri
            if self.policy == "raise":
                raise InputError(where, detail, reason=reason)
            rows.append({
                "error_id": content_id("err", problem["stage"], uri, item_ref, reason),
                "stage": problem["stage"], "uri": uri, "item_ref": item_ref, "reason": reason, "detail": detail,
                "created_at": now,
            })
            self.messages.append(f"{where}: {detail}")
        self.store.upsert("errors", pd.DataFrame(rows))
        self.recorded += len(rows)
