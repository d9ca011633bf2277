"""Theme map: the run's themed sentence units laid out in 2-D, coloured by theme, each theme's label at its centre.

The layout is a 2-D UMAP (cosine) of the unit vectors, as BERTopic's DataMapPlot does: the first two principal
components of sentence embeddings are one undifferentiated blob on real data, while UMAP keeps neighbourhoods, so
themes show as regions. UMAP runs with a fixed random_state (deterministic) on at most `MAX_POINTS` units, sampled
deterministically by a hash of the unit id (the caption says so). Below `UMAP_MIN_POINTS` units (or with
[report] theme_map = "pca") the first two principal components are used instead: UMAP needs neighbours, and a
handful of points gains nothing from it. Labels: every coloured theme's label at the median of its points, and
each parent theme's label (larger, grey) at the median of its children's points. Each point's <title> (hover) holds its sentence and who wrote or said
it; every string goes through `svg.el`, so it is escaped. Parent themes are drawn as regions: a light shape around
the core of their sentences (the convex hull of the `PARENT_CORE` share of points nearest the parent's median),
behind the points, so a reader sees which themes belong together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..store import Store
from ..store.vectors import stack
from .svg import INK, MUTED, _clip, chart_priority, el, svg

MAX_POINTS = 3000          # points drawn; more units are sampled (read at call time so tests can lower it)
UMAP_MIN_POINTS = 300      # fewer sampled units: PCA (UMAP needs enough neighbours to mean anything)
UMAP_SEED = 42
UMAP_EPOCHS = 200          # layout epochs (UMAP's default for small data is 500; 200 is settled for a 2-D picture)
MAX_LABELS = 20            # theme labels drawn at theme centres (coloured themes first, then the largest)
TOP_THEMES = 7             # themes with their own colour; the rest share "other themes"
MAX_HOVER_CHARS = 240
PARENT_CORE = 0.8          # share of a parent's points (nearest its median) its region encloses: stray points
                           # would otherwise stretch every region over the whole map
# Okabe-Ito (colour-blind safe) for guided themes, then the largest; grey for the rest.
THEME_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
OTHER_COLOUR = "#BBBBBB"


def map_units(store: Store, run_id: str) -> pd.DataFrame:
    """The run's themed units with their embedding (the model with most vectors among them), theme and author.

    Columns: unit_id, kind, text, theme_id, theme, theme_kind, parent_id, parent, name, place, withheld, speaker,
    comment_id, vector.
    """
    model = store.query(
        "SELECT e.model_id, count(*) AS n FROM unit_themes ut JOIN units u ON u.unit_id = ut.unit_id "
        "JOIN embeddings e ON e.text_hash = u.text_hash WHERE ut.run_id = ? "
        "GROUP BY e.model_id ORDER BY n DESC, e.model_id LIMIT 1", [run_id])
    if model.empty:
        return pd.DataFrame(columns=["unit_id", "kind", "text", "theme_id", "theme", "theme_kind", "parent_id",
                                     "parent", "name", "place", "withheld", "speaker", "comment_id", "vector"])
    return store.query(
        """
        SELECT u.unit_id, u.kind, u.text, ut.theme_id, coalesce(t.name, t.label) AS theme, t.kind AS theme_kind,
               t.parent_id, coalesce(p.name, p.label) AS parent,
               c.name, c.place, c.withheld, u.speaker, u.comment_id, e.vector
        FROM unit_themes ut
        JOIN units u ON u.unit_id = ut.unit_id
        JOIN embeddings e ON e.text_hash = u.text_hash AND e.model_id = ?
        LEFT JOIN themes t ON t.run_id = ut.run_id AND t.theme_id = ut.theme_id
        LEFT JOIN themes p ON p.run_id = t.run_id AND p.theme_id = t.parent_id
        LEFT JOIN comments c ON c.comment_id = u.comment_id
        WHERE ut.run_id = ?
        ORDER BY u.unit_id
        """, [str(model.model_id.iloc[0]), run_id])


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates: the first two principal components (signs fixed: largest loading positive)."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        return np.zeros((len(x), 2))
    x = x - x.mean(axis=0)
    # Eigenvectors of the d x d scatter matrix instead of an SVD of the n x d data: the same components,
    # ~100x faster for many units (n >> d = 384).
    eigenvalues, eigenvectors = np.linalg.eigh(x.T @ x)
    order = np.argsort(eigenvalues)[::-1][: min(2, len(x))]
    comps = np.zeros((2, x.shape[1]))
    comps[: len(order)] = eigenvectors[:, order].T
    for row in comps:
        if row.any() and row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return x @ comps.T


def umap_2d(vectors: np.ndarray, seed: int = UMAP_SEED) -> np.ndarray:
    """(n, 2) coordinates from UMAP (cosine metric, 15 neighbours, fixed random_state: the same input gives the
    same layout). As in the themes stage, UMAP gets the exact cosine neighbour graph (no pynndescent, whose numba
    kernels would compile in every process) and its own kernels come from numba's disk cache (themes/jit.py)."""
    import warnings

    from ..themes.clustering import cosine_knn
    from ..themes.jit import umap_class

    x = np.asarray(vectors, dtype=np.float32)
    n_neighbors = min(15, len(x) - 1)
    knn = cosine_knn(x, n_neighbors)
    UMAP = umap_class()
    with warnings.catch_warnings():   # "n_jobs overridden by random_state" and friends: expected, not news
        warnings.simplefilter("ignore")
        reducer = UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=0.1, metric="cosine", random_state=seed,
                       low_memory=False, precomputed_knn=(*knn, None), n_epochs=UMAP_EPOCHS)
        return np.asarray(reducer.fit_transform(x), dtype=np.float64)


def sample_ids(unit_ids: list[str], cap: int) -> set[str]:
    """A deterministic sample of `cap` ids (smallest sha1 of the id), independent of row order."""
    ranked = sorted(unit_ids, key=lambda u: hashlib.sha1(str(u).encode("utf-8")).hexdigest())
    return set(ranked[:cap])


def who(row: dict[str, Any], pseudonym: Callable[[dict[str, Any]], str | None] | None = None) -> str:
    """Who wrote or said a unit, for its hover text."""
    if pseudonym is not None and (alias := pseudonym(row)):
        return alias
    if row["kind"] == "comment":
        if row.get("withheld") is True:
            return "name and address withheld"
        name = row.get("name") if isinstance(row.get("name"), str) else "unsigned"
        return f"{name}, {row['place']}" if isinstance(row.get("place"), str) else name
    if row["kind"] == "quote":
        return f"{row['speaker']} (quoted)" if isinstance(row.get("speaker"), str) else "unnamed speaker (quoted)"
    return "article text"


def theme_map(units: pd.DataFrame, cap: int | None = None, width: int = 760, height: int = 520,
              pseudonym: Callable[[dict[str, Any]], str | None] | None = None,
              text: Callable[[Any], Any] | None = None, method: str = "umap") -> tuple[Markup | None, str]:
    """(the SVG scatter or None when no unit has an embedding, the caption). `method`: "umap" (PCA below
    UMAP_MIN_POINTS sampled units) or "pca"."""
    cap = MAX_POINTS if cap is None else cap
    total = len(units)
    if total == 0:
        return None, "No stored embeddings for this run's themed sentences, so there is no theme map."
    # sample before the layout: UMAP's cost grows with the points, and the sample is what is drawn
    keep = sample_ids(list(units["unit_id"]), cap) if total > cap else None
    if keep is not None:
        units = units[units["unit_id"].isin(keep)].reset_index(drop=True)
    vectors = stack(units["vector"]).astype(np.float64)  # float16 BLOBs as stored (store/vectors.py)
    use_umap = method == "umap" and len(units) >= UMAP_MIN_POINTS
    xy = umap_2d(vectors) if use_umap else pca_2d(vectors)
    rows = units.drop(columns=["vector"]).to_dict("records")
    sizes = units.groupby("theme_id").size()
    kinds = dict(zip(units["theme_id"], units["theme_kind"]))
    # Guided themes are the ones the user asked about, so they get colours before the largest discovered ones.
    ranked = sorted((t for t in sizes.index if kinds.get(t) != "other"),
                    key=lambda t: chart_priority(kinds.get(t), int(sizes[t]), total, t))
    colours = {t: c for t, c in zip(ranked, THEME_COLOURS[:TOP_THEMES])}
    names = dict(zip(units["theme_id"], units["theme"]))

    left, right, top, bottom = 50, 20, 60 + 20 * ((len(colours) + 1 + 2) // 3), 50
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)

    def pos(p: np.ndarray) -> tuple[float, float]:
        return (round(left + 6 + (p[0] - lo[0]) / span[0] * (plot_w - 12), 2),
                round(top + plot_h - 6 - (p[1] - lo[1]) / span[1] * (plot_h - 12), 2))

    title = "Theme map of sentences"
    body: list[Markup] = [el("text", title, x=0, y=16, font_size=15, font_weight="bold", fill=INK)]
    items = [(_clip(names[t], 26), colours[t]) for t in colours] + [("other themes / no theme", OTHER_COLOUR)]
    for i, (label, colour) in enumerate(items):
        lx, ly = left + (i % 3) * 230, 40 + (i // 3) * 20
        body.append(el("circle", cx=lx + 6, cy=ly - 4, r=5, fill=colour))
        body.append(el("text", label, x=lx + 16, y=ly, font_size=12, fill=INK))
    body.append(el("rect", x=left, y=top, width=plot_w, height=plot_h, fill="none", stroke="#DDDDDD"))
    body += _parent_regions(units, xy, pos)
    # grey points first, so the coloured themes draw on top
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["theme_id"] in colours, rows[i]["unit_id"]))
    for i in order:
        row = rows[i]
        x, y = pos(xy[i])
        sentence = text(row["text"]) if text else row["text"]
        tip = f"“{_clip(' '.join(str(sentence or '').split()), MAX_HOVER_CHARS)}” — {who(row, pseudonym)} · " \
              f"theme: {names.get(row['theme_id']) or row['theme_id']}"
        body.append(el("circle", el("title", tip), cx=x, cy=y, r=3.5, fill=colours.get(row["theme_id"], OTHER_COLOUR),
                       fill_opacity=0.75, class_="point"))
    body += _centre_labels(units, xy, colours, sizes, pos)
    axis = "UMAP" if use_umap else "principal component"
    body.append(el("text", f"{axis} 1 of the sentence embeddings (no unit)", x=left + plot_w / 2,
                   y=top + plot_h + 20, font_size=12, fill=MUTED, text_anchor="middle"))
    body.append(el("text", f"{axis} 2 (no unit)", x=14, y=top + plot_h / 2, font_size=12, fill=MUTED,
                   text_anchor="middle", transform=f"rotate(-90 14 {top + plot_h / 2})"))
    shown = min(total, cap)
    caption = (f"showing {shown:,} of {total:,} sentences, sampled" if total > cap
               else f"showing all {total:,} themed sentences")
    caption += ", laid out by UMAP" if use_umap else ", laid out by principal components"
    body.append(el("text", caption, x=left + plot_w, y=height - 8, font_size=11, fill=MUTED, text_anchor="end"))
    return svg(width, height, title, body,
               desc=f"Each dot is a sentence placed by {'a 2-D UMAP' if use_umap else 'the first two principal components'} "
                    "of its embedding; nearby dots are similar in meaning. Colour shows its theme; theme labels sit "
                    "at the centre of their sentences; grey shapes are groups of themes (parents), labelled in grey."), caption


def _parent_regions(units: pd.DataFrame, xy: np.ndarray,
                    pos: Callable[[np.ndarray], tuple[float, float]]) -> list[Markup]:
    """One light polygon per parent theme: the convex hull of the PARENT_CORE share of its points nearest their
    median (parents with fewer than 3 distinct points, or points on one line, get none)."""
    from scipy.spatial import ConvexHull, QhullError

    if "parent_id" not in units:
        return []
    out: list[Markup] = []
    parents = units.dropna(subset=["parent_id"])
    for _, members in parents.groupby("parent_id", sort=True):
        points = xy[members.index.to_numpy()]
        distance = np.linalg.norm(points - np.median(points, axis=0), axis=1)
        core = np.unique(points[distance <= np.quantile(distance, PARENT_CORE)], axis=0)
        if len(core) < 3:
            continue
        try:
            hull = ConvexHull(core)
        except QhullError:  # all on one line
            continue
        corners = " ".join("{},{}".format(*pos(core[i])) for i in hull.vertices)
        out.append(el("polygon", points=corners, fill="#000000", fill_opacity=0.05, stroke="#999999",
                      stroke_dasharray="4 3", stroke_width=1, class_="parent-region"))
    return out


def _centre_labels(units: pd.DataFrame, xy: np.ndarray, colours: dict, sizes: pd.Series,
                   pos: Callable[[np.ndarray], tuple[float, float]]) -> list[Markup]:
    """Theme labels at the median point of their units (coloured themes first, then the largest, at most
    MAX_LABELS), and parent labels at the median of their children's units; white halo so they read over dots.
    A label that would overlap one placed before it moves down or up a line at a time (parents are placed first)."""
    out: list[Markup] = []
    halo = {"stroke": "#FFFFFF", "stroke_width": 3, "paint_order": "stroke", "text_anchor": "middle"}
    placed: list[tuple[float, float, float, float]] = []

    def free_spot(x: float, y: float, text: str, size: int) -> float:
        """y moved down/up in steps of one line until the label's box overlaps no label placed before it."""
        half_w, h = 0.3 * size * len(text), size + 2
        for shift in [0] + [s * k * h for k in range(1, 12) for s in (1, -1)]:
            box = (x - half_w, y + shift - h, x + half_w, y + shift)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                placed.append(box)
                return y + shift
        placed.append((x - half_w, y - h, x + half_w, y))
        return y
    if "parent_id" in units:
        parents = units.dropna(subset=["parent_id"])
        for parent_id, members in parents.groupby("parent_id", sort=True):
            if not isinstance(members["parent"].iloc[0], str):
                continue
            x, y = pos(np.median(xy[members.index.to_numpy()], axis=0))
            label = _clip(str(members["parent"].iloc[0]), 30)
            y = free_spot(x, y - 14, label, 15)
            out.append(el("text", label, x=x, y=y, font_size=15,
                          font_weight="bold", fill=MUTED, fill_opacity=0.8, class_="parent-label", **halo))
    names = dict(zip(units["theme_id"], units["theme"]))
    kinds = dict(zip(units["theme_id"], units["theme_kind"]))
    ranked = [t for t in colours] + [t for t in sizes.sort_values(ascending=False, kind="stable").index
                                      if t not in colours and kinds.get(t) != "other"]
    for theme_id in ranked[:MAX_LABELS]:
        index = np.flatnonzero(units["theme_id"].to_numpy() == theme_id)
        x, y = pos(np.median(xy[index], axis=0))
        label = _clip(str(names.get(theme_id)), 28)
        y = free_spot(x, y, label, 12)
        out.append(el("text", label, x=x, y=y, font_size=12, font_weight="bold",
                      fill=colours.get(theme_id, INK), class_="theme-label", **halo))
    return out
