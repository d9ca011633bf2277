"""Parent themes: leaf themes (guided and discovered) grouped by the similarity of their centroids.

The leaf level has as many themes as the data holds (ksearch.py), so the parent level is what a reader takes in
first: about MIN_PARENTS..MAX_PARENTS parents. Ward clustering of the normalised leaf centroids, with the number
of parents chosen in that range by the silhouette of the leaves (cosine), so a parent is a group of leaves
that are closer to each other than to the other groups, not a fixed cut of the dendrogram. Few leaves (fewer
than MIN_PARENTS * fanout) keep the old rule: about one parent per `fanout` leaves. A parent with a single child
adds nothing and is dropped (the child stays at the top level), so the tree has two levels: parents, then
leaves. Deterministic: Ward has no random state.

`shared_phrases` is the parents' label rule: a parent is named by a phrase several of its children use, never by
one child's phrase, and the more of its children use a phrase the better it names the parent ("war", said in five
of six leaves about world affairs, over "Syria", said in two). No two nodes share a label, so a child's label is
barred from its parent, except when it is the family's word more than the child's (`family_words`): then the
parent may take it and the child is named afresh. When no shared phrase is said by PARENT_MIN_COVER of the
parent's members, the parent is named by its children instead (`children_label`).
"""

from __future__ import annotations

import numpy as np

PARENT_FANOUT = 3   # leaves per parent, on average, when there are few leaves
MIN_LEAVES = 4      # fewer leaves than this: no parents at all
MIN_PARENTS = 6     # the parent level a reader can take in
MAX_PARENTS = 15
# A phrase is shared by a child when it is in at least this many of the child's units (and this share of them).
# 2% of a 4,000-unit leaf is 80 units: on SFU C3 "Middle East" and "women" shared no phrase at 2% and their parent
# fell back to one child's "Saudi Arabia"; at 1% they share "Muslim".
SHARED_MIN_UNITS = 2
SHARED_MIN_SHARE = 0.01
# A child's label names its family when at least this share of the family's units saying it are in its siblings.
FAMILY_SHARE = 0.5
# A parent's label must be in at least this share of its members (one in fifty) to name the group; below it the
# parent is named by its children. On SFU C3 12k the parent labels that name their group are in 2.4-27% of their
# members ("Trump" over Hillary Clinton and Margaret Wente 2.7%, "money" 6.7%, "Canada" 27%); those that do not,
# in 0.7-1.6%: "Wright" over seven people in the news, "truth" over four groups of reactions, and in the int8
# run "Doug", "guess" and no phrase at all ("theme 63").
PARENT_MIN_COVER = 0.02
# Children named in a parent's label when it is named by them; more are counted ("and 2 more").
CHILDREN_NAMED = 3


def n_parents_range(n_leaves: int, fanout: int = PARENT_FANOUT) -> tuple[int, int]:
    """(fewest, most) parents tried for `n_leaves` leaves."""
    if n_leaves < MIN_PARENTS * max(fanout, 2):
        k = max(2, int(round(n_leaves / max(fanout, 2))))
        return k, k
    return MIN_PARENTS, min(MAX_PARENTS, n_leaves // 2)


def group_leaves(centroids: np.ndarray, fanout: int = PARENT_FANOUT) -> list[list[int]]:
    """Groups of leaf positions (each with 2+ members) sharing a parent, ordered by their first member."""
    n = len(centroids)
    if n < MIN_LEAVES:
        return []
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    X = np.asarray(centroids, np.float64)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    lo, hi = n_parents_range(n, fanout)
    best, best_score = None, -np.inf
    # one tree, cut at every k tried (Ward's merges do not depend on where the tree is cut)
    model = AgglomerativeClustering(n_clusters=lo, linkage="ward", compute_full_tree=True).fit(X)
    for k in range(lo, hi + 1):
        labels = _cut(model, n, k) if k != lo else model.labels_
        if lo == hi:
            best = labels
            break
        score = silhouette_score(X, labels, metric="cosine") if 1 < k < n else -1.0
        if score > best_score + 1e-12:
            best, best_score = labels, score
    groups: dict[int, list[int]] = {}
    for pos, label in enumerate(best):
        groups.setdefault(int(label), []).append(pos)
    return sorted((g for g in groups.values() if len(g) >= 2), key=lambda g: g[0])


def _cut(model, n: int, k: int) -> np.ndarray:
    """Labels of a fitted full Ward tree (`children_`) cut into `k` clusters."""
    parent = np.arange(2 * n - 1)
    for step, (a, b) in enumerate(model.children_[: n - k]):
        parent[a] = parent[b] = n + step
    roots = np.arange(n)
    for _ in range(n):                      # follow each leaf up to its root in the cut tree
        nxt = parent[roots]
        if np.array_equal(nxt, roots):
            break
        roots = nxt
    return np.unique(roots, return_inverse=True)[1]


def coherence(centroids: np.ndarray, groups: list[list[int]]) -> list[float]:
    """Per group: the mean cosine of its leaves' centroids to the group's mean direction (1 = one direction)."""
    X = np.asarray(centroids, np.float64)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    out = []
    for g in groups:
        mean = X[g].mean(axis=0)
        mean /= max(np.linalg.norm(mean), 1e-12)
        out.append(float(np.mean(X[g] @ mean)))
    return out


def shared_phrases(support: np.ndarray, sizes: np.ndarray, child_rows: list[int]) -> np.ndarray:
    """(V,) float: for each phrase, the share of a parent's children that use it (SHARED_MIN_UNITS and
    SHARED_MIN_SHARE of the child's units); 0 for phrases used by fewer than two children or fewer than a third
    of them, which may not name the parent.

    `support` is the leaf phrase-support matrix (themes x phrases, terms.TermStats.support), `child_rows` the
    parent's children's rows in it. `labels.select_labels` weighs a parent's label scores by these shares.
    """
    rows = support[child_rows]
    need = np.maximum(SHARED_MIN_UNITS, SHARED_MIN_SHARE * np.asarray(sizes, np.float64)[child_rows])[:, None]
    users = (rows >= need).sum(axis=0)
    enough = users >= max(2, int(np.ceil(len(child_rows) / 3)))
    return np.where(enough, users / len(child_rows), 0.0)


def family_words(support: np.ndarray, child_rows: list[int], label_cols: list[int | None]) -> list[bool]:
    """For each child (its row in `support`, its label's column or None): whether its label is said more by its
    siblings than by itself, FAMILY_SHARE of the family's units that contain it being in the other children.

    On SFU C3 the leaf "Canada" (827 units say it) sits among six other Canadian-politics leaves where 1,575 more
    say it: "Canada" names the family, and the parent, barred from it, was "Quebec". "police" (153 of the 174
    units of its two-leaf family) stays the child's.
    """
    family = np.asarray(support, np.float64)[child_rows].sum(axis=0)
    return [col is not None and family[col] > 0
            and family[col] - support[row, col] >= FAMILY_SHARE * family[col]
            for row, col in zip(child_rows, label_cols)]


def children_label(labels: list[str]) -> str:
    """A parent's label made of its children's labels, largest child first: "Hillary Clinton and Margaret Wente",
    "Mike Duffy, Rob Ford and Heave Steve", "A, B, C and 2 more" (CHILDREN_NAMED named). For a parent whose
    children share no phrase that names the group (PARENT_MIN_COVER): the label says what it holds."""
    named = list(labels[:CHILDREN_NAMED])
    rest = len(labels) - len(named)
    if rest:
        return f"{', '.join(named)} and {rest} more"
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
