"""Theme stability across runs: stable ids from the theme registry, and a change log against the previous run.

- `match_ids`: guided themes keep the id registered under their name; other themes are matched one-to-one to
  registered themes of the same kind by centroid cosine (Hungarian assignment, pairs below `threshold` are not
  matches). Unmatched themes get fresh ids (max registered id + 1, ...) in the order given. Matching is against
  every theme the store has ever registered, so a theme that disappears for a run gets its old id back.
- `change_log`: the previous run's themes vs this run's, by id and centroid: "new" (an id the previous run did not
  have), "gone" (a previous id with no similar theme now), "merged" (previous themes whose closest theme now is
  another continuing theme), "split" (a continuing theme plus new themes closest to it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Known:
    """A registered theme (one row of theme_registry, or one theme of the previous run)."""

    theme_id: int
    kind: str
    key: str | None
    label: str
    centroid: np.ndarray


def match_ids(
    centroids: np.ndarray, kinds: Sequence[str], keys: Sequence[str | None], known: Sequence[Known], threshold: float,
) -> tuple[list[int], list[float | None]]:
    """Stable id per new theme (rows of `centroids`) and the cosine to the matched registered theme (None: new)."""
    from scipy.optimize import linear_sum_assignment

    n = len(centroids)
    ids: list[int | None] = [None] * n
    sims: list[float | None] = [None] * n
    by_key = {k.key: k for k in known if k.key}
    for i, key in enumerate(keys):
        if key and key in by_key:
            ids[i] = by_key[key].theme_id
            sims[i] = float(np.dot(centroids[i], by_key[key].centroid)) if len(by_key[key].centroid) else None
    for kind in sorted(set(kinds)):
        rows = [i for i in range(n) if kinds[i] == kind and not keys[i]]
        pool = [k for k in known if k.kind == kind and not k.key and len(k.centroid) == centroids.shape[1]]
        if not rows or not pool:
            continue
        sim = np.asarray(centroids[rows], np.float64) @ np.stack([k.centroid for k in pool]).astype(np.float64).T
        r_idx, c_idx = linear_sum_assignment(-sim)
        for r, c in zip(r_idx, c_idx):
            if sim[r, c] >= threshold:
                ids[rows[r]] = pool[c].theme_id
                sims[rows[r]] = float(sim[r, c])
    next_id = max([k.theme_id for k in known] + [-1]) + 1
    for i in range(n):
        if ids[i] is None:
            ids[i] = next_id
            next_id += 1
    return [int(i) for i in ids], sims


def change_log(previous: Sequence[Known], current: Sequence[Known], threshold: float) -> list[dict]:
    """Changes from `previous` to `current` themes: dicts with change, from_ids, to_ids, detail."""
    if not previous:
        return []
    prev_ids = {p.theme_id for p in previous}
    cur_ids = {c.theme_id for c in current}
    def best(theme: Known, among: Sequence[Known]) -> tuple[Known | None, float]:
        scored = [(float(np.dot(theme.centroid, o.centroid)), -o.theme_id, o) for o in among
                  if len(o.centroid) == len(theme.centroid)]
        if not scored:
            return None, 0.0
        sim, _, other = max(scored, key=lambda s: (s[0], s[1]))
        return other, sim

    changes: list[dict] = []
    splits: dict[int, list[int]] = {}
    for cur in sorted(current, key=lambda c: c.theme_id):
        if cur.theme_id in prev_ids:
            continue
        origin, sim = best(cur, previous)
        if origin is not None and sim >= threshold and origin.theme_id in cur_ids:
            splits.setdefault(origin.theme_id, []).append(cur.theme_id)
        else:
            changes.append({"change": "new", "from_ids": [], "to_ids": [cur.theme_id],
                            "detail": f"new theme “{cur.label}”"})
    for origin_id, new_ids in sorted(splits.items()):
        label = next(p.label for p in previous if p.theme_id == origin_id)
        changes.append({"change": "split", "from_ids": [origin_id], "to_ids": [origin_id, *new_ids],
                        "detail": f"“{label}” split into {len(new_ids) + 1} themes"})
    merges: dict[int, list[int]] = {}
    for prev in sorted(previous, key=lambda p: p.theme_id):
        if prev.theme_id in cur_ids:
            continue
        target, sim = best(prev, current)
        if target is not None and sim >= threshold:
            merges.setdefault(target.theme_id, []).append(prev.theme_id)
        else:
            changes.append({"change": "gone", "from_ids": [prev.theme_id], "to_ids": [],
                            "detail": f"“{prev.label}” has no similar theme in this run"})
    for target_id, old_ids in sorted(merges.items()):
        label = next(c.label for c in current if c.theme_id == target_id)
        changes.append({"change": "merged", "from_ids": sorted(old_ids + ([target_id] if target_id in prev_ids else [])),
                        "to_ids": [target_id], "detail": f"merged into “{label}”"})
    order = {"new": 0, "split": 1, "merged": 2, "gone": 3}
    return sorted(changes, key=lambda c: (order[c["change"]], c["to_ids"] or c["from_ids"]))
