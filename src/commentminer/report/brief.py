"""brief.md: a brief of one run for a desk editor or policy lead, from the aggregate functions.

Layout: the executive summary first (the report's key findings, in prose), then one section per top-level theme:
a parent theme with its leaf themes as subsections, or a theme without a parent on its own. Each leaf: its
extractive summary, "N distinct commenters (M comments, K sentences)", its sentiment split, where commenters wrote
from (only when places resolved to regions), and attributed quotes. How to read the numbers and the run's id come
last. Counts come from `aggregate.sentiment_table` at unit level over every unit kind (article sentences, reader
comments, quoted voices), so the headline, the regional split and the sentiment shares are one computation: a
quoted speaker counts as a commenter, article sentences count as sentences with no commenter and no place. The
"other" theme (sentences that fit no theme) is counted in the introduction only. A loose theme (`loose.is_loose`:
it gathers sentences by tone or form, and its label names few of them) has "(loose group)" after its heading and a
note with its focus under it, and comes after the focused themes: within its parent, and at the top level.

User text (labels, summaries, quotes, names, places, titles) is untrusted: `md()` flattens it to one line and
escapes what Markdown would act on, and only that (so a pasted brief reads "Just think!" and "Harley-Doyle", not
"Just think\\!"): nothing a commenter wrote becomes a link, an emphasis, a heading or a tag. Anonymous commenters
are "a commenter". With `pseudonyms`, commenters and quoted speakers are named by pseudonym (see
`pseudonyms.Pseudonyms`); places are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .. import aggregate as agg
from ..store import Store
from .html import clip, fmt_date, fmt_pct, fmt_score, records
from .loose import MARKER, is_loose, loose_last, loose_note
from .pseudonyms import Pseudonyms

N_QUOTES = 3
MAX_QUOTE_CHARS = 320
MAX_REGIONS = 6            # regions listed per theme (by distinct commenters); the rest are summed in one line
ALL_KINDS = ("article", "comment", "quote")

# Characters Markdown acts on anywhere in a line: escapes, emphasis, code, links/images, raw HTML, strikethrough.
_MD_ANYWHERE = re.compile(r"([\\`*\[\]<>~])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")   # intraword "_" never emphasises
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")                      # "&amp;" would render as "&"
_LINE_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([#+=|-])")
ANONYMOUS = "a commenter"
_NOT_A_NAME = re.compile(r"^[\W\d_]*$")   # "619", "-", "" : an id or a placeholder, not a name


def md(value: Any) -> str:
    """Untrusted text as inert Markdown, escaping only what Markdown would act on: one line; backslash before
    \\ ` * [ ] < > ~, before an "_" at a word edge and before "&" that starts an entity; and before a
    list/heading marker ("1.", "#", "-", "+") at the start."""
    text = " ".join(str("" if value is None else value).split())
    text = _MD_ANYWHERE.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_ENTITY.sub(r"\\&", text)
    return _LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}" if m.group(2)
                           else f"{m.group(4)}\\{m.group(5)}", text)


def build_brief(store: Store, run_id: str, *, sentiment_backend: str | None, resolver_id: str | None,
                min_commenters: int, resamples: int, seed: int, pseudonyms: Pseudonyms | None = None,
                n_quotes: int = N_QUOTES, findings: Sequence[dict] = (), include_truncated: bool = False) -> str:
    """The Markdown text of brief.md for `run_id` (sentiment / regions of the given backend and resolver);
    `findings`: the report's key findings (`findings.key_findings`), the executive summary."""
    return render_brief(**brief_data(store, run_id, sentiment_backend=sentiment_backend, resolver_id=resolver_id,
                                     min_commenters=min_commenters, resamples=resamples, seed=seed,
                                     n_quotes=n_quotes, include_truncated=include_truncated),
                        pseudonyms=pseudonyms, findings=findings)


def brief_data(store: Store, run_id: str, *, sentiment_backend: str | None, resolver_id: str | None,
               min_commenters: int, resamples: int, seed: int, n_quotes: int = N_QUOTES,
               include_truncated: bool = False) -> dict[str, Any]:
    """The frames the brief is made of (keyword arguments of `render_brief` and `brief_tables`): run, overview,
    themes, overall (unit sentiment per theme), by_region (per theme x region), quotes, min_commenters,
    interval_method."""
    run = records(agg.run_info(store, run_id))[0]
    table = {"sentiment_backend": sentiment_backend, "resolver_id": resolver_id, "min_commenters": min_commenters,
             "resamples": resamples, "seed": seed, "kinds": ALL_KINDS}
    themes = agg.theme_summary(store, run_id, sentiment_backend)
    overall = agg.sentiment_table(store, run_id, by=("theme",), **table)
    by_region = agg.sentiment_table(store, run_id, by=("theme", "region"), **table)
    quotes = agg.theme_quotes(store, run_id, sentiment_backend, n_quotes)
    overview = records(agg.corpus_overview(store, resolver_id, include_truncated))[0]
    return {"run": run, "overview": overview, "themes": themes, "overall": overall, "by_region": by_region,
            "quotes": quotes, "min_commenters": min_commenters,
            "interval_method": agg.interval_method(resamples, seed)}


def render_brief(run: dict, overview: dict, themes: pd.DataFrame, overall: pd.DataFrame, by_region: pd.DataFrame,
                 quotes: pd.DataFrame, min_commenters: int, interval_method: str,
                 pseudonyms: Pseudonyms | None = None, findings: Sequence[dict] = ()) -> str:
    """Format the brief from aggregate frames (see `build_brief`)."""
    names = pseudonyms.text if pseudonyms else (lambda v: v)
    themes_by_id = {t["theme_id"]: t for t in records(themes)}
    cells = {r["theme_id"]: r for r in records(overall) if r["theme_id"] is not None}
    regions = records(by_region)
    quote_rows = records(quotes)
    any_region = any(r["region"] not in (agg.UNRESOLVED, agg.NO_PLACE) for r in regions)
    other = next((t for t in themes_by_id.values() if t["kind"] == "other"), None)
    sections = theme_sections(themes_by_id, cells)
    n_leaves = sum(len(children) or 1 for _, children in sections)

    scope = (f"{_count(overview.get('n_comments'), 'comment')} by {_count(overview.get('n_commenters'), 'distinct commenter')} "
             f"on {_count(overview.get('n_articles'), 'article')}")
    if overview.get("first_published"):
        scope += f", published {fmt_date(overview['first_published'])} to {fmt_date(overview['last_published'])}"
    lines = ["# Brief: what readers said", "",
             f"{scope}. {n_leaves} themes" + (f"; {_count(other['n_units'], 'sentence')} fit no theme and "
                                              "{} not shown".format("is" if other["n_units"] == 1 else "are")
                                              if other and other.get("n_units") else "") + "."]
    lines += ["", "## Executive summary", ""]
    lines += [" ".join(md(names(f["text"])) for f in findings) if findings else
              "No findings: the run has no themes or scored comments."]
    if pseudonyms is not None:
        lines += ["", "Names are pseudonymised: commenters appear as \"Commenter 1\", \"Commenter 2\", ... and people "
                      "quoted in articles as \"Speaker 1\", ...; places are as written."]
    for number, (top, children) in enumerate(sections, start=1):
        lines += _heading(f"## {number}.", top, names)
        if not children:
            lines += _leaf(top, cells.get(top["theme_id"], {}), [r for r in regions if r["theme_id"] == top["theme_id"]],
                           [q for q in quote_rows if q["theme_id"] == top["theme_id"]], names, pseudonyms,
                           any_region)
            continue
        n_commenters = _n(top.get("n_commenters"))
        lines += [f"A group of {len(children)} themes: {n_commenters} distinct commenters in all; "
                  f"mean sentence sentiment {fmt_score(top.get('mean_score'))}."]
        for sub, child in enumerate(children, start=1):
            lines += _heading(f"### {number}.{sub}", child, names)
            lines += _leaf(child, cells.get(child["theme_id"], {}),
                           [r for r in regions if r["theme_id"] == child["theme_id"]],
                           [q for q in quote_rows if q["theme_id"] == child["theme_id"]], names, pseudonyms,
                           any_region)
    if not sections:
        lines += ["", "No themes stored for this run."]
    lines += ["", "## How to read this brief", "",
              "Each theme counts distinct commenters (the same signed name and place counts once; a person quoted in "
              "an article counts as one commenter), the comments and the sentences it covers; sentences from the "
              "article text have no commenter and no region. Regions are where commenters said they were; regions "
              f"with fewer than {min_commenters} distinct commenters are not compared. Sentiment shares are of the "
              "theme's scored sentences. " + interval_method,
              "", f"Run {md(run['run_id'])}, config {md(run.get('config_hash'))}."]
    return "\n".join(lines).rstrip() + "\n"


def _title(theme: dict) -> str:
    return str(theme.get("name") or theme["label"])


def _heading(prefix: str, theme: dict, names) -> list[str]:
    """A theme's heading lines (blank line, heading, blank line); a loose theme's heading says so and a note with
    its focus follows it."""
    marker = f" ({MARKER})" if is_loose(theme) else ""
    lines = ["", f"{prefix} {md(names(_title(theme)))}{marker}", ""]
    note = loose_note(theme, fmt_pct)
    return lines + [note, ""] if note else lines


def theme_sections(themes_by_id: dict[int, dict], cells: dict[int, dict]) -> list[tuple[dict, list[dict]]]:
    """[(top-level theme, its leaf children)] : parents with their guided/discovered children, and leaves without
    a parent (children = []), focused themes before loose ones (`loose.is_loose`), each part by distinct commenters
    then sentences, largest first. "other" is left out."""
    def size(theme: dict) -> tuple:
        cell = cells.get(theme["theme_id"], {})
        return (loose_last(theme), -(cell.get("n_commenters") or theme.get("n_commenters") or 0),
                -(cell.get("n_units") or theme.get("n_units") or 0), theme["theme_id"])

    leaves = [t for t in themes_by_id.values() if t["kind"] in ("guided", "discovered")]
    children: dict[int, list[dict]] = {}
    top = []
    for leaf in leaves:
        parent = leaf.get("parent_id")
        if parent is not None and parent in themes_by_id and themes_by_id[parent]["kind"] == "parent":
            children.setdefault(parent, []).append(leaf)
        else:
            top.append(leaf)
    top += [themes_by_id[p] for p in children]
    return [(t, sorted(children.get(t["theme_id"], []), key=size)) for t in sorted(top, key=size)]


def _leaf(theme: dict, cell: dict, regions: list[dict], quotes: list[dict], names,
          pseudonyms: Pseudonyms | None, any_region: bool) -> list[str]:
    out = []
    if theme.get("summary"):
        out += [md(names(theme["summary"])), ""]
    size = (f"**Size:** {_count(cell.get('n_commenters'), 'distinct commenter')} "
            f"({_count(cell.get('n_comments'), 'comment')}, {_count(cell.get('n_units'), 'sentence')}).")
    if theme["kind"] == "guided":
        size += " A guided theme (from the guided-themes file)."
    out += [size, "", _sentiment(cell)]
    if any_region:
        line = _regions(regions)
        if line:
            out += ["", line]
    for quote in quotes:
        text = md(names(clip(quote["text"], MAX_QUOTE_CHARS)))
        out += ["", f"> “{text}”  ", f"> — {_attribution(quote, names, pseudonyms)}"]
    return out


def _regions(rows: list[dict]) -> str:
    """"**Where they wrote from:** London 4 (mean −0.20), North West 2, ..." (resolved regions only)."""
    placed = [r for r in rows if r["region"] not in (agg.UNRESOLVED, agg.NO_PLACE) and (r["n_commenters"] or 0)]
    if not placed:
        return ""
    placed.sort(key=lambda r: (-(r["n_commenters"] or 0), r["region"]))
    parts = [f"{md(r['region'])} {_n(r['n_commenters'])}"
             + ("" if r["too_few"] else f" (mean {fmt_score(r['mean_score'])})") for r in placed[:MAX_REGIONS]]
    rest = placed[MAX_REGIONS:]
    if rest:
        parts.append(f"{len(rest)} more regions {_n(sum(r['n_commenters'] or 0 for r in rest))}")
    compared = any(not r["too_few"] for r in placed)
    return (f"**Where they wrote from** (distinct commenters): {', '.join(parts)}"
            + ("." if compared else "; too few per region to compare."))


def _sentiment(cell: dict) -> str:
    scored = int(cell.get("n_scored") or 0)
    if not scored:
        return "**Sentiment:** no scored sentences."
    text = (f"**Sentiment** ({_count(scored, 'scored sentence')}): {fmt_pct(cell.get('share_negative'))} negative, "
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
        place = quote.get("place")
        who = None
        if not quote.get("withheld"):
            who = (pseudonyms.comment(quote.get("comment_id")) if pseudonyms else None) or quote.get("name")
            if who is not None and _NOT_A_NAME.match(str(who)):
                who = None
        if who is None:   # withheld, unsigned, or an id in the name field: anonymous
            return f"{ANONYMOUS}, {md(place)}" if place and not quote.get("withheld") else ANONYMOUS
        return f"{md(who)}, {md(place)}" if place else md(who)
    if quote["kind"] == "quote":
        speaker = quote.get("speaker")
        who = (pseudonyms.speaker(speaker) if pseudonyms and speaker else speaker) or "an unnamed speaker"
        place = quote.get("speaker_place")
        return f"{md(who)}{', ' + md(place) if place else ''}, quoted in {article}"
    return f"from the article {article}"


def _count(value: Any, noun: str) -> str:
    return f"{_n(value)} {noun}{'' if value == 1 else 's'}"


def _n(value: Any) -> str:
    return "0" if value is None else f"{int(value):,}"


def brief_tables(run: dict, overview: dict, themes: pd.DataFrame, overall: pd.DataFrame, by_region: pd.DataFrame,
                 quotes: pd.DataFrame, min_commenters: int, interval_method: str,
                 pseudonyms: Pseudonyms | None = None, findings: Sequence[dict] = ()) -> dict[str, pd.DataFrame]:
    """The brief's numbers as plain tables (for brief.xlsx), same order and names as brief.md: "Summary" (the
    key findings), "Themes" (one row per leaf theme under its group; "loose" marks a loose group), "Regions"
    (theme x resolved region) and "Quotes". Text is plain (no Markdown escapes)."""
    names = pseudonyms.text if pseudonyms else (lambda v: v)
    themes_by_id = {t["theme_id"]: t for t in records(themes)}
    cells = {r["theme_id"]: r for r in records(overall) if r["theme_id"] is not None}
    rows, region_rows, quote_rows = [], [], []
    quotes_by_theme: dict[int, list[dict]] = {}
    for quote in records(quotes):
        quotes_by_theme.setdefault(quote["theme_id"], []).append(quote)
    for number, (top, children) in enumerate(theme_sections(themes_by_id, cells), start=1):
        group = names(_title(top)) if children else ""
        for sub, leaf in enumerate(children or [top], start=1):
            cell = cells.get(leaf["theme_id"], {})
            title = names(_title(leaf))
            rows.append({
                "section": f"{number}.{sub}" if children else str(number), "group": group, "theme": title,
                "kind": leaf["kind"], "loose": is_loose(leaf), "distinct commenters": cell.get("n_commenters"),
                "comments": cell.get("n_comments"), "sentences": cell.get("n_units"),
                "mean sentiment": cell.get("mean_score"), "95% low": cell.get("mean_low"),
                "95% high": cell.get("mean_high"), "negative share": cell.get("share_negative"),
                "neutral share": cell.get("share_neutral"), "positive share": cell.get("share_positive"),
                "too few commenters": bool(cell.get("too_few")), "theme id": leaf["theme_id"],
            })
            for region in records(by_region):
                if region["theme_id"] == leaf["theme_id"] and region["region"] not in (agg.UNRESOLVED, agg.NO_PLACE):
                    region_rows.append({"theme": title, "region": region["region"],
                                        "distinct commenters": region["n_commenters"], "comments": region["n_comments"],
                                        "mean sentiment": region["mean_score"], "95% low": region["mean_low"],
                                        "95% high": region["mean_high"], "too few commenters": bool(region["too_few"])})
            for quote in quotes_by_theme.get(leaf["theme_id"], []):
                quote_rows.append({"theme": title, "quote": names(quote["text"]),
                                   "who": _plain_attribution(quote, names, pseudonyms),
                                   "article": names(quote.get("article_title") or ""),
                                   "sentiment": quote.get("label"), "unit id": quote.get("unit_id")})
    summary = [{"finding": f["text"]} for f in findings]
    return {"Summary": pd.DataFrame(summary, columns=["finding"]), "Themes": pd.DataFrame(rows),
            "Regions": pd.DataFrame(region_rows), "Quotes": pd.DataFrame(quote_rows)}


def _plain_attribution(quote: dict, names, pseudonyms: Pseudonyms | None) -> str:
    """`_attribution` without Markdown escapes (the workbook shows text as it is)."""
    return re.sub(r"\\(.)", r"\1", _attribution(quote, names, pseudonyms))
