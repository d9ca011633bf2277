"""Sentiment by region as a UK tile map: one tile per region, laid out roughly geographically (inline SVG).

Each tile is coloured by the region's mean comment sentiment on the report's colour-blind-safe diverging scale
(Okabe-Ito orange for negative, through a light neutral, to blue for positive) and labelled with the region's
name, its number of distinct commenters and the mean with its 95% interval. Regions with too few commenters
are drawn hatched in grey (not coloured, so they are not read as a ranking); regions with no scored comments
are plain grey. Built with `svg.el`, so region names are escaped by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from ..schema import UK_REGIONS
from .svg import INK, MUTED, NEGATIVE, POSITIVE, TOO_FEW, el, legend, svg

# region -> (column, row) on the tile grid: Scotland top, Northern Ireland left, the English regions north to
# south, Wales west of the Midlands, London between the South West and the South East.
TILE_GRID: dict[str, tuple[int, int]] = {
    "Scotland": (1, 0),
    "Northern Ireland": (0, 1), "North East": (2, 1),
    "North West": (1, 2), "Yorkshire and The Humber": (2, 2),
    "Wales": (0, 3), "West Midlands": (1, 3), "East Midlands": (2, 3), "East of England": (3, 3),
    "South West": (1, 4), "London": (2, 4), "South East": (3, 4),
}
SHORT_NAMES = {"Yorkshire and The Humber": "Yorkshire & Humber"}
MIDPOINT = "#F2F2F2"     # the neutral middle of the diverging scale
NO_DATA = "#FFFFFF"
SCALE = 0.5              # |mean| at which a tile reaches the full colour (comment means rarely pass ±0.5)
TILE_W, TILE_H, GAP = 168, 96, 6


def tile_colour(mean: float) -> str:
    """The diverging colour for a mean score in -1..1 (full colour at ±SCALE)."""
    t = max(-1.0, min(1.0, float(mean) / SCALE))
    end = POSITIVE if t > 0 else NEGATIVE
    return _mix(MIDPOINT, end, abs(t))


def region_tile_map(rows: Sequence[dict], min_commenters: int) -> Markup:
    """The tile map for `aggregate.region_sentiment` rows (region, n_commenters, mean_score, ci_low, ci_high,
    too_few); every region of UK_REGIONS gets a tile, those without a row say "no comments"."""
    by_region = {row["region"]: row for row in rows}
    title = "Mean comment sentiment by region (UK tile map)"
    top, left = 70, 0
    cols = 1 + max(c for c, _ in TILE_GRID.values())
    n_rows = 1 + max(r for _, r in TILE_GRID.values())
    width = left + cols * (TILE_W + GAP)
    height = top + n_rows * (TILE_H + GAP) + 10
    body: list[Markup] = [el("text", title, x=0, y=16, font_size=15, font_weight="bold", fill=INK)]
    body.append(legend(0, 38, [
        ("−0.5 or below", NEGATIVE, {}), ("−0.25", tile_colour(-0.25), {}), ("0", MIDPOINT, {"stroke": MUTED}),
        ("+0.25", tile_colour(0.25), {}), ("+0.5 or above", POSITIVE, {}),
    ]))
    body.append(legend(0, 58, [
        (f"too few commenters (< {min_commenters})", TOO_FEW, {"stroke": MUTED}),
        ("no comments", NO_DATA, {"stroke": MUTED, "stroke_dasharray": "3 2"}),
    ]))
    body.append(hatch(0, 49, 12, 12, step=5))
    for region in UK_REGIONS:
        col, row_i = TILE_GRID[region]
        x, y = left + col * (TILE_W + GAP), top + row_i * (TILE_H + GAP)
        body.append(_tile(region, by_region.get(region), x, y))
    return svg(width, height, title, body,
               desc="One tile per UK region, roughly where it is; colour: mean comment sentiment from orange "
                    "(negative) through grey to blue (positive); hatched grey: too few distinct commenters to "
                    "compare; white dashed: no scored comments.")


def _tile(region: str, row: dict | None, x: float, y: float) -> Markup:
    mean = None if row is None else row.get("mean_score")
    few = row is not None and bool(row.get("too_few"))
    if row is None or mean is None:
        fill, extra, status, tip = NO_DATA, {"stroke": MUTED, "stroke_dasharray": "3 2"}, "no-data", "no comments"
    elif few:
        fill, extra, status = TOO_FEW, {"stroke": MUTED}, "too-few"
        tip = "too few commenters"
    else:
        fill, extra, status, tip = tile_colour(mean), {}, "ok", ""
    dark = status == "ok" and abs(mean) >= SCALE * 0.6
    ink = "#FFFFFF" if dark and mean > 0 else INK
    lines = [SHORT_NAMES.get(region, region)]
    if row is not None:
        n = int(row.get("n_commenters") or 0)
        lines.append(f"n = {n:,} commenter{'' if n == 1 else 's'}")
    if mean is not None:
        lines.append(f"mean {_score(mean)}")
        # the interval on its own line: "mean +0.34 (+0.28 to +0.43)" overflows a tile at 11px
        if row.get("ci_low") is not None and row.get("ci_high") is not None:
            lines.append(f"95% {_score(row['ci_low'])} to {_score(row['ci_high'])}")
    if status != "ok":
        lines.append(tip)
    full = f"{region}: " + "; ".join(lines[1:]) if len(lines) > 1 else region
    out = el("rect", el("title", full), x=x, y=y, width=TILE_W, height=TILE_H, rx=4, fill=fill, **extra)
    if status == "too-few":
        out += hatch(x, y, TILE_W, TILE_H)
    for i, line in enumerate(lines):
        out += el("text", line, x=x + 8, y=y + 20 + i * 16, font_size=13 if i == 0 else 11,
                  font_weight="bold" if i == 0 else None, fill=ink if status == "ok" else (INK if i == 0 else MUTED))
    return el("g", out, class_=f"tile {status}", data_region=region)


def hatch(x: float, y: float, w: float, h: float, step: float = 12) -> Markup:
    """Diagonal hatching lines clipped to the box (no pattern or url() reference: the report uses none)."""
    out = Markup("")
    d = step
    while d < w + h:
        t0, t1 = max(0.0, d - w), min(float(h), d)
        if t0 < t1:
            out += el("line", x1=x + d - t0, y1=y + t0, x2=x + d - t1, y2=y + t1, stroke="#C4C4C4", stroke_width=1.5,
                      class_="hatch")
        d += step
    return out


def _score(value: float) -> str:
    value = float(value)
    return "0.00" if abs(value) < 0.005 else f"{value:+.2f}"


def _mix(a: str, b: str, t: float) -> str:
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(ca, cb))


__all__ = ["TILE_GRID", "region_tile_map", "tile_colour", "TOO_FEW"]
