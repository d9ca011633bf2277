"""brief.md: a policy brief of one run, one section per theme, from the aggregate functions.

Per theme: the label (and the guided theme's name), its extractive summary as the plain-language summary,
"N distinct commenters (M comments, K sentences)", the regional split, the sentiment split and 3 attributed
quotes. Counts come from `aggregate.sentiment_table` at unit level over every unit kind (article sentences,
reader comments, quoted voices), so the headline, the regional split and the sentiment shares are one
computation: a quoted speaker counts as a commenter, article sentences count as sentences with no commenter and
no place. Sections cover the leaf themes (guided and discovered), largest first by distinct commenters, then
sentences; a parent theme is not a section of its own (its children are): each child names its parent. The
"other" theme (sentences that fit no theme) is counted in the introduction only.

User text (labels, summaries, quotes, names, places, titles) is untrusted: `md()` flattens it to one line and
escapes every character that could start Markdown or HTML, so nothing a commenter wrote becomes a link, an
emphasis, a heading or a tag. With `pseudonyms`, commenters and quoted speakers are named by pseudonym (see
`pseudonyms.Pseudonyms`); places are kept.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .. import aggregate as agg
from ..store import Store
from .html import clip, fmt_pct, fmt_score, records
from .pseudonyms import Pseudonyms

N_QUOTES = 3
MAX_QUOTE_CHARS = 320
MAX_REGIONS = 6            # regions listed per theme (by distinct commenters); the rest are summed in one line
ALL_KINDS = ("article", "comment", "quote")

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")
_LINE_START = re.compile(r"^(\d+)([.)])")


def md(value: Any) -> str:
    """Untrusted text as inert Markdown: one line, `\\` escapes for Markdown punctuation, entities for < > &."""
    text = " ".join(str("" if value is None else value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _LINE_START.sub(r"\1\\\2", text)   # "1. " at the start of a line would open a list


def build_brief(store: Store, run_id: str, *, sentiment_backend: str | None, resolver_id: str | None,
                min_commenters: int, resamples: int, seed: int, pseudonyms: Pseudonyms | None = None,
                n_quotes: int = N_QUOTES) -> str:
    """The Markdown text of brief.md for `run_id` (sentiment / regions of the given backend and resolver)."""
    run = records(agg.run_info(store, run_id))[0]
    table = {"sentiment_backend": sentiment_backend, "resolver_id": resolver_id, "min_commenters": min_commenters,
             "resamples": resamples, "seed": seed, "kinds": ALL_KINDS}
    themes = agg.theme_summary(store, run_id, sentiment_backend)
    overall = agg.sentiment_table(store, run_id, by=("theme",), **table)
    by_region = agg.sentiment_table(store, run_id, by=("theme", "region"), **table)
    quotes = agg.theme_quotes(store, run_id, sentiment_backend, n_quotes)
    overview = records(agg.corpus_overview(store, resolver_id))[0]
    return render_brief(run, overview, themes, overall, by_region, quotes, min_commenters,
                        agg.interval_method(resamples, seed), pseudonyms)


def render_brief(run: dict, overview: dict, themes: pd.DataFrame, overall: pd.DataFrame, by_region: pd.DataFrame,
                 quotes: pd.DataFrame, min_commenters: int, interval_method: str,
                 pseudonyms: Pseudonyms | None = None) -> str:
    """Format the brief from aggregate frames (see `build_brief`)."""
    names = pseudonyms.text if pseudonyms else (lambda v: v)
    themes_by_id = {t["theme_id"]: t for t in records(themes)}
    cells = {r["theme_id"]: r for r in records(overall) if r["theme_id"] is not None}
    regions = records(by_region)
    quote_rows = records(quotes)
    leaves = [t for t in themes_by_id.values() if t["kind"] in ("guided", "discovered")]
    leaves.sort(key=lambda t: (-(cells.get(t["theme_id"], {}).get("n_commenters") or 0),
                               -(cells.get(t["theme_id"], {}).get("n_units") or 0), t["theme_id"]))
    other = next((t for t in themes_by_id.values() if t["kind"] == "other"), None)

    lines = [
        "# Policy brief: what commenters said",
        "",
        f"Run {md(run['run_id'])} (config {md(run.get('config_hash'))}): {len(leaves)} themes found in "
        f"{_n(overview.get('n_comments'))} comments by {_n(overview.get('n_commenters'))} distinct commenters on "
        f"{_n(overview.get('n_articles'))} articles ({_n(overview.get('n_units'))} sentences, article text "
        f"included)." + (f" {_count(other['n_units'], 'sentence')} fit no theme ({'it is' if other['n_units'] == 1 else 'they are'} not shown)." if other else ""),
        "",
        "How to read it: each theme counts distinct commenters (the same signed name and place counts once; a person "
        "quoted in an article counts as one commenter), the comments and the sentences it covers. Sentences from "
        "the article text have no commenter and no region. Regions are where commenters said they were; "
        f"regions with fewer than {min_commenters} distinct commenters are marked \"too few\" and their sentiment "
        "is not compared. Sentiment shares are of the theme's scored sentences. " + interval_method,
    ]
    if pseudonyms is not None:
        lines += ["", "Names are pseudonymised: commenters appear as \"Commenter 1\", \"Commenter 2\", ... and people "
                      "quoted in articles as \"Speaker 1\", ...; places are as written."]
    if not leaves:
        lines += ["", "No themes stored for this run."]
    for number, theme in enumerate(leaves, start=1):
        cell = cells.get(theme["theme_id"], {})
        lines += [""] + _section(number, theme, cell, themes_by_id,
                                 [r for r in regions if r["theme_id"] == theme["theme_id"]],
                                 [q for q in quote_rows if q["theme_id"] == theme["theme_id"]], names, pseudonyms)
    return "\n".join(lines).rstrip() + "\n"


def _section(number: int, theme: dict, cell: dict, themes_by_id: dict, regions: list[dict], quotes: list[dict],
             names, pseudonyms: Pseudonyms | None) -> list[str]:
    label = md(names(theme["label"]))
    title = f"## {number}. {label}"
    if theme["kind"] == "guided" and theme.get("name") and theme["name"] != theme["label"]:
        title += f" (guided theme: {md(names(theme['name']))})"
    kind = "Guided theme (from the guided-themes file)" if theme["kind"] == "guided" else "Discovered theme"
    parent = themes_by_id.get(theme.get("parent_id"))
    if parent is not None:
        kind += f", part of the wider theme \"{md(names(parent['label']))}\""
    keywords = [md(names(k)) for k in (theme.get("keywords") or [])[:6]]
    out = [title, "", f"*{kind}.*" + (f" Keywords: {', '.join(keywords)}." if keywords else "")]
    summary = theme.get("summary")
    out += ["", f"**Summary.** {md(names(summary))}" if summary else "**Summary.** No summary stored."]
    out += ["", f"**Size.** {_n(cell.get('n_commenters'))} distinct commenters "
                f"({_n(cell.get('n_comments'))} comments, {_n(cell.get('n_units'))} sentences)."]
    out += ["", "**Regions** (distinct commenters):", ""] + _regions(regions)
    out += ["", _sentiment(cell)]
    out += ["", "**In their words:**"]
    if not quotes:
        out += ["", "No quotes stored for this theme."]
    for quote in quotes:
        text = md(names(clip(quote["text"], MAX_QUOTE_CHARS)))
        out += ["", f"> “{text}”  ", f"> — {_attribution(quote, names, pseudonyms)}"]
    return out


def _regions(rows: list[dict]) -> list[str]:
    placed = [r for r in rows if r["region"] not in (agg.UNRESOLVED, agg.NO_PLACE)]
    placed.sort(key=lambda r: (-(r["n_commenters"] or 0), r["region"]))
    lines = []
    for row in placed[:MAX_REGIONS]:
        detail = "too few to compare" if row["too_few"] else f"mean sentiment {fmt_score(row['mean_score'])}"
        lines.append(f"- {md(row['region'])}: {_count(row['n_commenters'], 'commenter')}, "
                     f"{_count(row['n_comments'], 'comment')} ({detail})")
    rest = placed[MAX_REGIONS:]
    if rest:
        lines.append(f"- {len(rest)} more regions: {_count(sum(r['n_commenters'] or 0 for r in rest), 'commenter')}")
    unresolved = next((r for r in rows if r["region"] == agg.UNRESOLVED), None)
    if unresolved and unresolved["n_commenters"]:
        lines.append(f"- Place not given or not recognised: {_count(unresolved['n_commenters'], 'commenter')}, "
                     f"{_count(unresolved['n_comments'], 'comment')}")
    return lines or ["- No commenters with a place."]


def _sentiment(cell: dict) -> str:
    scored = int(cell.get("n_scored") or 0)
    if not scored:
        return "**Sentiment.** No scored sentences."
    text = (f"**Sentiment** ({_n(scored)} scored sentences): {fmt_pct(cell.get('share_negative'))} negative, "
            f"{fmt_pct(cell.get('share_neutral'))} neutral, {fmt_pct(cell.get('share_positive'))} positive; "
            f"mean score {fmt_score(cell.get('mean_score'))}")
    if cell.get("mean_low") is not None:
        text += f" (95% interval {fmt_score(cell['mean_low'])} to {fmt_score(cell['mean_high'])})"
    if cell.get("too_few"):
        text += "; too few commenters to compare"
    return text + "."


def _attribution(quote: dict, names, pseudonyms: Pseudonyms | None) -> str:
    title = quote.get("article_title")
    article = f"“{md(names(title))}”" if title else "an article"
    if quote["kind"] == "comment":
        if quote.get("withheld"):
            return "Name and address withheld"
        who = (pseudonyms.comment(quote.get("comment_id")) if pseudonyms else None) or quote.get("name")
        who = md(who) if who else "Unsigned"
        place = quote.get("place")
        return f"{who}, {md(place)}" if place else who
    if quote["kind"] == "quote":
        speaker = quote.get("speaker")
        who = (pseudonyms.speaker(speaker) if pseudonyms and speaker else speaker) or "Unnamed speaker"
        place = quote.get("speaker_place")
        return f"{md(who)}{', ' + md(place) if place else ''}, quoted in {article}"
    return f"from the article {article}"


def _count(value: Any, noun: str) -> str:
    return f"{_n(value)} {noun}{'' if value == 1 else 's'}"


def _n(value: Any) -> str:
    return "0" if value is None else f"{int(value):,}"
