"""Guided themes, grounded labels, summaries, hierarchy, stability and periods (fast, synthetic vectors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commentminer.aggregate import theme_periods
from commentminer.errors import ConfigError
from commentminer.ids import sha256_text
from commentminer.themes import stage
from commentminer.themes.guided import (
    GuidedTheme, assign_guided, guided_similarity, lexical_matches, load_guided,
)
from commentminer.themes.hierarchy import group_leaves
from commentminer.themes.labels import describe_themes, phrase_occurs
from commentminer.themes.summary import pick_summary
from commentminer.themes.tracking import Known, change_log, match_ids
from test_themes import blob_corpus
from test_themes_stage import MODEL_ID, write_corpus


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


# -- guided themes ------------------------------------------------------------------------------------------
def test_load_guided_reads_names_and_seeds(tmp_path):
    path = tmp_path / "themes.toml"
    path.write_text('[[theme]]\nname = "Lip service"\nseeds = ["lip service", "token gesture"]\n')
    assert load_guided(path) == [GuidedTheme("Lip service", ("lip service", "token gesture"))]
    assert load_guided("") == [] and load_guided(None) == []
    # guided themes are opt-in: a file asked for but absent is an error naming it, never silently none
    with pytest.raises(ConfigError, match="missing.toml.*not found"):
        load_guided(tmp_path / "missing.toml")
    path.write_text("")
    assert load_guided(path) == []


@pytest.mark.parametrize("text, problem", [
    ("[[theme]\n", "not valid TOML"),
    ('[[theme]]\nname = "A"\n', "'seeds' must be"),
    ('[[theme]]\nseeds = ["x"]\n', "'name' must be"),
    ('[[theme]]\nname = "A"\nseeds = ["x"]\ncolour = 1\n', "unknown key"),
    ('[[theme]]\nname = "A"\nseeds = ["x"]\n[[theme]]\nname = "A"\nseeds = ["y"]\n', "duplicate"),
])
def test_invalid_guided_file_is_a_config_error_naming_file_and_problem(tmp_path, text, problem):
    path = tmp_path / "bad_themes.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"bad_themes.toml.*{problem}"):
        load_guided(path)


def test_guided_assignment_follows_threshold_and_best_theme():
    seeds = [np.stack([_unit([1, 0, 0, 0]), _unit([1, 1, 0, 0])]), np.stack([_unit([0, 0, 1, 0])])]
    units = np.stack([_unit([1, 0.05, 0, 0]), _unit([0, 0, 1, 0.2]), _unit([0, 0, 0, 1]), _unit([1, 0, 1, 0])])
    sims = guided_similarity(units, seeds, top_k=1)
    assigned, score = assign_guided(sims, threshold=0.9)
    assert assigned.tolist() == [0, 1, -1, -1]            # the last is equally far from both: below threshold
    assigned, _ = assign_guided(sims, threshold=0.5)
    assert assigned.tolist() == [0, 1, -1, 0]              # lower threshold: joins the first (tie -> first)
    assert np.all(score <= 1.0 + 1e-9)
    # mean of the top-2 seeds is stricter than the single closest seed
    assert guided_similarity(units, seeds, top_k=2)[0, 0] < sims[0, 0]


def test_lexical_seed_match_adds_the_bonus():
    themes = [GuidedTheme("Lip service", ("lip service",)), GuidedTheme("Votes", ("voting right",))]
    texts = ["They paid “lip service” to us.", "We want Voting Rights on boards.", "Nothing here."]
    lexical = lexical_matches(texts, themes)
    assert lexical.tolist() == [[True, False], [False, True], [False, False]]
    sims = guided_similarity(np.eye(3, 4), [np.eye(1, 4, 3), np.eye(1, 4, 3)], 1, lexical, 0.3)
    assert sims[0, 0] == pytest.approx(0.3) and sims[2].tolist() == [0.0, 0.0]


# -- labels ------------------------------------------------------------------------------------------------
SMALL = [
    "One delegate accused the ministry of paying “lip service” to the managers.",
    "The managers were not consulted about the reform of the boards.",
    "Nobody consulted the managers before the reform was announced.",
    "Funding for the practice budget was cut again this year.",
    "The practice budget cannot absorb another funding cut.",
    "Budget cuts and funding gaps dominate the practice accounts.",
]


def test_single_occurrence_distinctive_phrase_can_label_a_small_theme():
    described = describe_themes(SMALL, np.array([0, 0, 0, 1, 1, 1]), seed_phrases={0: ["lip service"]})
    assert described[0][0] == "lip service"                   # said once, quoted, a seed phrase: it wins
    assert "lip service" in described[0][1]
    plain = describe_themes(SMALL, np.array([0, 0, 0, 1, 1, 1]))
    assert "lip service" in plain[0][1]                        # without seeds still a keyword (quoted, distinctive)


def test_labels_occur_in_members_and_are_distinct(blobs_fit):
    texts, assignments, described = blobs_fit
    labels = [label for label, _ in described.values()]
    assert len(set(labels)) == len(labels)
    for theme, (label, keywords) in described.items():
        members = [t for t, a in zip(texts, assignments) if a == theme]
        assert any(phrase_occurs(label, t) for t in members), label
        assert 1 <= len(label.split()) <= 4 and keywords[0] == label


@pytest.fixture(scope="module")
def blobs_fit():
    texts, _, truth = blob_corpus()
    return texts, truth, describe_themes(texts, truth)


def test_fixed_labels_are_kept_while_grounded():
    assignments = np.array([0, 0, 0, 1, 1, 1])
    kept = describe_themes(SMALL, assignments, fixed_labels={0: "reform", 1: "lip service"})
    assert kept[0][0] == "reform"              # still occurs in theme 0: kept
    assert kept[1][0] != "lip service"         # not in theme 1's members: replaced


# -- summaries and hierarchy ------------------------------------------------------------------------------------
def test_summary_sentences_are_members_two_or_three_and_cover_the_theme():
    texts, vecs, truth = blob_corpus()
    members = np.flatnonzero(truth == 0)
    chosen = pick_summary(vecs, members, texts, 3)
    assert len(chosen) == 3 and set(chosen) <= set(members.tolist()) and len(set(chosen)) == 3
    assert len(pick_summary(vecs, members[:4], texts, 3)) == 2
    assert pick_summary(vecs, members[:1], texts, 3) == [members[0]]
    assert pick_summary(vecs, members, texts, 3) == chosen     # deterministic


def test_group_leaves_gives_a_consistent_tree():
    cents = np.stack([_unit(v) for v in ([1, 0.1, 0], [1, 0, 0.1], [0, 1, 0.1], [0.1, 1, 0], [0, 0, 1], [0, 0.1, 1])])
    groups = group_leaves(cents, fanout=2)
    assert sorted(map(sorted, groups)) == [[0, 1], [2, 3], [4, 5]]
    assert group_leaves(cents[:3]) == []


# -- stability -------------------------------------------------------------------------------------------------
def test_match_ids_keeps_ids_and_numbers_new_themes():
    known = [Known(0, "discovered", None, "a", _unit([1, 0, 0])), Known(1, "discovered", None, "b", _unit([0, 1, 0])),
             Known(2, "guided", "guided:G", "g", _unit([0, 0, 1]))]
    cents = np.stack([_unit([0, 1, 0.05]), _unit([0.3, 0.3, 0.3]), _unit([1, 0.05, 0]), _unit([0, 0.2, 1])])
    ids, sims = match_ids(cents, ["discovered", "discovered", "discovered", "guided"], [None, None, None, "guided:G"],
                          known, 0.8)
    assert ids == [1, 3, 0, 2] and sims[1] is None and sims[0] > 0.99


def test_change_log_records_new_merged_split_gone():
    a, b, c, d = _unit([1, 0, 0, 0]), _unit([0, 1, 0, 0]), _unit([0, 0, 1, 0]), _unit([0, 0, 0, 1])
    prev = [Known(0, "discovered", None, "A", a), Known(1, "discovered", None, "B", _unit(a + 0.1 * b)),
            Known(2, "discovered", None, "C", c), Known(3, "discovered", None, "D", d)]
    cur = [Known(0, "discovered", None, "A", a), Known(2, "discovered", None, "C", _unit(c + 0.1 * b)),
           Known(5, "discovered", None, "C2", _unit(c + 0.2 * a)), Known(6, "discovered", None, "E", b)]
    changes = {ch["change"]: ch for ch in change_log(prev, cur, 0.9)}
    assert changes["new"]["to_ids"] == [6]
    assert changes["split"]["from_ids"] == [2] and changes["split"]["to_ids"] == [2, 5]
    assert changes["merged"]["from_ids"] == [0, 1] and changes["merged"]["to_ids"] == [0]
    assert changes["gone"]["from_ids"] == [3]
    assert change_log([], cur, 0.9) == []


GUIDED_TOML = '[[theme]]\nname = "Money worries"\nseeds = ["budget", "funding"]\n'


def _write_seeds(store, seeds, vector):
    store.upsert("embeddings", pd.DataFrame({
        "text_hash": [sha256_text(s) for s in seeds], "model_id": MODEL_ID, "dim": len(vector),
        "vector": [list(map(float, vector))] * len(seeds)}))


@pytest.fixture
def guided_store(ctx, store, tmp_path):
    texts, vecs, truth = blob_corpus(n_per_blob=20)
    write_corpus(store, texts, vecs)
    path = tmp_path / "themes.toml"
    path.write_text(GUIDED_TOML)
    ctx.config.themes.guided_path = str(path)
    ctx.config.themes.small_corpus_units_per_theme = 20
    _write_seeds(store, ["budget", "funding"], _unit(vecs[truth == 2].mean(axis=0)))  # the "money" blob
    return texts, vecs, truth


def test_stage_assigns_guided_units_then_discovers_the_rest(ctx, store, guided_store):
    texts, vecs, truth = guided_store
    stats = stage.run(ctx)
    assert stats["guided_themes"] == 1 and stats["guided_units"] == 20 and stats["discovered_themes"] == 2
    themes = store.read("themes", "run_id = ?", ["run_test"])
    guided = themes[themes.kind == "guided"].iloc[0]
    assert guided["name"] == "Money worries" and guided.n_units == 20
    ut = store.read("unit_themes", "run_id = ?", ["run_test"]).sort_values("unit_id")
    assert set(ut.theme_id[truth == 2]) == {guided.theme_id}
    assert len(ut) == 60                                      # every unit accounted for
    leaf = themes[themes.kind != "parent"]
    assert leaf.n_units.sum() == 60
    for row in leaf.itertuples():
        members = set(ut.unit_id[ut.theme_id == row.theme_id])
        assert 2 <= len(row.summary_unit_ids) <= 3 and set(row.summary_unit_ids) <= members


def test_units_that_fit_nothing_go_to_other_not_forced(ctx, store, guided_store):
    ctx.config.themes.other_threshold = 0.99
    ctx.config.themes.other_spread = 0.0      # the fixed cut alone: every discovered unit is below it
    stats = stage.run(ctx)
    themes = store.read("themes", "run_id = ?", ["run_test"])
    other = themes[themes.theme_id == -1].iloc[0]
    assert other.kind == "other" and other.n_units == 40 and stats["outlier_share"] == pytest.approx(40 / 60)


def test_stage_is_stable_across_runs_and_logs_new_themes(ctx, store, guided_store):
    texts, vecs, truth = guided_store
    stage.run(ctx)
    first = store.read("themes", "run_id = ?", ["run_test"]).sort_values("theme_id")
    ctx.run_id = "run_test2"
    stats = stage.run(ctx)
    second = store.read("themes", "run_id = ?", ["run_test2"]).sort_values("theme_id")
    assert first[["theme_id", "label", "kind", "n_units"]].values.tolist() == \
        second[["theme_id", "label", "kind", "n_units"]].values.tolist()
    assert stats["changes"] == {"new": 0, "merged": 0, "split": 0, "gone": 0}
    # a few new units far from every theme: matched themes keep their ids, the new cluster is logged as new
    rng = np.random.default_rng(5)
    centre = rng.normal(size=vecs.shape[1])
    extra = np.stack([_unit(centre + 0.3 * rng.normal(size=vecs.shape[1])) for _ in range(12)]).astype(np.float32)
    extra_texts = [f"completely different topic about parking permits number {i}" for i in range(12)]
    units = store.read("units")
    new_units = pd.DataFrame([{**units.iloc[0].to_dict(), "unit_id": f"v{i:04d}", "text": t, "kind": "article",
                               "comment_id": None, "text_hash": sha256_text(f"new:{t}")} for i, t in enumerate(extra_texts)])
    store.upsert("units", new_units)
    store.upsert("embeddings", pd.DataFrame({"text_hash": new_units.text_hash, "model_id": MODEL_ID,
                                             "dim": vecs.shape[1], "vector": [v.tolist() for v in extra]}))
    ctx.run_id = "run_test3"
    ctx.config.themes.refit = True  # 12 new units would be placed without a re-fit (see test_themes_incremental)
    stats = stage.run(ctx)
    third = store.read("themes", "run_id = ?", ["run_test3"])
    leaf3 = third[third.kind.isin(["guided", "discovered"])]
    assert set(first[first.kind.isin(["guided", "discovered"])].theme_id) < set(leaf3.theme_id)
    for row in first[first.kind.isin(["guided", "discovered"])].itertuples():
        assert third.set_index("theme_id").loc[row.theme_id, "label"] == row.label
    changes = store.read("theme_changes", "run_id = ?", ["run_test3"])
    assert "new" in set(changes.change) and changes.previous_run_id.iloc[0] == "run_test2"
    assert store.count("theme_registry") >= len(leaf3)


def test_periods_count_units_by_comment_else_article_date(ctx, store, guided_store):
    stage.run(ctx)
    store.upsert("articles", pd.DataFrame([{"article_id": "a1", "title": "T", "published": pd.Timestamp("2011-09-02")}]))
    periods = theme_periods(store, "run_test", "quarter")
    assert set(periods.period) == {"2011-Q3"}
    leaf = store.read("themes", "run_id = ? AND kind <> 'parent'", ["run_test"])
    merged = periods.merge(leaf[["theme_id", "n_units"]], on="theme_id", suffixes=("", "_all"))
    assert (merged.n_units == merged.n_units_all).all()
    assert periods[periods.theme_id.isin(leaf.theme_id)].share_units.sum() == pytest.approx(1.0)
    assert set(theme_periods(store, "run_test", "month").period) == {"2011-09"}
