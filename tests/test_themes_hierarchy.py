"""Parent themes at scale (issue 13 item 2): 6-15 coherent parents over many leaves, named by what children share."""

from __future__ import annotations

import numpy as np

from commentminer.themes.hierarchy import (MAX_PARENTS, MIN_PARENTS, children_label, coherence, family_words,
                                           group_leaves, n_parents_range, shared_phrases)


def _leaves(n_groups: int, per: int, dim: int = 32, spread: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(n_groups), per)
    X = rng.normal(size=(n_groups, dim))[truth] + spread * rng.normal(size=(n_groups * per, dim))
    return X / np.linalg.norm(X, axis=1, keepdims=True), truth


def test_many_leaves_get_six_to_fifteen_parents_that_follow_the_data():
    X, truth = _leaves(9, 12)                                  # 108 leaves in 9 clear families
    groups = group_leaves(X)
    assert MIN_PARENTS <= len(groups) <= MAX_PARENTS and len(groups) == 9
    assert all(len(set(truth[g])) == 1 for g in groups)        # no parent lumps two families together
    assert min(coherence(X, groups)) > 0.9
    assert group_leaves(X) == groups                           # deterministic


def test_few_leaves_keep_about_three_per_parent():
    assert n_parents_range(12) == (4, 4) and n_parents_range(200) == (MIN_PARENTS, MAX_PARENTS)
    X, _ = _leaves(4, 3)
    assert 2 <= len(group_leaves(X)) <= 4 and group_leaves(X[:3]) == []


def test_a_parent_is_named_only_by_phrases_several_children_use():
    # phrase columns: 0 in every child, 1 in one child only, 2 in two of three children, 3 said once per child
    support = np.array([[30, 40, 10, 1], [25, 0, 12, 1], [20, 0, 0, 1], [0, 50, 50, 0]], dtype=float)
    sizes = np.array([100, 100, 100, 100], dtype=float)
    shared = shared_phrases(support, sizes, [0, 1, 2])
    assert shared.tolist() == [1.0, 0.0, 2 / 3, 0.0]   # the share of the children using it


def test_a_childs_label_names_the_family_when_its_siblings_say_it_more():
    # column 0 "canada": child 0's label, said by 827 of its units and 1,575 of its siblings';
    # column 1 "police": child 1's label, 153 of the family's 174; child 2 has no label column
    support = np.array([[827, 0], [900, 153], [675, 21]], dtype=float)
    assert family_words(support, [0, 1, 2], [0, 1, None]) == [True, False, False]
    assert family_words(support, [0, 1], [0, 1]) == [True, False]   # 900 of 1,727 is still over half
    assert family_words(support, [0], [0]) == [False]               # no siblings, no family word


def test_children_label_names_up_to_three_children_and_counts_the_rest():
    assert children_label(["police"]) == "police"
    assert children_label(["Hillary Clinton", "Margaret Wente"]) == "Hillary Clinton and Margaret Wente"
    assert children_label(["Mike Duffy", "Rob Ford", "Heave Steve"]) == "Mike Duffy, Rob Ford and Heave Steve"
    assert children_label(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more"
