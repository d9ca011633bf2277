"""Theme x region heatmap and per-theme over-time small multiples, from `aggregate.sentiment_table` rows.

Heatmap: cell colour = mean sentiment on a diverging orange-grey-blue scale (the report's colour-blind-safe
palette), cell text = distinct commenters; too-few cells are hatched grey. Over time: per theme, the share of the
period's themed units and the mean sentiment with its 95% interval per period; "Undated" is never a point (the
template notes it). All text goes through `svg.el`, so it is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from ..schema import UK_REGIONS
from .svg import INK, MUTED, NEGATIVE, POSITIVE, TOO_FEW, _clip, chart_priority, el, svg

UNDATED = "Undated"
SCALE = 0.5                 # |mean| at or beyond this gets the full colour
MAX_ROWS = 20               # themes shown in the heatmap (largest first)
MAX_COLUMNS = 16            # regions shown
MID = "#DDDDDD"


def _rgb(hex_colour: str) -> tuple[int, ...]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def diverging(score: float) -> str:
    """Orange (negative) - light grey (0) - blue (positive), saturating at +/-SCALE."""
    t = max(-1.0, min(1.0, float(score) / SCALE))
    end = _rgb(POSITIVE if t > 0 else NEGATIVE)
    mid = _rgb(MID)
    mixed = [round(m + (e - m) * abs(t)) for m, e in zip(mid, end)]
    return "#" + "".join(f"{c:02X}" for c in mixed)


def _ink_on(fill: str) -> str:
    r, g, b = _rgb(fill)
    return "#FFFFFF" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else INK


def _hatch(x: float, y: float, w: float, h: float) -> Markup:
    """Diagonal hatch lines over a too-few cell (plain lines: the report uses no url() references)."""
    out = Markup("")
    for k in range(0, int(w + h), 8):
        x1, y1 = x + min(k, w), y + max(0, k - w)
        x2, y2 = x + max(0, k - h), y + min(k, h)
        if abs(x1 - x2) > 0.5:
            out += el("line", x1=round(x1, 2), y1=round(y1, 2), x2=round(x2, 2), y2=round(y2, 2), stroke="#C4C4C4",
                      stroke_width=1)
    return out


def heatmap(cells: Sequence[dict], min_commenters: int, width: int = 760) -> Markup | None:
    """cells: sentiment_table rows by (theme, region): theme_id, theme, region, n_commenters, mean_score, too_few."""
    if not cells:
        return None
    themes = list(dict.fromkeys((c["theme_id"], c["theme"]) for c in cells))[:MAX_ROWS]
    # the official region order (as in the region table), then "Unresolved" / "No place" and anything else
    order = {name: i for i, name in enumerate(UK_REGIONS)}
    regions = sorted(dict.fromkeys(c["region"] for c in cells),
                     key=lambda r: (order.get(r, len(order)), str(r)))[:MAX_COLUMNS]
    left, top, cell_h = 200, 110, 26
    cell_w = max(34, min(80, (width - left - 10) // max(1, len(regions))))
    width = max(width, left + len(regions) * cell_w + 100)   # room for the last rotated region name
    height = top + len(themes) * cell_h + 90
    title = "Mean sentiment by theme and region"
    body: list[Markup] = [el("text", title, x=0, y=16, font_size=15, font_weight="bold", fill=INK)]
    lx = 8   # the first scale label is centred under its swatch, so keep it off the edge
    for score in (-0.5, -0.25, 0, 0.25, 0.5):
        body.append(el("rect", x=lx, y=28, width=22, height=12, fill=diverging(score)))
        body.append(el("text", f"{score:+.2f}" if score else "0", x=lx + 11, y=52, font_size=10, fill=MUTED,
                       text_anchor="middle"))
        lx += 34
    body.append(el("text", "mean sentiment (−0.5 or less … +0.5 or more)", x=lx + 4, y=38, font_size=12, fill=INK))
    body.append(el("rect", x=lx + 300, y=28, width=22, height=12, fill=TOO_FEW, stroke=MUTED, stroke_dasharray="3 2"))
    body.append(_hatch(lx + 300, 28, 22, 12))
    body.append(el("text", f"too few commenters (< {min_commenters})", x=lx + 327, y=38, font_size=12, fill=INK))
    body.append(el("text", "number in a cell = distinct commenters", x=0, y=70, font_size=12, fill=MUTED))
    for j, region in enumerate(regions):
        cx = left + j * cell_w + cell_w / 2
        body.append(el("text", _clip(region, 16), x=cx, y=top - 8, font_size=11, fill=INK, text_anchor="start",
                       transform=f"rotate(-35 {cx} {top - 8})"))
    index = {(c["theme_id"], c["region"]): c for c in cells}
    for i, (theme_id, theme) in enumerate(themes):
        y = top + i * cell_h
        body.append(el("text", _clip(theme, 26), x=left - 8, y=y + cell_h / 2 + 4, font_size=12, fill=INK,
                       text_anchor="end"))
        for j, region in enumerate(regions):
            cell = index.get((theme_id, region))
            if cell is None:
                continue
            x = left + j * cell_w
            few, mean = bool(cell["too_few"]), cell["mean_score"]
            fill = TOO_FEW if few or mean is None else diverging(mean)
            mean_text = f"mean {mean:+.2f}" if mean is not None else "no scores"
            tip = (f"{theme} × {region}: {mean_text}, {cell['n_commenters']} commenters"
                   + (" (too few commenters)" if few else ""))
            body.append(el("rect", el("title", tip), x=x + 1, y=y + 1, width=cell_w - 2, height=cell_h - 2, fill=fill,
                           class_="too-few cell" if few else "cell", stroke=MUTED if few else None,
                           stroke_dasharray="3 2" if few else None))
            if few:
                body.append(_hatch(x + 1, y + 1, cell_w - 2, cell_h - 2))
            body.append(el("text", str(cell["n_commenters"]), x=x + cell_w / 2, y=y + cell_h / 2 + 4, font_size=11,
                           text_anchor="middle", fill=MUTED if few or mean is None else _ink_on(fill)))
    axis_y = top + len(themes) * cell_h
    body.append(el("text", "region of the commenter (comments) or quoted speaker (quotes)",
                   x=left + len(regions) * cell_w / 2, y=axis_y + 24, font_size=12, fill=INK, text_anchor="middle"))
    body.append(el("text", "theme", x=left - 8, y=top - 8, font_size=12, fill=MUTED, text_anchor="end"))
    return svg(width, height, title, body,
               desc="Rows are themes, columns regions; colour is the mean sentence sentiment, the number the "
                    "distinct commenters; hatched cells have too few commenters to compare.")


def time_chart(theme: str, rows: Sequence[dict], periods: Sequence[str], period_name: str,
               width: int = 470) -> Markup:
    """Two small panels for one theme: share of the period's themed units, and mean sentiment with 95% whiskers.

    rows: the theme's dated periods (period, share_units, mean_score, mean_low, mean_high, too_few, n_units).
    """
    left, right, panel_h, gap, top = 56, 14, 90, 46, 64
    plot_w = width - left - right
    height = top + 2 * panel_h + gap + 44
    step = plot_w / max(1, len(periods))
    xs = {p: round(left + step * (i + 0.5), 2) for i, p in enumerate(periods)}
    index = {p: i for i, p in enumerate(periods)}   # a line joins two points only in adjacent periods
    by = {r["period"]: r for r in rows}
    title = f"{theme}: over time by {period_name}"
    body: list[Markup] = [el("text", _clip(title, 50), x=0, y=16, font_size=14, font_weight="bold", fill=INK)]
    body.append(el("circle", cx=6, cy=32, r=4, fill=POSITIVE))
    body.append(el("text", "share / mean", x=14, y=36, font_size=11, fill=INK))
    body.append(el("line", x1=100, y1=32, x2=118, y2=32, stroke=INK, stroke_width=1.5))
    body.append(el("text", "95% interval", x=122, y=36, font_size=11, fill=INK))
    body.append(el("circle", cx=206, cy=32, r=4, fill="#FFFFFF", stroke=MUTED, stroke_width=1.5))
    body.append(el("text", "too few commenters", x=214, y=36, font_size=11, fill=INK))

    share_max = max([float(r["share_units"] or 0) for r in rows] + [0.05])
    # a round top (a multiple of 2% below 20%, of 10% above) so the mid tick is a whole percentage too
    step = 0.02 if share_max < 0.2 else 0.1
    share_max = min(1.0, math.ceil(round(share_max / step, 6)) * step)
    panels = (("share of the period's themed units (%)", 0.0, share_max, top),
              ("mean sentiment (−1 … +1)", -1.0, 1.0, top + panel_h + gap))
    for label, lo, hi, y0 in panels:
        def sy(v: float, lo: float = lo, hi: float = hi, y0: float = y0) -> float:
            return round(y0 + panel_h - (max(lo, min(hi, v)) - lo) / (hi - lo) * panel_h, 2)
        body.append(el("text", label, x=left, y=y0 - 6, font_size=11, fill=MUTED))
        body.append(el("line", x1=left, y1=y0 + panel_h, x2=left + plot_w, y2=y0 + panel_h, stroke=MUTED))
        body.append(el("line", x1=left, y1=y0, x2=left, y2=y0 + panel_h, stroke=MUTED))
        ticks = (0.0, hi / 2, hi) if lo == 0 else (-1.0, 0.0, 1.0)
        for t in ticks:
            body.append(el("text", f"{t:.0%}" if lo == 0 else (f"{t:+g}" if t else "0"), x=left - 6, y=sy(t) + 4,
                           font_size=10, fill=MUTED, text_anchor="end"))
        if lo < 0:
            body.append(el("line", x1=left, y1=sy(0), x2=left + plot_w, y2=sy(0), stroke="#DDDDDD"))
        key = "share_units" if lo == 0 else "mean_score"
        points = [(xs[p], sy(float(by[p][key])), by[p]) for p in periods if p in by and by[p][key] is not None]
        for (x1, y1, r1), (x2, y2, r2) in zip(points, points[1:]):
            if index[r2["period"]] - index[r1["period"]] == 1:   # no line across a period without units
                body.append(el("line", x1=x1, y1=y1, x2=x2, y2=y2, stroke=POSITIVE, stroke_width=1.5))
        for x, y, row in points:
            few = bool(row["too_few"]) and key == "mean_score"
            if key == "mean_score" and row.get("mean_low") is not None and row.get("mean_high") is not None:
                ylo, yhi = sy(float(row["mean_low"])), sy(float(row["mean_high"]))
                if ylo - yhi > 0:
                    body.append(el("line", x1=x, y1=ylo, x2=x, y2=yhi, stroke=MUTED if few else INK, stroke_width=1.5))
                for end in (ylo, yhi):
                    body.append(el("line", x1=x - 4, y1=end, x2=x + 4, y2=end, stroke=MUTED if few else INK))
            value = f"{float(row[key]):.0%}" if key == "share_units" else f"{float(row[key]):+.2f}"
            tip = f"{theme}, {row['period']}: {value} ({row['n_units']} units)" + (" · too few commenters" if few else "")
            body.append(el("circle", el("title", tip), cx=x, cy=y, r=4, fill="#FFFFFF" if few else POSITIVE,
                           stroke=MUTED if few else POSITIVE, stroke_width=1.5, class_="point"))
    every = max(1, -(-len(periods) // 8))
    axis_y = top + 2 * panel_h + gap
    for i, p in enumerate(periods):
        if i % every == 0:
            body.append(el("text", p, x=xs[p], y=axis_y + 16, font_size=10, fill=MUTED, text_anchor="middle"))
    body.append(el("text", f"{period_name} (comment date, else article date)", x=left + plot_w / 2, y=axis_y + 34,
                   font_size=11, fill=INK, text_anchor="middle"))
    return svg(width, height, title, body,
               desc=f"Top: share of each {period_name}'s themed sentence units in this theme. Bottom: mean "
                    "sentiment per period with 95% interval whiskers; hollow points have too few commenters.")


def time_charts(themes: Sequence[dict], periods: Sequence[dict], period_name: str,
                top_n: int = 6) -> list[dict]:
    """[{title, chart, undated}] for `top_n` leaf themes (not "other"): guided ones holding at least
    `svg.GUIDED_MIN_SHARE` of the units first (the themes the user asked about), then the largest."""
    dated = period_range(sorted({p["period"] for p in periods if p["period"] != UNDATED}), period_name)
    out = []
    leaves = [t for t in themes if t.get("kind") not in ("parent", "other")]
    total = sum(int(t["n_units"] or 0) for t in leaves)
    ranked = sorted(leaves, key=lambda t: chart_priority(t.get("kind"), int(t["n_units"] or 0), total, t["theme_id"]))
    for theme in ranked[:top_n]:
        rows = [p for p in periods if p["theme_id"] == theme["theme_id"]]
        undated = next((p for p in rows if p["period"] == UNDATED), None)
        rows = [p for p in rows if p["period"] != UNDATED]
        out.append({"title": theme["title"], "undated": undated,
                    "chart": time_chart(str(theme["title"]), rows, dated, period_name) if rows else None})
    return out


def _period_index(period: str, period_name: str) -> int:
    """A period label as a running number: years, months since year 0, or quarters since year 0."""
    if period_name == "year":
        return int(period)
    year, _, rest = period.partition("-")
    if period_name == "month":
        return int(year) * 12 + int(rest) - 1
    return int(year) * 4 + int(rest.lstrip("Qq")) - 1


def _period_label(index: int, period_name: str) -> str:
    if period_name == "year":
        return str(index)
    if period_name == "month":
        return f"{index // 12}-{index % 12 + 1:02d}"
    return f"{index // 4}-Q{index % 4 + 1}"


def period_range(periods: Sequence[str], period_name: str) -> list[str]:
    """Every period from the first to the last of `periods` (labels as `aggregate.theme_periods` writes them:
    "2011", "2011-09", "2011-Q3"), gaps included, so the x axis is a true time axis: an empty period keeps its
    place instead of being skipped. Labels that do not parse are returned as given, sorted."""
    try:
        numbers = sorted({_period_index(p, period_name) for p in periods})
    except ValueError:
        return sorted(periods)
    if not numbers:
        return []
    return [_period_label(i, period_name) for i in range(numbers[0], numbers[-1] + 1)]
