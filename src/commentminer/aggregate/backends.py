"""Which stored backend's rows an aggregate reads.

`sentiment` and `regions` keep rows per backend (backend_id / resolver_id) and are not per run, so after a
backend change the store holds several versions side by side. Aggregates must read exactly one of them, or a
comment would be counted twice.
"""

from __future__ import annotations

from ..store import Store

# table -> (id column, subject filter) for the per-backend tables
_ID_COLUMNS = {
    "sentiment": "backend_id",
    "regions": "resolver_id",
}


def stored_ids(store: Store, table: str) -> dict[str, int]:
    """Backend ids present in `table` ("sentiment" or "regions") with their row counts."""
    column = _ID_COLUMNS[table]
    frame = store.query(f"SELECT {column} AS id, count(*) AS n FROM {table} GROUP BY {column} ORDER BY {column}")
    return {str(i): int(n) for i, n in zip(frame["id"], frame["n"])}


def choose_id(store: Store, table: str, prefix: str | None = None, preferred: str | None = None) -> str | None:
    """Pick one backend id from `table`.

    One id stored: that one (whatever the config says: it is the only data there is). Several: `preferred` if
    stored; else those starting with `prefix` (the configured backend name, e.g. "gazetteer.v1" matches
    "gazetteer.v1+3fa2..."), exact match first, then the one with most rows, ties broken by the larger id so
    the choice is deterministic. None when the table is empty.
    """
    ids = stored_ids(store, table)
    if not ids:
        return None
    if len(ids) == 1:
        return next(iter(ids))
    if preferred and preferred in ids:
        return preferred
    if prefix and prefix in ids:
        return prefix
    candidates = {i: n for i, n in ids.items() if prefix and i.startswith(prefix)} or ids
    return max(candidates, key=lambda i: (candidates[i], i))


def run_backends(store: Store, run_config_json: str | None, sentiment_name: str,
                 regions_name: str) -> tuple[str | None, str | None]:
    """(sentiment backend_id, regions resolver_id) to read for a run.

    The run's own stored config names the backends (reporting or querying an old run must read what that run
    used); `sentiment_name` / `regions_name` (the current config's) are the fallback. The resolver id the
    configured resolver writes now is preferred, so a rebuilt gazetteer's rows win over older ones.
    """
    import json

    try:
        stored = json.loads(run_config_json) if run_config_json else {}
        sentiment_name = stored.get("sentiment", {}).get("backend", sentiment_name)
        regions_name = stored.get("regions", {}).get("backend", regions_name)
        extra = stored.get("regions", {}).get("extra_gazetteer") or None
    except (ValueError, AttributeError):
        extra = None
    return (choose_id(store, "sentiment", prefix=sentiment_name),
            choose_id(store, "regions", prefix=regions_name, preferred=current_resolver_id(regions_name, extra)))


def current_resolver_id(name: str, extra_gazetteer: str | None = None) -> str | None:
    """The resolver_id the configured resolver (with the run's [regions] extra_gazetteer) writes now; None when it
    cannot be built (then: by prefix)."""
    from ..regions.stage import build_resolver

    try:
        return str(build_resolver(name, extra_gazetteer).resolver_id)
    except Exception:  # unknown backend or unreadable data: fall back to choosing by prefix
        return None
