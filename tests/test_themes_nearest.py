"""Parent labels by meaning (themes/nearest.py): the shared phrase whose embedding is nearest the parent's centroid."""

import numpy as np

from commentminer.themes import nearest
from commentminer.themes.labels import describe_themes, phrase_scores
from commentminer.themes.phrases import generic_mask
from commentminer.themes.terms import regroup, term_statistics

# A fake embedder: each phrase is a fixed direction; the parent's centroid is nearest "canadian politics".
AXES = {"canadian politics": [1, 0, 0, 0], "political life": [0.99, 0.14, 0, 0], "harper government": [1, 0, 0, 0],
        "harper": [0.6, 0.8, 0, 0], "trudeau": [0.55, 0, 0.83, 0], "quebec": [0.5, 0, 0, 0.87],
        "sovereignty": [0.3, 0, 0, 0.95]}


def fake_embed(texts):
    return np.array([AXES.get(t, [0, 0, 0, 1]) for t in texts], np.float32)


def corpus():
    """Three leaves under one parent: "canadian politics" in 12 units of leaves 0 and 1, "harper government" in 12
    of leaf 0 only, and each leaf's own name; a fourth leaf elsewhere."""
    harper = ([f"harper {w}, canadian politics." for w in "abcdef"]
              + [f"the harper government {w}." for w in "abcdefghijkl"])
    trudeau = [f"trudeau {w}, canadian politics." for w in "abcdef"] + [f"trudeau again {w}." for w in "ghijkl"]
    quebec = [f"quebec sovereignty {w}." for w in "abcdefghijkl"]
    pipes = [f"pipeline spill {w}." for w in "abcdefghijkl"]
    texts = harper + trudeau + quebec + pipes
    leaves = np.repeat([0, 1, 2, 3], [len(harper), len(trudeau), len(quebec), len(pipes)])
    return texts, leaves


def test_the_parent_is_named_by_the_shared_phrase_nearest_its_centroid():
    texts, leaves = corpus()
    stats = term_statistics(texts, leaves, (1, 3))
    parent = regroup(stats, {0: 10, 1: 10, 2: 10})
    scores = phrase_scores(parent, None, 0.9)
    using = {10: (stats.support[[0, 1, 2]] > 0).sum(axis=0)}
    centroid = {10: np.array([0.9, 0.3, 0.2, 0.2], np.float32)}
    anywhere = nearest.nearest_phrases(parent, scores, generic_mask(parent.vocab), centroid, fake_embed)
    said = [str(parent.vocab[c]) for c in anywhere[10]]
    assert {"canadian politics", "harper government", "quebec"} <= set(said)
    assert "sovereignty" not in said                  # in 12 units, but its cosine (0.46) is below MIN_COSINE
    near = nearest.nearest_phrases(parent, scores, generic_mask(parent.vocab), centroid, fake_embed, using)
    said = [str(parent.vocab[c]) for c in near[10]]
    assert said[0] == "canadian politics"             # said under two children, nearest the centroid
    assert "harper government" not in said and "quebec" not in said   # near, but one child's phrase each
    # a child labelled "political life" already says it: the parent is not named so in other words
    near = nearest.nearest_phrases(parent, scores, generic_mask(parent.vocab), centroid, fake_embed, using,
                                   {10: ["Political life", "Trudeau", "Quebec"]})
    assert "canadian politics" not in [str(parent.vocab[c]) for c in near.get(10, [])]


def test_a_preferred_phrase_labels_the_theme_unless_it_is_barred():
    texts, leaves = corpus()
    upper = np.where(leaves < 3, 10, leaves)
    stats = regroup(term_statistics(texts, leaves, (1, 3)), {0: 10, 1: 10, 2: 10})
    col = {str(p): i for i, p in enumerate(stats.vocab)}

    def prefer(*phrases):
        return lambda s, scores: {10: [col[p] for p in phrases]}

    plain = describe_themes(texts, upper, label_max_df=0.9, stats=stats)[10][0]
    assert plain != "canadian politics"
    assert describe_themes(texts, upper, label_max_df=0.9, stats=stats,
                           preferred_labels=prefer("canadian politics"))[10][0] == "canadian politics"
    # a child's label and phrases in or around it stay barred; the next preferred phrase is taken
    barred = describe_themes(texts, upper, label_max_df=0.9, stats=stats, avoid_labels={10: ["Canadian politics"]},
                             preferred_labels=prefer("canadian politics", "quebec sovereignty"))
    assert barred[10][0] == "quebec sovereignty"


def test_candidates_are_noun_like_grounded_and_best_scored_first():
    texts, leaves = corpus()
    stats = term_statistics(texts, leaves, (1, 3))
    scores = phrase_scores(stats, None, 0.9)
    cols = nearest.candidate_columns(stats, scores, 0, generic_mask(stats.vocab), None)
    assert len(cols) and all(stats.support[0, c] >= nearest.MIN_UNITS and scores[0, c] > 0 for c in cols)
    assert list(scores[0, cols]) == sorted(scores[0, cols], reverse=True)
    stats.non_nouns = np.array([str(p) == "harper" for p in stats.vocab])    # as if tagged mostly a verb
    assert "harper" not in {str(stats.vocab[c]) for c in
                            nearest.candidate_columns(stats, scores, 0, generic_mask(stats.vocab), None)}
