import pandas as pd
import pytest

from commentminer.segment import stage
from commentminer.segment.spacy_segmenter import RuleSentencizer, SpacySegmenter, merge_open_brackets, merge_short


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
