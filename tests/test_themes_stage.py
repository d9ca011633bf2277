"""themes stage against the in-memory store: reads units + embeddings + comments, writes themes/unit_themes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from commentminer.config import ThemesConfig
import pytest

from commentminer.errors import CommentminerError
from commentminer.ids import sha256_text
from commentminer.themes import stage
from commentminer.themes.hierarchy import children_label
from test_themes import blob_corpus

MODEL_ID = "test-embedder"


def write_corpus(store, texts, vecs, model_id=MODEL_ID, embed=True):
    """Units (every 3rd an article sentence, others comment sentences, 2 sentences per comment), comments with
    a commenter per comment pair, and embeddings keyed by text hash."""
    units, comments = [], {}
    for i, text in enumerate(texts):
        kind = "article" if i % 3 == 0 else "comment"
        comment_id = f"c{i // 2:03d}" if kind == "comment" else None
        if comment_id and comment_id not in comments:
            n = len(comments)
            comments[comment_id] = {
                "comment_id": comment_id, "article_id": "a1", "position": n, "text": text,
                "name": None if n % 4 == 0 else f"Name {n // 2}", "place": "Leeds", "withheld": n % 4 == 0,
                "signature_raw": None, "commenter_id": f"p{n // 2}", "published": None,
            }
        units.append({
            "unit_id": f"u{i:04d}", "kind": kind, "article_id": "a1", "comment_id": comment_id, "position": i,
            "text": text, "char_start": 0, "char_end": len(text), "text_hash": sha256_text(f"{i}:{text}"),
            "speaker": None, "place": None, "segmenter_id": "test",
        })
    store.upsert("units", pd.DataFrame(units))
    store.upsert("comments", pd.DataFrame(list(comments.values())))
    if embed:
        store.upsert("embeddings", pd.DataFrame({
            "text_hash": [u["text_hash"] for u in units], "model_id": model_id, "dim": vecs.shape[1],
            "vector": [v.astype(float).tolist() for v in vecs],
        }))
    return pd.DataFrame(units)


@pytest.fixture(autouse=True)
def no_guided_themes(ctx):
    """These tests are about discovered themes; guided ones (with seed vectors) are tested in test_themes_guided."""
    ctx.config.themes.guided_path = ""


@pytest.fixture
def corpus():
    return blob_corpus(n_per_blob=20)


def test_stage_writes_consistent_rows(ctx, store, corpus):
    texts, vecs, _ = corpus
    units = write_corpus(store, texts, vecs)
    ctx.config.themes.small_corpus_units_per_theme = 20
    stats = stage.run(ctx)
    assert stats["units"] == 60 and stats["themes"] == 3 and stats["outlier_share"] == 0.0
    assert stats["strategy"] == "small:ward" and stats["embedding_model_id"] == MODEL_ID
    assert stats["other_share"] == {"leaves": 0.0, "parents": None}     # 3 leaves: too few for a parent level

    themes = store.read("themes", "run_id = ?", ["run_test"])
    ut = store.read("unit_themes", "run_id = ?", ["run_test"])
    assert len(ut) == 60 and set(ut.unit_id) == set(units.unit_id)
    assert sorted(themes.theme_id) == [0, 1, 2] and set(themes.kind) == {"discovered"}
    assert themes.label.is_unique and all(len(k) > 0 for k in themes.keywords)
    merged = ut.merge(units, on="unit_id")
    for row in themes.itertuples():
        members = merged[merged.theme_id == row.theme_id]
        assert row.n_units == len(members)
        assert row.n_comments == members.comment_id.dropna().nunique()
        commenters = store.query(
            "SELECT count(DISTINCT c.commenter_id) FROM comments c WHERE c.comment_id IN "
            f"({', '.join(repr(c) for c in members.comment_id.dropna().unique()) or 'NULL'})"
        ).iloc[0, 0]
        assert row.n_commenters == commenters
        ranks = members.quote_rank.dropna().astype(int).sort_values().tolist()
        assert ranks == list(range(1, min(5, len(members)) + 1))
        quoted = members[members.quote_rank.notna()]
        assert set(quoted.kind) == {"comment"}  # reader voices preferred over article sentences
    assert ut.probability.between(0, 1).all()


def test_stage_rerun_replaces_rows_and_is_deterministic(ctx, store, corpus):
    texts, vecs, _ = corpus
    write_corpus(store, texts, vecs)
    stage.run(ctx)
    first = store.read("unit_themes", "run_id = ?", ["run_test"]).sort_values("unit_id").reset_index(drop=True)
    labels = store.read("themes").sort_values("theme_id").label.tolist()
    ctx.config.themes.small_corpus_units_per_theme = 30  # fewer themes: stale rows must disappear
    stage.run(ctx)
    assert store.count("themes") == 2
    ctx.config.themes.small_corpus_units_per_theme = ThemesConfig().small_corpus_units_per_theme  # the default again
    stage.run(ctx)
    again = store.read("unit_themes", "run_id = ?", ["run_test"]).sort_values("unit_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again)
    assert store.read("themes").sort_values("theme_id").label.tolist() == labels


def test_stage_without_embeddings_says_run_embed(ctx, store, corpus):
    texts, vecs, _ = corpus
    write_corpus(store, texts, vecs, embed=False)
    with pytest.raises(CommentminerError, match="embed stage"):
        stage.run(ctx)


def test_stage_with_partial_embeddings_fails_clearly(ctx, store, corpus):
    texts, vecs, _ = corpus
    units = write_corpus(store, texts, vecs)
    store.delete("embeddings", "text_hash = ?", [units.text_hash[0]])
    with pytest.raises(CommentminerError, match="1 of 60 units have no embedding"):
        stage.run(ctx)


def test_stage_with_two_embedding_models_needs_a_choice(ctx, store, corpus):
    texts, vecs, _ = corpus
    write_corpus(store, texts, vecs)
    write_corpus(store, texts, vecs[::-1].copy(), model_id="other-embedder")
    with pytest.raises(CommentminerError, match="several models"):
        stage.run(ctx)
    assert stage.run(ctx, model_id=MODEL_ID)["embedding_model_id"] == MODEL_ID


def test_stage_on_empty_store(ctx):
    assert stage.run(ctx) == {"units": 0, "themes": 0, "outlier_share": 0.0, "strategy": "empty"}


def test_stage_honours_unit_kinds(ctx, store, corpus):
    texts, vecs, _ = corpus
    write_corpus(store, texts, vecs)
    ctx.config.themes.unit_kinds = ["comment"]
    assert stage.run(ctx)["units"] == 40


def test_stage_with_two_embedding_models_takes_the_configured_embedders(ctx, store, corpus, monkeypatch):
    """`run --fast` after `run` leaves fp32 and int8 vectors side by side: the configured precision's are used."""
    from commentminer.embed import stage as embed_stage

    class Configured:
        model_id = "other-embedder"

    texts, vecs, _ = corpus
    write_corpus(store, texts, vecs)
    write_corpus(store, texts, vecs[::-1].copy(), model_id="other-embedder")
    monkeypatch.setattr(embed_stage, "build_embedder", lambda ctx, branch_weights=None: Configured())
    assert stage.run(ctx)["embedding_model_id"] == "other-embedder"


def _families_corpus(per: int = 20, dim: int = 48, seed: int = 3, unique_fillers: bool = False):
    """Two families of three tight blobs. In family A every unit of blob 0 says "canada" and half the units of
    its siblings do too, so "canada" labels blob 0 and is the family's word more than blob 0's. With
    `unique_fillers` no filler word is said twice, so family B's blobs share no phrase at all."""
    rng = np.random.default_rng(seed)
    families = rng.normal(size=(2, dim))
    topics = ["canada", "pipeline", "healthcare", "budget", "football", "weather"]
    side = [f"w{j}x" for j in range(60)]   # filler words: no phrase but the topic repeats in a blob
    texts, vecs = [], []
    for blob in range(6):
        centre = families[blob // 3] + 0.35 * rng.normal(size=dim)
        for i in range(per):
            fillers = [f"u{blob}y{i}y{k}z" for k in range(2)] if unique_fillers else rng.choice(side, 2, replace=False)
            words = [topics[blob], *fillers]
            if blob in (1, 2) and i % 2 == 0:
                words.append("canada")
            rng.shuffle(words)
            texts.append(". ".join(words) + ".")
            vecs.append(centre + 0.1 * rng.normal(size=dim))
    vecs = np.asarray(vecs, np.float32)
    return texts, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_a_parent_takes_its_familys_word_and_the_child_is_renamed(ctx, store):
    texts, vecs = _families_corpus()
    write_corpus(store, texts, vecs)
    ctx.config.themes.small_corpus_units_per_theme = 20
    stage.run(ctx)
    themes = store.read("themes", "run_id = ?", ["run_test"])
    parents = themes[themes.kind == "parent"]
    family = parents[parents.label.str.lower() == "canada"]
    assert len(family) == 1, themes[["label", "kind", "parent_id"]].values.tolist()
    children = themes[themes.parent_id == family.theme_id.iloc[0]]
    assert len(children) == 3 and "canada" not in set(children.label.str.lower())
    renamed = children[children.keywords.map(lambda k: "canada" in [w.lower() for w in k[1:]])]
    assert len(renamed) >= 1                                         # its old label is still among its keywords
    named = themes[themes.kind != "other"].label.str.lower()
    assert named.is_unique, named.tolist()


def test_a_parent_whose_children_share_no_phrase_is_named_by_them(ctx, store):
    texts, vecs = _families_corpus(unique_fillers=True)
    write_corpus(store, texts, vecs)
    ctx.config.themes.small_corpus_units_per_theme = 20
    stage.run(ctx)
    themes = store.read("themes", "run_id = ?", ["run_test"])
    parents = themes[themes.kind == "parent"].set_index("label")
    assert "canada" in {p.lower() for p in parents.index}            # a shared word still names its family
    other = parents.loc[[p for p in parents.index if p.lower() != "canada"]]
    assert len(other) == 1, parents.index.tolist()
    children = themes[themes.parent_id == other.theme_id.iloc[0]].sort_values("theme_id")
    assert sorted(children.label.str.lower()) == ["budget", "football", "weather"]
    # equal sizes: the children in id order, all three named
    assert other.index[0] == children_label(children.label.tolist())
