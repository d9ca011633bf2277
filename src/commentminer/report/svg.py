"""Hand-written inline SVG charts (no plotting library, no CDN): small, offline, and escaped by construction.

Every element is built by `el`, which escapes attribute values and text with markupsafe, so user content
(region names, theme labels) can never become markup. Functions return `Markup` ready for the template.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

from .bidi import isolate_plain

# Okabe-Ito colour-blind-safe palette: orange / grey / blue for negative / neutral / positive.
NEGATIVE = "#E69F00"
NEUTRAL = "#AAAAAA"
POSITIVE = "#0072B2"
TOO_FEW = "#E4E4E4"
INK = "#222222"
MUTED = "#767676"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


# A guided theme is charted before larger discovered ones when it holds at least this share of the themed units:
# on the sample corpus "Sidelined / excluded" (3%) should be visible, but a guided theme that barely occurs in
# someone else's corpus (12 of 9,798 units) should not take a colour from a big theme.
GUIDED_MIN_SHARE = 0.01


def chart_priority(kind: object, n_units: int, total_units: int, theme_id: int) -> tuple:
    """Sort key for which themes get colours / charts first: sizeable guided themes, then the largest."""
    sizeable_guided = kind == "guided" and n_units >= GUIDED_MIN_SHARE * max(total_units, 1)
    return (not sizeable_guided, -n_units, theme_id)


def el(tag: str, content: object = None, **attrs: object) -> Markup:
    """One SVG element; attribute names use '_' for '-' (font_size -> font-size); content: text or Markup."""
    parts = [f"<{tag}"]
    for name, value in attrs.items():
        if value is None:
            continue
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{escape(isolate_plain(_fmt(value)))}"')
    if content is None:
        return Markup("".join(parts) + "/>")
    if isinstance(content, str) and not isinstance(content, Markup):
        content = isolate_plain(content)  # right-to-left overrides stay inside this element's text
    return Markup("".join(parts) + ">") + escape(content) + Markup(f"</{tag}>")


def _fmt(value: object) -> str:
    if isinstance(value, float):  # 2 decimals are plenty for pixel coordinates and keep the file small
        return f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"
    return str(value)


def svg(width: int, height: int, title: str, body: Iterable[Markup], desc: str | None = None) -> Markup:
    """An <svg> root with an accessible <title> (and <desc>), sized by viewBox so it scales with the page."""
    inner = el("title", title) + (el("desc", desc) if desc else Markup(""))
    for part in body:
        inner += part
    return el("svg", inner, viewBox=f"0 0 {width} {height}", width=width, height=height, role="img",
              class_="chart", style=FONT, preserveAspectRatio="xMinYMin meet")


def legend(x: float, y: float, items: Sequence[tuple[str, str, dict]]) -> Markup:
    """A horizontal legend: (label, fill, extra rect attrs) swatches left to right."""
    out = Markup("")
    for label, fill, extra in items:
        out += el("rect", x=x, y=y - 9, width=12, height=12, fill=fill, **extra)
        out += el("text", label, x=x + 17, y=y + 1, font_size=12, fill=INK)
        x += 24 + 7 * len(label)
    return out


def sentiment_legend_items() -> list[tuple[str, str, dict]]:
    return [("negative", NEGATIVE, {}), ("neutral", NEUTRAL, {}), ("positive", POSITIVE, {})]


def share_bar(negative: float | None, neutral: float | None, positive: float | None, n: int,
              label: str, width: int = 320, height: int = 22) -> Markup:
    """A single stacked bar of sentiment shares (one per theme card); labelled segments, no axes needed."""
    shares = [_share(negative), _share(neutral), _share(positive)]
    title = f"Sentiment of {n} units in {label}: " + ", ".join(
        f"{name} {s:.0%}" for name, s in zip(("negative", "neutral", "positive"), shares))
    body: list[Markup] = []
    x = 0.0
    if n == 0 or sum(shares) == 0:
        body.append(el("rect", x=0, y=0, width=width, height=height, fill=TOO_FEW))
        body.append(el("text", "no scored units", x=6, y=height - 7, font_size=12, fill=MUTED))
        return svg(width, height, title, body)
    for share, colour in zip(shares, (NEGATIVE, NEUTRAL, POSITIVE)):
        w = share * width
        if w > 0:
            body.append(el("rect", x=round(x, 2), y=0, width=round(w, 2), height=height, fill=colour))
            if w >= 34:  # only label segments wide enough to hold "100%"
                text_fill = "#FFFFFF" if colour == POSITIVE else INK
                body.append(el("text", f"{share:.0%}", x=round(x + 4, 2), y=height - 7, font_size=12, fill=text_fill))
        x += w
    return svg(width, height, title, body)


def theme_shares_chart(rows: Sequence[dict], width: int = 760) -> Markup:
    """Stacked horizontal bars: share of negative / neutral / positive units per theme (x axis 0-100%).

    rows: dicts with label, n_scored, share_negative, share_neutral, share_positive.
    """
    left, right, top, bar, gap = 230, 20, 46, 18, 8
    plot_w = width - left - right
    height = top + len(rows) * (bar + gap) + 46
    body: list[Markup] = [el("text", "Sentiment of units by theme", x=0, y=16, font_size=15, font_weight="bold",
                             fill=INK)]
    body.append(legend(left, 36, sentiment_legend_items()))
    for i, row in enumerate(rows):
        y = top + i * (bar + gap)
        body.append(el("text", _clip(row["label"], 34), x=left - 8, y=y + bar - 4, font_size=12, fill=INK,
                       text_anchor="end"))
        x = float(left)
        shares = [_share(row.get("share_negative")), _share(row.get("share_neutral")),
                  _share(row.get("share_positive"))]
        for share, colour, name in zip(shares, (NEGATIVE, NEUTRAL, POSITIVE), ("negative", "neutral", "positive")):
            w = share * plot_w
            if w > 0:
                body.append(el("rect", el("title", f"{row['label']}: {name} {share:.0%} of {row['n_scored']} units"),
                               x=round(x, 2), y=y, width=round(w, 2), height=bar, fill=colour))
            x += w
    axis_y = top + len(rows) * (bar + gap)
    body.append(el("line", x1=left, y1=axis_y, x2=left + plot_w, y2=axis_y, stroke=MUTED))
    for tick in (0, 0.25, 0.5, 0.75, 1):
        tx = left + tick * plot_w
        body.append(el("line", x1=tx, y1=axis_y, x2=tx, y2=axis_y + 4, stroke=MUTED))
        body.append(el("text", f"{tick:.0%}", x=tx, y=axis_y + 17, font_size=11, fill=MUTED, text_anchor="middle"))
    body.append(el("text", "share of the theme's units (%)", x=left + plot_w / 2, y=axis_y + 36, font_size=12,
                   fill=INK, text_anchor="middle"))
    return svg(width, height, "Sentiment of units by theme", body,
               desc="Stacked bars: share of negative, neutral and positive sentences in each theme.")


def region_chart(rows: Sequence[dict], min_commenters: int, width: int = 760) -> Markup:
    """Horizontal bars of mean comment score per region on a -1..1 axis, with 95% interval whiskers.

    rows: dicts with region, n_comments, n_commenters, mean_score, ci_low, ci_high, too_few. Too-few rows are
    drawn greyed with a dashed outline and labelled, so they are visible but not read as a ranking.
    """
    left, right, top, bar, gap = 190, 190, 66, 18, 10  # top leaves room for legend + column header
    plot_w = width - left - right
    height = top + len(rows) * (bar + gap) + 48

    def sx(score: float) -> float:
        return round(left + (max(-1.0, min(1.0, score)) + 1) / 2 * plot_w, 2)

    title = "Mean comment sentiment by region"
    body: list[Markup] = [el("text", title, x=0, y=16, font_size=15, font_weight="bold", fill=INK)]
    body.append(legend(left - 180, 36, [
        ("negative mean", NEGATIVE, {}), ("positive mean", POSITIVE, {}),
        (f"too few commenters (< {min_commenters})", TOO_FEW, {"stroke": MUTED, "stroke_dasharray": "3 2"}),
    ]))
    body.append(el("line", x1=width - 118, y1=32, x2=width - 98, y2=32, stroke=INK, stroke_width=1.5))
    body.append(el("text", "95% interval", x=width - 92, y=36, font_size=12, fill=INK))
    axis_y = top + len(rows) * (bar + gap)
    for tick in (-1, -0.5, 0, 0.5, 1):  # grid first, so bars draw over it
        body.append(el("line", x1=sx(tick), y1=top - 4, x2=sx(tick), y2=axis_y,
                       stroke="#BBBBBB" if tick == 0 else "#EEEEEE", stroke_width=1))
    for i, row in enumerate(rows):
        y = top + i * (bar + gap)
        few = bool(row["too_few"])
        label_fill = MUTED if few else INK
        body.append(el("text", _clip(row["region"], 28), x=left - 8, y=y + bar - 4, font_size=12, fill=label_fill,
                       text_anchor="end"))
        mean = row["mean_score"]
        note = f"n={row['n_comments']} comments, {row['n_commenters']} commenters"
        if mean is not None:
            x0, x1 = sorted((sx(0), sx(mean)))
            fill = TOO_FEW if few else (NEGATIVE if mean < 0 else POSITIVE)
            extra = {"stroke": MUTED, "stroke_dasharray": "3 2"} if few else {}
            tip = f"{row['region']}: mean {mean:+.2f}, {note}" + (" (too few commenters)" if few else "")
            body.append(el("rect", el("title", tip), x=x0, y=y, width=max(round(x1 - x0, 2), 1), height=bar,
                           fill=fill, **extra))
            if row.get("ci_low") is not None and row.get("ci_high") is not None:
                lo, hi, mid = sx(row["ci_low"]), sx(row["ci_high"]), y + bar / 2
                stroke = MUTED if few else INK
                body.append(el("line", x1=lo, y1=mid, x2=hi, y2=mid, stroke=stroke, stroke_width=1.5))
                for end in (lo, hi):
                    body.append(el("line", x1=end, y1=mid - 5, x2=end, y2=mid + 5, stroke=stroke, stroke_width=1.5))
        right_text = f"{mean:+.2f}  ({row['n_comments']} / {row['n_commenters']})" if mean is not None else "no scores"
        if few:
            right_text += "  too few"
        body.append(el("text", right_text, x=left + plot_w + 8, y=y + bar - 4, font_size=12, fill=label_fill))
    body.append(el("line", x1=left, y1=axis_y, x2=left + plot_w, y2=axis_y, stroke=MUTED))
    for tick in (-1, -0.5, 0, 0.5, 1):
        body.append(el("line", x1=sx(tick), y1=axis_y, x2=sx(tick), y2=axis_y + 4, stroke=MUTED))
        body.append(el("text", f"{tick:+g}" if tick else "0", x=sx(tick), y=axis_y + 17, font_size=11, fill=MUTED,
                       text_anchor="middle"))
    body.append(el("text", "mean comment sentiment score (-1 negative … +1 positive)", x=left + plot_w / 2,
                   y=axis_y + 36, font_size=12, fill=INK, text_anchor="middle"))
    body.append(el("text", "mean  (comments / commenters)", x=left + plot_w + 8, y=top - 8, font_size=11,
                   fill=MUTED))
    return svg(width, height, title, body,
               desc="Bars from zero to each region's mean comment score, whiskers show the 95% interval; "
                    "greyed dashed bars have too few distinct commenters to compare.")


def _share(value: float | None) -> float:
    return 0.0 if value is None else max(0.0, min(1.0, float(value)))


def _clip(text: object, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
