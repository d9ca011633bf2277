"""Loose themes (grouped by tone or form, not subject) in the report: the key findings do not rank them and name
them in one finding; brief.md, brief.xlsx and report.html mark them and list them after the focused themes; a null
`loose` (runs stored before the column) reads as focused."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.report.findings import MAX_FINDINGS, key_findings
from commentminer.report.stage import write_report
from fixtures.report_store import RUN_ID, add_parent_theme, build_report_store

OVERRIDES = ["run.progress=false", "aggregate.min_commenters=2"]
HOSTILE_LABEL = "<img src=x onerror=window.__pwned=9>"


def _theme(theme_id, title, n, mean, low, high, loose=None, focus=None, units=None, kind="discovered"):
    return {"theme_id": theme_id, "title": title, "kind": kind, "n_commenters": n, "n_units": n if units is None
            else units, "mean_score": mean, "mean_low": low, "mean_high": high, "too_few": False, "loose": loose,
            "focus": focus}


# "waste of space" is the largest and the most negative theme, but a loose one
THEMES = [
    _theme(5, "waste of space", 90, -0.80, -0.85, -0.75, loose=True, focus=0.001, units=300),
    _theme(1, "waiting times", 40, -0.45, -0.55, -0.35, loose=False, focus=0.4, units=100),
    _theme(2, "friendly staff", 25, 0.40, 0.30, 0.50, loose=False, focus=0.3, units=60),
    _theme(3, "parking", 10, 0.00, -0.20, 0.20, loose=False, focus=0.5, units=40),
    _theme(9, "a group", 60, 0.0, -0.1, 0.1, kind="parent"),
    _theme(-1, "other", 5, 0.0, None, None, kind="other"),
]


def _texts(themes, **kw):
    return [f["text"] for f in key_findings(themes, [], {"n_commenters": 200}, 5, **kw)]


def test_findings_rank_only_focused_themes_and_name_the_loose_ones():
    found = key_findings(THEMES, [], {"n_commenters": 200}, 5)
    texts = [f["text"] for f in found]
    assert texts[0] == "The theme most commenters wrote about is “waiting times”: 40 distinct commenters (20% of 200)."
    assert texts[1] == "Next by distinct commenters: “friendly staff” (25); “parking” (10)."
    assert texts[2] == ("1 of the 4 themes is a loose group, gathered by tone or form rather than by subject (under 1% "
                        "of its sentences use any of its top words): “waste of space” (60% of the sentences in "
                        "themes); it is not ranked here.")
    assert found[2]["href"] == "#theme-5"
    negative = next(t for t in texts if t.startswith("Most negative"))
    assert "“waiting times”" in negative and "waste of space" not in negative
    assert "every other theme" in negative        # compared with the other focused themes only


def test_loose_finding_caps_the_names_and_bounds_the_focus():
    loose = [_theme(10 + i, f"reaction {i}", 30 - i, 0.0, -0.1, 0.1, loose=True, focus=f, units=10)
             for i, f in enumerate((0.02, 0.085, 0.05, 0.01, 0.0))]
    found = key_findings(THEMES[1:4] + loose, [], {"n_commenters": 200}, 5)
    finding = next(f for f in found if "loose groups" in f["text"])
    assert finding["text"] == (
        "5 of the 8 themes are loose groups, gathered by tone or form rather than by subject (under 9% of each one's "
        "sentences use any of its top words): “reaction 0”, “reaction 1”, “reaction 2” and 2 more (20% of the "
        "sentences in themes); they are not ranked here.")
    assert finding["href"] == "#theme-10"                        # the largest loose group
    assert not any("reaction" in f["text"] for f in found if f is not finding)


def test_loose_finding_without_focus_says_few():
    themes = [_theme(1, "a", 10, 0.0, -0.1, 0.1, loose=False), _theme(2, "b", 20, 0.0, -0.1, 0.1, loose=True)]
    assert "(few of its sentences use any of its top words)" in " ".join(_texts(themes))


def test_null_loose_reads_as_before():
    """Runs stored before `loose` existed: null (or no key at all) is not loose, and the findings are unchanged."""
    old = [{k: v for k, v in t.items() if k not in ("loose", "focus")} for t in THEMES]
    null = [{**t, "loose": None, "focus": None} for t in THEMES]
    nan = [{**t, "loose": float("nan"), "focus": float("nan")} for t in THEMES]
    assert _texts(null) == _texts(old) == _texts(nan)
    assert _texts(old)[0].startswith("The theme most commenters wrote about is “waste of space”")
    assert not any("loose" in t for t in _texts(old))


def test_loose_finding_keeps_the_size_and_sentiment_findings_within_the_cap():
    regions = [{"region": r, "n_comments": 20, "n_commenters": 20, "mean_score": m, "ci_low": m - 0.1,
                "ci_high": m + 0.1, "too_few": False, "share_negative": 0.3, "share_positive": 0.3}
               for r, m in (("London", -0.3), ("Wales", 0.3))]
    new = [{"theme_id": 20 + i, "title": f"new {i}", "n_commenters": 5} for i in range(3)]
    growth = [{"theme_id": 1, "title": "waiting times", "before": 10, "after": 40, "change": "grown"},
              {"theme_id": 2, "title": "friendly staff", "before": 60, "after": 25, "change": "shrunk"}]
    texts = [f["text"] for f in key_findings(THEMES, regions, {"n_commenters": 200}, 5, growth, new)]
    assert len(texts) == MAX_FINDINGS
    starts = [t.split(" ")[0] for t in texts]
    assert starts[:3] == ["The", "Next", "1"] and "loose group" in texts[2]
    assert any(t.startswith("Most negative") for t in texts) and any(t.startswith("Most positive") for t in texts)
    assert any(t.startswith("Commenters in London") for t in texts)


# -- brief.md, brief.xlsx, report.html and the exports, from the report fixture store ---------------------------
def _report(store, tmp_path, *updates):
    """Write the report for the fixture store after running `updates` (SQL) on it; returns the outputs."""
    build_report_store(store)
    for sql in updates:
        store.query(sql)
    return write_report(StageContext.create(store, load_config(overrides=OVERRIDES), run_id=RUN_ID), tmp_path / "out")


def _sections(brief: str) -> dict[str, str]:
    parts = re.split(r"^## ", brief, flags=re.M)[1:]
    return {part.splitlines()[0]: part for part in parts}


# "surgery funding" (#1, 4 distinct commenters) is larger than "appointment booking" (#0, 3) in the fixture store
LOOSE_FUNDING = f"UPDATE themes SET loose = true, focus = 0.03 WHERE run_id = '{RUN_ID}' AND theme_id = 1"
FOCUSED_BOOKING = f"UPDATE themes SET loose = false, focus = 0.5 WHERE run_id = '{RUN_ID}' AND theme_id = 0"
NOTE = ("A loose group: only 3% of its sentences use any of its top words; it gathers sentences by tone or form "
        "rather than by subject.")


def test_brief_marks_a_loose_theme_and_lists_it_after_the_focused_ones(store, tmp_path):
    outputs = _report(store, tmp_path, LOOSE_FUNDING, FOCUSED_BOOKING)
    brief = outputs["brief"].read_text(encoding="utf-8")
    sections = _sections(brief)
    assert list(sections) == ["Executive summary", "1. appointment booking", "2. surgery funding (loose group)",
                              "How to read this brief"]
    assert sections["2. surgery funding (loose group)"].splitlines()[2] == NOTE      # right under the heading
    assert "loose group" not in sections["1. appointment booking"]
    summary = sections["Executive summary"]
    assert "The theme most commenters wrote about is “appointment booking”" in summary
    assert "1 of the 2 themes is a loose group" in summary and "“surgery funding”" in summary


def test_brief_lists_loose_children_after_focused_siblings(store, tmp_path):
    build_report_store(store)
    add_parent_theme(store)
    store.query(LOOSE_FUNDING)
    brief = write_report(StageContext.create(store, load_config(overrides=OVERRIDES), run_id=RUN_ID),
                         tmp_path)["brief"].read_text("utf-8")
    group = _sections(brief)["1. access to care"]
    assert group.index("### 1.1 appointment booking\n") < group.index("### 1.2 surgery funding (loose group)\n")
    assert f"### 1.2 surgery funding (loose group)\n\n{NOTE}\n" in group


def test_report_html_notes_a_loose_theme_orders_it_last_and_escapes_its_label(store, tmp_path):
    # both themes hold 4 units, so size alone would list #0 first: loose, it comes after #1
    outputs = _report(store, tmp_path,
                      f"UPDATE themes SET loose = true, focus = 0.03, label = '{HOSTILE_LABEL}' "
                      f"WHERE run_id = '{RUN_ID}' AND theme_id = 0")
    html = outputs["report"].read_text(encoding="utf-8")
    assert HOSTILE_LABEL not in html
    escaped = "&lt;img src=x onerror=window.__pwned=9&gt;"
    assert f'<a href="#theme-0">{escaped}</a> (4, loose group)' in html               # the theme tree's marker
    assert '<a href="#theme-1">surgery funding</a> (4)' in html
    assert html.index('<a href="#theme-1">') < html.index('<a href="#theme-0">')      # focused first in the tree
    assert html.index('id="theme-1"') < html.index('id="theme-0"')                    # and among the cards
    card = html[html.index('id="theme-0"'):]
    card = card[:card.index("</details>")]
    assert '<span class="badge loose">loose group</span>' in card and f'<p class="note loose-note">{NOTE}</p>' in card
    assert "loose-note" not in html[html.index('id="theme-1"'):html.index('id="theme-0"')]
    assert "A <b>loose group</b> gathers sentences by tone or form" in html
    assert "1 of the 2 themes is a loose group" in html and f"“{escaped}”" in html


def test_report_lists_a_loose_parent_after_a_focused_top_level_theme(store, tmp_path):
    build_report_store(store)
    themes = store.read("themes", "run_id = ?", [RUN_ID])
    parent = themes[themes.theme_id == 1].copy()
    parent[["theme_id", "label", "kind", "n_commenters", "n_units", "loose", "focus"]] = \
        [7, "shouting match", "parent", 9, 9, True, 0.04]
    themes.loc[themes.theme_id == 1, "parent_id"] = 7
    store.upsert("themes", pd.concat([themes, parent], ignore_index=True))
    outputs = write_report(StageContext.create(store, load_config(overrides=OVERRIDES), run_id=RUN_ID), tmp_path)
    html = outputs["report"].read_text(encoding="utf-8")
    assert html.index('<a href="#theme-0">') < html.index('<a href="#theme-7">shouting match</a> (9, loose group)')
    sections = _sections(outputs["brief"].read_text("utf-8"))
    assert list(sections)[1:3] == ["1. appointment booking", "2. shouting match (loose group)"]
    assert sections["2. shouting match (loose group)"].splitlines()[2].startswith("A loose group: only 4% of")


def test_old_runs_with_null_loose_report_as_before(store, tmp_path):
    outputs = _report(store, tmp_path)                  # the fixture's themes have null focus and loose
    brief = outputs["brief"].read_text(encoding="utf-8")
    html = outputs["report"].read_text(encoding="utf-8")
    assert "loose" not in brief and "loose group" not in html and "loose-note" not in html
    assert list(_sections(brief))[1:3] == ["1. surgery funding", "2. appointment booking"]
    themes = pd.read_csv(outputs["themes_csv"])
    assert {"focus", "loose"} <= set(themes.columns) and themes["loose"].isna().all()


def test_exports_and_workbook_carry_focus_and_loose(store, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    outputs = _report(store, tmp_path, LOOSE_FUNDING, FOCUSED_BOOKING)
    themes = pd.read_parquet(outputs["themes_parquet"]).set_index("theme_id")
    assert themes.loc[1, "loose"] == True and themes.loc[1, "focus"] == pytest.approx(0.03)  # noqa: E712
    assert themes.loc[0, "loose"] == False and pd.isna(themes.loc[-1, "loose"])               # noqa: E712
    rows = list(openpyxl.load_workbook(outputs["brief_xlsx"])["Themes"].iter_rows(values_only=True))
    header = rows[0]
    assert [(r[header.index("theme")], r[header.index("loose")]) for r in rows[1:]] == [
        ("appointment booking", False), ("surgery funding", True)]
