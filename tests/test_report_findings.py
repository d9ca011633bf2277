"""Key findings: sentences with numbers, claims only where the intervals support them, changes since the previous
run (new / grown / shrunk themes)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from commentminer.report.findings import MAX_FINDINGS, growth, key_findings, previous_run, redrawn
from commentminer.schema import TABLES


def _theme(theme_id, title, n, mean, low, high, kind="discovered", too_few=False):
    return {"theme_id": theme_id, "title": title, "kind": kind, "n_commenters": n, "mean_score": mean,
            "mean_low": low, "mean_high": high, "too_few": too_few}


def _region(region, n, mean, low, high, too_few=False, neg=0.3, pos=0.3):
    return {"region": region, "n_comments": n, "n_commenters": n, "mean_score": mean, "ci_low": low,
            "ci_high": high, "too_few": too_few, "share_negative": neg, "share_positive": pos}


THEMES = [
    _theme(1, "waiting times", 40, -0.45, -0.55, -0.35),
    _theme(2, "friendly staff", 25, 0.40, 0.30, 0.50),
    _theme(3, "parking", 10, 0.00, -0.20, 0.20),
    _theme(4, "tiny", 2, -0.90, None, None, too_few=True),
    _theme(9, "a group", 60, 0.0, -0.1, 0.1, kind="parent"),
    _theme(-1, "other", 5, 0.0, None, None, kind="other"),
]


def test_findings_state_sizes_and_only_supported_differences():
    regions = [_region("London", 30, -0.30, -0.40, -0.20), _region("Wales", 20, 0.20, 0.10, 0.30),
               _region("Scotland", 2, 0.9, None, None, too_few=True), _region("Unresolved", 10, 0.0, -0.1, 0.1)]
    found = key_findings(THEMES, regions, {"n_commenters": 80}, 5)
    texts = [f["text"] for f in found]
    assert 5 <= len(found) <= MAX_FINDINGS and all(f["href"].startswith("#") for f in found)
    assert texts[0] == "The theme most commenters wrote about is “waiting times”: 40 distinct commenters (50% of 80)."
    assert found[0]["href"] == "#theme-1"                                   # parents and "other" are not themes here
    assert "Of 62 scored comments" in texts[2]
    negative = next(t for t in texts if t.startswith("Most negative"))
    assert "“waiting times”" in negative and "every other theme" in negative and "−0.45" in negative
    assert "tiny" not in " ".join(texts)                                    # too few commenters: never compared
    positive = next(t for t in texts if t.startswith("Most positive"))
    assert "“friendly staff”" in positive
    regional = next(f for f in found if f["href"] == "#regions" and "Commenters in" in f["text"])
    assert "London" in regional["text"] and "Wales" in regional["text"] and "Scotland" not in regional["text"]


def test_overlapping_intervals_claim_no_difference():
    themes = [_theme(1, "a", 10, -0.1, -0.3, 0.1), _theme(2, "b", 10, 0.1, -0.1, 0.3)]
    regions = [_region("London", 10, -0.1, -0.3, 0.1), _region("Wales", 10, 0.1, -0.1, 0.3)]
    texts = [f["text"] for f in key_findings(themes, regions, {"n_commenters": 20}, 5)]
    assert not any(t.startswith(("Most negative", "Most positive")) for t in texts)
    assert any(t.startswith("No theme's sentiment clearly differs") for t in texts)
    assert any(t.startswith("No region clearly differs") for t in texts)


def test_changes_since_the_previous_run(store):
    now = datetime(2026, 1, 2)
    runs = pd.DataFrame([{c: None for c in TABLES["runs"].column_names} | {"run_id": r, "status": "ok",
                          "started_at": t, "finished_at": t} for r, t in (("old", datetime(2026, 1, 1)),
                                                                          ("new", now))])
    store.upsert("runs", runs[TABLES["runs"].column_names])
    old = [(1, 40), (2, 20), (3, 30)]
    store.upsert("themes", pd.DataFrame([{c: None for c in TABLES["themes"].column_names}
                                         | {"run_id": "old", "theme_id": t, "label": f"t{t}", "kind": "discovered",
                                            "n_commenters": n, "n_units": n, "n_comments": n} for t, n in old])
                 [TABLES["themes"].column_names])
    assert previous_run(store, "new") == "old" and previous_run(store, "old") is None
    themes = [_theme(1, "steady", 42, 0, 0, 0), _theme(2, "grew", 35, 0, 0, 0), _theme(3, "shrank", 12, 0, 0, 0),
              _theme(4, "brand new", 9, 0, 0, 0)]
    rows, new = growth(store, "new", themes, 5)
    assert [(r["title"], r["change"], r["before"], r["after"]) for r in rows] == [
        ("shrank", "shrunk", 30, 12), ("grew", "grown", 20, 35)]               # largest change first; 40->42 is noise
    assert new == [{"theme_id": 4, "title": "brand new", "n_commenters": 9}]
    texts = [f["text"] for f in key_findings(themes, [], {"n_commenters": 50}, 5, rows, new)]
    assert "New since the previous run: “brand new” (9 commenters)." in texts
    assert "Grew since the previous run: “grew” (20 → 35 commenters)." in texts
    assert "Shrank since the previous run: “shrank” (30 → 12 commenters)." in texts
    assert redrawn(store, "new", themes) is None                           # 3 leaves then, 4 now: same level


def test_themes_redrawn_at_another_level_are_not_compared_by_size(store):
    """A re-fit that draws 12 themes as 40 keeps some ids (matched by centroid), but a matched theme then covers
    a different share of the corpus: no grew/shrank claims, one sentence saying the themes were re-drawn."""
    runs = pd.DataFrame([{c: None for c in TABLES["runs"].column_names} | {"run_id": r, "status": "ok",
                          "started_at": t, "finished_at": t} for r, t in (("old", datetime(2026, 1, 1)),
                                                                          ("new", datetime(2026, 1, 2)))])
    store.upsert("runs", runs[TABLES["runs"].column_names])
    old = [(t, 400) for t in range(12)] + [(99, 0)]
    store.upsert("themes", pd.DataFrame([{c: None for c in TABLES["themes"].column_names}
                                         | {"run_id": "old", "theme_id": t, "label": f"t{t}",
                                            "kind": "parent" if t == 99 else "discovered", "n_commenters": n,
                                            "n_units": n, "n_comments": n} for t, n in old])
                 [TABLES["themes"].column_names])
    themes = [_theme(t, f"t{t}", 100, 0, 0, 0) for t in range(40)]
    assert redrawn(store, "new", themes) == (12, 40)
    texts = [f["text"] for f in key_findings(themes, [], {"n_commenters": 4000}, 5,
                                             *growth(store, "new", themes, 5), redrawn(store, "new", themes))]
    assert "The themes were re-drawn since the previous run (12 themes then, 40 now), so their sizes are not " \
           "compared with it." in texts
    assert not any(t.startswith(("Shrank", "Grew", "New since")) for t in texts)


def test_a_negative_best_theme_is_the_least_negative_not_the_most_positive():
    themes = [_theme(1, "carbon", 30, -0.40, -0.45, -0.35), _theme(2, "Canada", 30, -0.18, -0.21, -0.15)]
    texts = [f["text"] for f in key_findings(themes, [], {"n_commenters": 60}, 5)]
    assert any(t.startswith("Most negative: “carbon”") for t in texts)
    assert any(t.startswith("Least negative: “Canada”") for t in texts)
    assert not any(t.startswith("Most positive") for t in texts)
