"""regions stage against the in-memory store: rows written, incremental second run."""

from __future__ import annotations

import pandas as pd

from commentminer.regions import stage
from commentminer.schema import COMMENTS, UNITS


def _comments(rows: list[tuple[str, str | None, bool]]) -> pd.DataFrame:
    base = {c: None for c in COMMENTS.column_names}
    frame = [dict(base, comment_id=cid, article_id="art_1", position=i, text="t", place=place, withheld=withheld)
             for i, (cid, place, withheld) in enumerate(rows)]
    return pd.DataFrame(frame, columns=COMMENTS.column_names)


def _quote_unit(unit_id: str, place: str | None) -> pd.DataFrame:
    base = {c: None for c in UNITS.column_names}
    row = dict(base, unit_id=unit_id, kind="quote", article_id="art_1", position=0, text="q", place=place,
               char_start=0, char_end=1)
    return pd.DataFrame([row], columns=UNITS.column_names)


def test_stage_writes_rows_and_is_incremental(ctx):
    ctx.store.upsert("comments", _comments([
        ("c1", "Weston-super-Mare", False), ("c2", None, True), ("c3", "Boleyn Road Practice", False),
        ("c4", "Bolton", False), ("c5", None, False),
    ]))
    ctx.store.upsert("units", pd.concat([_quote_unit("u1", "Manchester"), _quote_unit("u2", None)]))

    first = stage.run(ctx)
    assert first == {"resolved": 3, "unresolved": 3, "skipped_existing": 0}
    rows = ctx.store.read("regions").set_index("subject_id")
    assert set(rows.index) == {"c1", "c2", "c3", "c4", "c5", "u1"}  # u2 has no place
    assert rows.loc["u1", "subject_kind"] == "unit" and rows.loc["u1", "region"] == "North West"
    assert rows.loc["c1", "region"] == "South West" and rows.loc["c1", "method"] == "exact"
    assert rows.loc["c2", "reason"] == "withheld" and rows.loc["c5", "reason"] == "no_place"
    assert rows.loc["c3", "reason"] == "organisation" and rows.loc["c3", "place_raw"] == "Boleyn Road Practice"
    assert rows["resolver_id"].nunique() == 1 and rows["resolver_id"].iloc[0].startswith("gazetteer.v1+")
    assert bool(rows.loc["c4", "ambiguous"]) and not bool(rows.loc["u1", "ambiguous"])  # Bolton: also in East Lothian

    second = stage.run(ctx)
    assert second == {"resolved": 0, "unresolved": 0, "skipped_existing": 6}
    assert ctx.store.count("regions") == 6

    ctx.store.upsert("comments", _comments([("c6", "Cardiff", False)]).assign(position=6))
    third = stage.run(ctx)
    assert third == {"resolved": 1, "unresolved": 0, "skipped_existing": 6}
    assert ctx.store.read("regions", "subject_id = 'c6'")["region"].tolist() == ["Wales"]
