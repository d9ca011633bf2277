"""Key findings: the 5-8 facts an editor would quote, as sentences with numbers, each linked to its evidence.

Built from the tables the report already shows (theme rows with their bootstrap intervals, region rows, the change
log) plus the previous run's theme sizes. Every claim is one the evidence supports:
- the largest themes by distinct commenters (and their share of all commenters);
- the loose groups, when there are any: themes gathered by tone or form rather than subject (`loose.is_loose`).
  Their label names almost none of their sentences ("waste of space" over short dismissive reactions), so they
  are never "the theme most commenters wrote about", nor the most negative / positive theme (a group of
  reactions is negative by construction); the finding names them instead;
- the most negative / most positive theme, said to stand apart only from the themes whose 95% intervals it does
  not overlap ("below 7 of the 9 other themes"), and not claimed at all when it overlaps every one;
- a regional difference only between regions that each have at least `min_commenters` distinct commenters and
  whose intervals do not overlap (else: "no region clearly differs");
- what changed since the previous run: new themes, and themes that grew or shrank (see `growth`); when the
  themes were re-drawn at another level (`redrawn`: 12 themes before, 53 now), only that, since a theme that
  kept its id then covers a different share of the corpus (SFU C3 read "Hillary Clinton shrank 7,622 -> 786").
Texts are plain strings (the template escapes them); `href` is an in-page anchor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..aggregate.tables import UNRESOLVED
from ..store import Store
from .loose import is_loose

MAX_FINDINGS = 8
# A theme "grew" / "shrank" when its distinct commenters changed by at least this share of its previous count
# and by at least `min_commenters` commenters (small themes wobble between runs).
GROWTH_SHARE = 0.25
# Themes were re-drawn at another level when the number of leaf themes changed by at least this factor.
REDRAWN_RATIO = 1.5
# Loose themes named in their finding; the rest are counted ("and 2 more").
MAX_LOOSE_NAMED = 3


def _q(title: Any) -> str:
    return f"“{title}”"


def _score(value: float) -> str:
    return "0.00" if abs(value) < 0.005 else f"{value:+.2f}".replace("-", "−")


def _interval(low: Any, high: Any) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return f" (95% interval {_score(float(low))} to {_score(float(high))})"


def _n(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _pct(part: float, whole: float) -> str:
    if not whole:
        return "0%"
    share = part / whole
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def key_findings(themes: Sequence[dict], regions: Sequence[dict], overview: dict, min_commenters: int,
                 growth: Sequence[dict] = (), new_themes: Sequence[dict] = (),
                 redrawn_from: tuple[int, int] | None = None) -> list[dict[str, str]]:
    """[{"text", "href"}] in reading order, at most MAX_FINDINGS. `themes`: report theme rows (theme_id, title,
    kind, n_commenters, mean_score, mean_low, mean_high, too_few); `regions`: `region_sentiment` rows; `growth`:
    rows of `growth` (grown / shrunk themes); `new_themes`: {theme_id, title, n_commenters} of new themes;
    `redrawn_from`: (leaf themes before, now) when the themes were re-drawn (`redrawn`). Theme rows may carry
    `loose` and `focus` (null or missing: not loose): only focused themes are ranked by size and sentiment."""
    found: list[dict[str, str]] = []
    leaves = _leaves(themes)
    focused = [t for t in leaves if not is_loose(t)]
    found += _largest(focused, _n(overview.get("n_commenters")))
    found += _loose(leaves)   # right after the sizes: it says why a large theme may be missing from them
    found += _overall(regions)
    found += _extremes(focused, min_commenters)
    found += _regional(regions, min_commenters)
    if redrawn_from is not None:
        before, now = redrawn_from
        found.append({"text": f"The themes were re-drawn since the previous run ({before:,} themes then, {now:,} "
                              "now), so their sizes are not compared with it.", "href": "#themes"})
    else:
        found += _changes(growth, new_themes)
    return found[:MAX_FINDINGS]


def _largest(leaves: Sequence[dict], n_commenters: int) -> list[dict[str, str]]:
    ranked = sorted(leaves, key=lambda t: (-_n(t.get("n_commenters")), t["theme_id"]))[:3]
    if not ranked:
        return []
    top = ranked[0]
    text = (f"The theme most commenters wrote about is {_q(top['title'])}: {_n(top['n_commenters']):,} distinct "
            f"commenters ({_pct(_n(top['n_commenters']), n_commenters)} of {n_commenters:,}).")
    out = [{"text": text, "href": f"#theme-{top['theme_id']}"}]
    if len(ranked) > 1:
        rest = "; ".join(f"{_q(t['title'])} ({_n(t['n_commenters']):,})" for t in ranked[1:])
        out.append({"text": f"Next by distinct commenters: {rest}.", "href": f"#theme-{ranked[1]['theme_id']}"})
    return out


def _loose(leaves: Sequence[dict]) -> list[dict[str, str]]:
    """One finding naming the loose leaf themes (largest first by distinct commenters) and their share of the
    sentences in themes; none when no theme is loose."""
    loose = sorted((t for t in leaves if is_loose(t)), key=lambda t: (-_n(t.get("n_commenters")), t["theme_id"]))
    if not loose:
        return []
    one = len(loose) == 1
    names = ", ".join(_q(t["title"]) for t in loose[:MAX_LOOSE_NAMED])
    if len(loose) > MAX_LOOSE_NAMED:
        names += f" and {len(loose) - MAX_LOOSE_NAMED} more"
    focus = [float(t["focus"]) for t in loose if t.get("focus") is not None and not pd.isna(t["focus"])]
    # the stored focus bounds what can be said; without it (rows of another origin) say only "few"
    if len(focus) < len(loose):
        how = f"few of {'its' if one else 'their'} sentences use any of {'its' if one else 'their'} top words"
    elif one:
        part = _pct(focus[0], 1)   # "3%", or "<1%" (said "under 1%")
        part = f"only {part}" if part[0].isdigit() else part.replace("<", "under ")
        how = f"{part} of its sentences use any of its top words"
    else:   # a whole percent above the largest focus, so rounding never understates it
        how = f"under {math.floor(max(focus) * 100) + 1}% of each one's sentences use any of its top words"
    total = sum(_n(t.get("n_units")) for t in leaves)
    share = f" ({_pct(sum(_n(t.get('n_units')) for t in loose), total)} of the sentences in themes)" if total else ""
    head = (f"1 of the {len(leaves):,} themes is a loose group" if one
            else f"{len(loose):,} of the {len(leaves):,} themes are loose groups")
    text = (f"{head}, gathered by tone or form rather than by subject ({how}): {names}{share}; "
            f"{'it is' if one else 'they are'} not ranked here.")
    return [{"text": text, "href": f"#theme-{loose[0]['theme_id']}"}]


def _overall(regions: Sequence[dict]) -> list[dict[str, str]]:
    """Comment sentiment over all scored comments (the region rows partition them, Unresolved included)."""
    total = sum(_n(r.get("n_comments")) for r in regions)
    if not total:
        return []

    def count(column: str) -> float:
        return sum(_n(r.get("n_comments")) * float(r.get(column) or 0) for r in regions)

    negative, positive = count("share_negative"), count("share_positive")
    return [{"text": f"Of {total:,} scored comments, {_pct(negative, total)} read as negative and "
                     f"{_pct(positive, total)} as positive.", "href": "#regions"}]


def _scored(leaves: Sequence[dict]) -> list[dict]:
    return [t for t in leaves if t.get("mean_score") is not None and not pd.isna(t["mean_score"])
            and t.get("mean_low") is not None and not pd.isna(t["mean_low"]) and not t.get("too_few")]


def _extremes(leaves: Sequence[dict], min_commenters: int) -> list[dict[str, str]]:
    scored = _scored(leaves)
    if len(scored) < 2:
        return []
    out = []
    lowest = min(scored, key=lambda t: (t["mean_score"], t["theme_id"]))
    highest = max(scored, key=lambda t: (t["mean_score"], -t["theme_id"]))
    # "Most positive" for a theme whose mean is below zero would mislead: it is the least negative one
    low_word = "Most negative" if lowest["mean_score"] < 0 else "Least positive"
    high_word = "Most positive" if highest["mean_score"] > 0 else "Least negative"
    for theme, word, side in ((lowest, low_word, "below"), (highest, high_word, "above")):
        others = [t for t in scored if t is not theme]
        if side == "below":
            apart = [t for t in others if float(t["mean_low"]) > float(theme["mean_high"])]
        else:
            apart = [t for t in others if float(t["mean_high"]) < float(theme["mean_low"])]
        if not apart:
            continue
        scope = ("every other theme with enough commenters" if len(apart) == len(others)
                 else f"{len(apart)} of the {len(others)} other themes with enough commenters")
        out.append({"text": f"{word}: {_q(theme['title'])}, mean sentence sentiment "
                            f"{_score(float(theme['mean_score']))}{_interval(theme['mean_low'], theme['mean_high'])}, "
                            f"clearly {side} {scope} (their intervals do not overlap).",
                    "href": f"#theme-{theme['theme_id']}"})
    if not out:
        out.append({"text": f"No theme's sentiment clearly differs from the others: the 95% intervals of the "
                            f"{len(scored)} themes with at least {min_commenters} commenters all overlap.",
                    "href": "#themes"})
    return out


def _regional(regions: Sequence[dict], min_commenters: int) -> list[dict[str, str]]:
    compared = [r for r in regions if r.get("region") != UNRESOLVED and not r.get("too_few")
                and r.get("ci_low") is not None and not pd.isna(r["ci_low"])]
    if not any(r.get("region") != UNRESOLVED for r in regions):
        return []
    if len(compared) < 2:
        reach = "no region reaches" if not compared else "only 1 region reaches"
        return [{"text": f"Regions cannot be compared: {reach} {min_commenters} distinct commenters.",
                 "href": "#regions"}]
    low = min(compared, key=lambda r: (r["mean_score"], r["region"]))
    high = max(compared, key=lambda r: (r["mean_score"], r["region"]))
    if float(low["ci_high"]) < float(high["ci_low"]):
        text = (f"Commenters in {low['region']} were more negative ({_score(float(low['mean_score']))}, "
                f"{_n(low['n_commenters']):,} commenters) than those in {high['region']} "
                f"({_score(float(high['mean_score']))}, {_n(high['n_commenters']):,}); the 95% intervals do not "
                f"overlap.")
    else:
        text = (f"No region clearly differs: the 95% intervals of the {len(compared)} regions with at least "
                f"{min_commenters} commenters overlap (means from {_score(float(low['mean_score']))} in "
                f"{low['region']} to {_score(float(high['mean_score']))} in {high['region']}).")
    return [{"text": text, "href": "#regions"}]


def _changes(growth: Sequence[dict], new_themes: Sequence[dict]) -> list[dict[str, str]]:
    out = []
    if new_themes:
        biggest = sorted(new_themes, key=lambda t: (-_n(t.get("n_commenters")), t["theme_id"]))
        names = "; ".join(f"{_q(t['title'])} ({_n(t['n_commenters']):,} commenters)" for t in biggest[:3])
        more = f" and {len(biggest) - 3} more" if len(biggest) > 3 else ""
        out.append({"text": f"New since the previous run: {names}{more}.", "href": f"#theme-{biggest[0]['theme_id']}"})
    grown = [g for g in growth if g["change"] == "grown"]
    shrunk = [g for g in growth if g["change"] == "shrunk"]
    for rows, word in ((grown, "Grew"), (shrunk, "Shrank")):
        if rows:
            names = "; ".join(f"{_q(g['title'])} ({g['before']:,} → {g['after']:,} commenters)" for g in rows[:3])
            out.append({"text": f"{word} since the previous run: {names}.", "href": f"#theme-{rows[0]['theme_id']}"})
    return out


def previous_run(store: Store, run_id: str) -> str | None:
    """The successful run before `run_id` (by finish time), or None."""
    frame = store.query(
        """SELECT run_id FROM runs WHERE status = 'ok' AND run_id <> ?
           AND finished_at < coalesce((SELECT finished_at FROM runs WHERE run_id = ?), now()::TIMESTAMP)
           ORDER BY finished_at DESC LIMIT 1""", [run_id, run_id])
    return None if frame.empty else str(frame.iloc[0, 0])


def _leaves(themes: Sequence[dict]) -> list[dict]:
    """The leaf themes (guided and discovered): not the parents, not "other"."""
    return [t for t in themes if t.get("kind") not in ("parent", "other")]


def redrawn(store: Store, run_id: str, themes: Sequence[dict]) -> tuple[int, int] | None:
    """(leaf themes in the previous run, now) when their number changed by REDRAWN_RATIO or more (a re-fit at
    another level, e.g. after an upgrade of the theme model), else None."""
    previous = previous_run(store, run_id)
    if previous is None:
        return None
    before = int(store.query("SELECT count(*) AS n FROM themes WHERE run_id = ? AND kind NOT IN ('parent', 'other')",
                             [previous])["n"].iloc[0])
    now = len(_leaves(themes))
    if before and now and max(before, now) >= REDRAWN_RATIO * min(before, now):
        return before, now
    return None


def growth(store: Store, run_id: str, themes: Sequence[dict], min_commenters: int) -> tuple[list[dict], list[dict]]:
    """(grown/shrunk rows, new themes) against the previous run. Themes keep their id across runs when they
    match (themes/tracking.py), so sizes are compared by id: a change of distinct commenters of at least
    GROWTH_SHARE of the old count and at least `min_commenters` is "grown" / "shrunk", largest change first;
    ids the previous run did not have are new."""
    previous = previous_run(store, run_id)
    if previous is None:
        return [], []
    before = store.query("SELECT theme_id, n_commenters FROM themes WHERE run_id = ?", [previous])
    old = {int(i): _n(n) for i, n in zip(before["theme_id"], before["n_commenters"])}
    rows, new = [], []
    for theme in _leaves(themes):
        tid, now = int(theme["theme_id"]), _n(theme.get("n_commenters"))
        if tid not in old:
            new.append({"theme_id": tid, "title": theme["title"], "n_commenters": now})
            continue
        delta = now - old[tid]
        if abs(delta) >= max(min_commenters, GROWTH_SHARE * old[tid]):
            rows.append({"theme_id": tid, "title": theme["title"], "before": old[tid], "after": now,
                         "change": "grown" if delta > 0 else "shrunk"})
    rows.sort(key=lambda r: (-abs(r["after"] - r["before"]), r["theme_id"]))
    return rows, new
