"""Theme model, labels and quotes on synthetic embeddings (fast), plus the slow large-corpus path."""

from __future__ import annotations

import numpy as np
import pytest

from commentminer.themes.bertopic_model import BertopicThemeModel
from commentminer.themes.clustering import merge_small_clusters, n_clusters_for
from commentminer.themes.labels import describe_themes
from commentminer.themes.terms import PhraseAnalyzer, term_statistics
from commentminer.themes.wordforms import phrase_forms
from commentminer.themes.quotes import NEAR_DUPLICATE, pick_quotes, quotes_by_theme, unit_priority

DIM = 384
VOCABS = {
    "votes": ["voting rights", "seat", "vote", "board member", "election", "constitution"],
    "lip": ["lip service", "consultation", "listening", "token gesture", "ignored", "rhetoric"],
    "money": ["budget", "funding", "salaries", "savings", "income", "accounts"],
}
FILLERS = ["the practice managers said that", "we think the", "it is clear that our", "in our area the"]


def blob_corpus(n_per_blob: int = 20, seed: int = 0, spread: float = 0.5):
    """3 well-separated Gaussian blobs on the unit sphere; blob b's texts use only VOCABS[b] (+ shared filler).

    Every "lip" text contains "lip service" and every text contains "practice managers" (a corpus-wide phrase
    that must never become a label).
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(VOCABS), DIM))
    texts, vecs, truth = [], [], []
    for b, (name, vocab) in enumerate(VOCABS.items()):
        for i in range(n_per_blob):
            words = list(rng.choice(vocab[1:], size=2, replace=False))
            if name == "lip" or i % 2 == 0:
                words.insert(int(rng.integers(0, 3)), vocab[0])
            texts.append(f"{FILLERS[i % len(FILLERS)]} practice managers {' and '.join(words)}.")
            vecs.append(centres[b] + spread * rng.normal(size=DIM))  # member-member cosine about 0.8
            truth.append(b)
    vecs = np.asarray(vecs, dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return texts, vecs, np.asarray(truth)


def _purity_map(assignments: np.ndarray, truth: np.ndarray) -> dict[int, int]:
    """theme -> the single true blob of its members (asserts purity)."""
    out = {}
    for t in np.unique(assignments):
        blobs = set(truth[assignments == t].tolist())
        assert len(blobs) == 1, f"theme {t} mixes blobs {blobs}"
        out[int(t)] = blobs.pop()
    return out


@pytest.fixture(scope="module")
def blobs():
    return blob_corpus()


@pytest.fixture(scope="module")
def blob_fit(blobs):
    texts, vecs, _ = blobs
    return BertopicThemeModel(seed=7, units_per_theme=20).fit(texts, vecs)


def test_small_corpus_recovers_blobs_and_assigns_every_unit(blobs, blob_fit):
    _, _, truth = blobs
    assert blob_fit.strategy == "small:ward"
    assert blob_fit.details["outlier_share"] == 0.0
    assert sorted(set(blob_fit.assignments.tolist())) == [0, 1, 2]
    assert sorted(_purity_map(blob_fit.assignments, truth).values()) == [0, 1, 2]
    assert np.all((blob_fit.probabilities > 0) & (blob_fit.probabilities <= 1))


def test_labels_come_from_the_right_vocabulary_and_are_distinct(blobs, blob_fit):
    _, _, truth = blobs
    blob_of = _purity_map(blob_fit.assignments, truth)
    names = list(VOCABS)
    labels = {t.theme_id: t.label for t in blob_fit.themes}
    assert len(set(labels.values())) == len(labels)
    for theme in blob_fit.themes:
        vocab_words = " ".join(VOCABS[names[blob_of[theme.theme_id]]]).split()
        assert all(w in vocab_words for w in theme.label.split()), (theme.label, names[blob_of[theme.theme_id]])
        assert "practice managers" != theme.label
        assert 1 <= len(theme.label.split()) <= 3
        assert 0 < len(theme.keywords) <= 10 and theme.keywords[0] == theme.label


def test_multi_word_phrase_wins_the_label(blobs, blob_fit):
    _, _, truth = blobs
    blob_of = _purity_map(blob_fit.assignments, truth)
    lip = [t for t in blob_fit.themes if blob_of[t.theme_id] == list(VOCABS).index("lip")][0]
    assert lip.label == "lip service"


def test_fit_is_deterministic(blobs, blob_fit):
    texts, vecs, _ = blobs
    again = BertopicThemeModel(seed=7, units_per_theme=20).fit(texts, vecs)
    assert np.array_equal(again.assignments, blob_fit.assignments)
    assert np.allclose(again.probabilities, blob_fit.probabilities)
    assert [(t.theme_id, t.label, t.keywords) for t in again.themes] == [
        (t.theme_id, t.label, t.keywords) for t in blob_fit.themes
    ]


def test_default_units_per_theme_splits_blobs_into_pure_themes(blobs):
    texts, vecs, truth = blobs
    fit = BertopicThemeModel(seed=7).fit(texts, vecs)  # 60 units / 20 per theme -> 3 themes
    assert fit.details["target_themes"] == 3
    _purity_map(fit.assignments, truth)
    labels = [t.label for t in fit.themes]
    assert len(set(labels)) == len(labels)


def test_bertopic_fit_uses_no_embedding_model(blobs):
    texts, vecs, _ = blobs
    model = BertopicThemeModel(units_per_theme=20)
    model.fit(texts, vecs)
    assert model.topic_model_ is not None and model.topic_model_.embedding_model is None
    assert model.topic_model_.custom_labels_ is not None


@pytest.mark.parametrize("n", [0, 1, 3, 5])
def test_tiny_corpora_do_not_crash(blobs, n):
    texts, vecs, _ = blobs
    fit = BertopicThemeModel().fit(texts[:n], vecs[:n])
    assert len(fit.assignments) == n == len(fit.probabilities)
    if n == 0:
        assert fit.strategy == "empty" and fit.themes == []
    else:
        assert set(fit.assignments.tolist()) == {0}
        assert len(fit.themes) == 1 and fit.themes[0].label


def test_texts_without_any_phrase_still_fit():
    vecs = np.eye(8, DIM, dtype=np.float32)
    fit = BertopicThemeModel(units_per_theme=2).fit(["the and of"] * 8, vecs)
    assert len(fit.assignments) == 8
    assert all(t.label.startswith("theme ") for t in fit.themes)


def test_model_id_names_version_and_params():
    model_id = BertopicThemeModel(seed=3, min_topic_size=20).model_id
    assert model_id.startswith("bertopic.v1:") and "seed=3" in model_id and "mts=20" in model_id


def test_phrase_analyzer_keeps_natural_phrases():
    phrases = PhraseAnalyzer((1, 3))("They paid lip service to voting rights on the CCG's board.")
    assert "lip service" in phrases and "voting rights" in phrases and "ccg board" in phrases
    assert "rights on the" not in phrases and "service to" not in phrases  # no stop word at an edge


def test_phrase_analyzer_keeps_accented_words_whole():
    phrases = PhraseAnalyzer((1, 2))("Voters in Québec and Montréal; Zoë’s view on covid-19.")
    assert "québec" in phrases and "montréal" in phrases and "zoë view" in phrases
    assert not any(p in phrases for p in ("qu", "bec", "qu bec", "montr"))


def test_corpus_wide_phrase_is_not_a_label():
    texts = [f"practice managers feel {w} again" for w in ["excluded"] * 5 + ["valued"] * 5]
    described = describe_themes(texts, np.array([0] * 5 + [1] * 5), label_max_df=0.2)
    assert described[0][0] == "excluded" and described[1][0] == "valued"
    # Keywords are contrastive too: a phrase spread evenly over both themes says nothing about either.
    assert not any("managers" in k for k in described[0][1] + described[1][1])


def test_labels_are_written_the_way_the_texts_write_them():
    texts = ["Our CCG boards ignore us.", "The CCG boards never listen.", "Why do CCG boards meet in secret?",
             "We wrote to the Department of Health.", "Ask the Department of Health.",
             "Blame the Department of Health.",
             "Boards are fine.", "the boards met.", "our boards and public health"]
    assignments = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    described = describe_themes(texts, assignments, label_max_df=0.9)
    # an acronym keeps its capitals; a name keeps its form even where "health" is otherwise lower-case
    assert described[0][0] == "CCG boards" and described[1][0] == "Department of Health"
    # a capital at the start of a sentence ("Boards are fine") does not make a word a name
    shown = [described[2][0], *described[2][1]]
    assert any("boards" in k for k in shown) and all(k == k.lower() for k in shown)
    # a label shown as written is still kept as the fixed label of a matched theme next run
    again = describe_themes(texts, assignments, label_max_df=0.9, fixed_labels={0: "CCG"})
    assert again[0][0] == "CCG"


def test_phrase_forms_prefer_the_common_form_and_accept_names_opening_a_sentence():
    texts = ["Caroline Kerby said so.", "Ask Lip Service Ltd.", "it is lip service", "pure lip service here",
             "lip service again, and Lip Service"]
    forms = phrase_forms(["caroline kerby", "lip service", "nowhere"], texts, str.upper)
    assert forms == {"caroline kerby": "Caroline Kerby", "lip service": "lip service", "nowhere": "NOWHERE"}
    # a possessive is not part of the form, and a curly apostrophe matches the phrase's straight one
    forms = phrase_forms(["ccg board", "o'neill report"], ["the CCG’s board met", "we read the O’Neill report"], str)
    assert forms == {"ccg board": "CCG board", "o'neill report": "O’Neill report"}


def test_avoid_labels_bars_a_phrase_from_one_theme_only():
    texts = ["funding cuts hurt", "funding cuts again", "more funding cuts", "staff morale low", "staff morale",
             "staff morale falls"]
    assignments = np.array([0, 0, 0, 1, 1, 1])
    assert describe_themes(texts, assignments, label_max_df=0.9)[0][0] == "funding cuts"
    barred = describe_themes(texts, assignments, label_max_df=0.9, avoid_labels={0: ["Funding cuts"]},
                             fixed_labels={0: "funding cuts"})
    assert barred[0][0] != "funding cuts" and barred[0][0] in " ".join(texts[:3])
    assert barred[1][0] == "staff morale"


def test_a_kept_label_must_still_describe_its_theme():
    """A label from an earlier run stays while it is among the theme's best phrases, not merely somewhere in it."""
    texts = ["funding cuts hurt", "funding cuts again", "more funding cuts", "staff morale too",
             "staff morale low", "staff morale", "staff morale falls"]
    assignments = np.array([0, 0, 0, 0, 1, 1, 1])
    kept = describe_themes(texts, assignments, label_max_df=0.9, fixed_labels={0: "cuts"})
    assert kept[0][0] == "cuts"                                   # still one of theme 0's best phrases
    stale = describe_themes(texts, assignments, label_max_df=0.9, fixed_labels={0: "staff morale"})
    assert stale[0][0] == "funding cuts"                          # said once there, theme 1's phrase: renamed


def _fake_tagger(verbs: set[str]):
    """Tags the words in `verbs` VERB and everything else NOUN; records what it was asked to tag."""
    asked: list[str] = []

    def tag(texts):
        asked.extend(texts)
        return [[(w, "VERB" if w in verbs else "NOUN") for w in t.lower().split()] for t in texts]
    return tag, asked


def test_a_lone_verb_is_not_a_label_when_a_noun_phrase_is_left():
    # "deliver", not "hope": "hope" is a generic word now (issue 13), which never labels a theme at all
    texts = [f"the {w} {v}" for w in ("funding", "staffing") for v in ("rises", "falls", "stalls")] + \
            ["we deliver so", "we deliver for better pay", "deliver and better pay"]
    assignments = np.array([1] * 3 + [2] * 3 + [0] * 3)
    assert describe_themes(texts, assignments, label_max_df=0.9)[0][0] == "deliver"     # without a tagger
    tagger, asked = _fake_tagger({"deliver"})
    described = describe_themes(texts, assignments, label_max_df=0.9, tagger=tagger)
    assert described[0][0] != "deliver" and described[0][0] in " ".join(texts[6:])     # still grounded
    assert "deliver" in described[0][1]                                                # keywords keep it
    assert described[1][0] == "funding" and described[2][0] == "staffing"
    assert len(asked) <= len(texts)                                                    # each text tagged once


def test_a_lone_verb_stays_the_label_when_nothing_else_is_left():
    texts = ["deliver", "deliver!", "deliver."] + ["money"] * 3
    tagger, _ = _fake_tagger({"deliver"})
    described = describe_themes(texts, np.array([0, 0, 0, 1, 1, 1]), label_max_df=0.9, tagger=tagger)
    assert described[0][0] == "deliver"


def test_generic_words_never_label_and_phrases_beat_single_words():
    """Issue 13: "shame", "article", "people" never label a theme; a noun phrase the members share ("carbon
    tax") labels it rather than its single best word ("tax"), unless that word is a name covering the theme."""
    texts = (["what a shame", "shame on them", "a shame really", "the article is a shame"]
             + ["the carbon tax is a cash grab", "carbon tax again", "tax on carbon", "no new tax",
                "the carbon tax hurts", "tax tax tax"]
             + ["the pipeline leaks", "pipelines and oil", "oil pipeline now", "oil spill"])
    assignments = np.array([0] * 4 + [1] * 6 + [2] * 4)
    described = describe_themes(texts, assignments, label_max_df=0.9)
    assert described[0][0] == "theme 0"             # nothing but generic words: no label rather than "shame"
    assert described[1][0] == "carbon tax"
    tags = {"harper": "PROPN", "won": "VERB", "lost": "VERB"}
    tagger = lambda batch: [[(w.strip("."), tags.get(w, "NOUN")) for w in t.lower().split()] for t in batch]
    names = ["harper won", "harper again", "harper and the senate", "harper lost the senate vote"] * 2
    named = describe_themes(names + texts[4:10], np.array([0] * 8 + [1] * 6), label_max_df=0.9, tagger=tagger)
    assert named[0][0].lower() == "harper"                          # a proper name in every unit stays alone


def test_a_name_of_several_words_joined_by_and_is_a_phrase_label():
    """"Globe and Mail" is one name: it labels a theme where "Globe" alone covers too little of it to stand alone
    (a proper name covering under NAME_COVER), though "and" is not a noun-phrase joiner ("savings and accounts")."""
    media = (["The Globe and Mail ran it again.", "Why does the Globe and Mail print this?",
              "I cancelled the Globe and Mail.", "Another Globe and Mail headline."]
             + [f"The Globe {w} it." for w in ("printed", "buried", "spun", "hid", "ran", "cut", "sold", "lost")]
             + [f"{a} {w}" for a in ("newspaper", "editorial", "journalism", "reporters")
                for w in ("ink", "line", "tone", "desk", "lives", "dig", "age", "pay", "jobs")])
    other = [f"carbon pricing {w}" for w in ("works", "fails", "again", "now", "here", "there", "today", "still")]
    assignments = np.array([0] * len(media) + [1] * len(other))
    assert describe_themes(media + other, assignments, label_max_df=0.9)[0][0] == "Globe and Mail"
    joined = ["savings and accounts " + w for w in ("grow", "shrink", "vanish")] + ["savings " + w for w in
              ("rates", "plans", "bonds", "pots", "funds", "tips", "goals")] + ["budget " + w for w in ("cuts", "lines")]
    label = describe_themes(joined + other, np.array([0] * len(joined) + [1] * len(other)), label_max_df=0.9)[0][0]
    assert label == "savings"                      # not a name: "and" does not join a label phrase


_ELSEWHERE = [f"carbon pricing {w}" for w in ("works", "fails", "again", "now", "here", "there", "today", "still")]


def _name_tagger(names: set[str]):
    """Tags the words in `names` PROPN and everything else NOUN (texts are lower-case, so only the tags say name)."""
    return lambda batch: [[(w.strip(".,"), "PROPN" if w.strip(".,") in names else "NOUN") for w in t.lower().split()]
                          for t in batch]


def test_a_one_word_name_is_written_in_full_when_the_members_mostly_mean_one_person():
    """"Rob Ford", not "Ford", when the theme's full forms of the name are mostly that one; with two full forms
    as common as each other the word stays alone."""
    tagger = _name_tagger({"rob", "doug", "ford"})
    mayor = ([f"{t} rob ford, {w}." for t, w in zip(("mayor", "so", "then", "yes"), ("spoke", "voted", "lost", "won"))]
             + ["then doug ford, spoke."]
             + [f"so ford, {w}." for w in ("cut", "raised", "froze", "hid", "sold", "spun")])
    assignments = np.array([0] * len(mayor) + [1] * len(_ELSEWHERE))
    assert describe_themes(mayor + _ELSEWHERE, assignments, label_max_df=0.9, tagger=tagger)[0][0] == "rob ford"
    brothers = [f"{t} {n} ford, {w}." for n in ("rob", "doug") for t, w in zip(("mayor", "so", "then"),
                                                                          ("spoke", "voted", "lost"))] + mayor[5:]
    assignments = np.array([0] * len(brothers) + [1] * len(_ELSEWHERE))
    assert describe_themes(brothers + _ELSEWHERE, assignments, label_max_df=0.9, tagger=tagger)[0][0] == "ford"


def test_a_covering_name_gives_way_to_the_phrase_most_of_its_units_make_it_precise():
    """SFU C3: "French" in 55% of a schools leaf, "French immersion" in 50 of its 159 units, the next form of it in 3:
    the leaf is "French immersion". A name whose forms are spread stays alone ("ford" in the Rob/Doug Ford test)."""
    tagger = _name_tagger({"french", "english"})
    schools = ([f"french immersion {w}." for w in ("works", "fails", "grows", "costs")]
               + [f"the french {w} again." for w in ("exam", "class", "teacher", "test", "course", "marks")]
               + ["english and french classes."])
    assignments = np.array([0] * len(schools) + [1] * len(_ELSEWHERE))
    described = describe_themes(schools + _ELSEWHERE, assignments, label_max_df=0.9, tagger=tagger)
    assert described[0][0] == "french immersion"
    spread = schools[2:] + ["french exam marks.", "french exam costs."]            # 2 "immersion", 4 "exam"
    assignments = np.array([0] * len(spread) + [1] * len(_ELSEWHERE))
    assert describe_themes(spread + _ELSEWHERE, assignments, label_max_df=0.9, tagger=tagger)[0][0] == "french"


def test_singular_and_plural_labels_are_one_label():
    from commentminer.themes.labels import singular

    assert [singular(w) for w in ("women", "carbon taxes", "policies", "boss", "virus", "crisis", "jobs", "")] == [
        "woman", "carbon tax", "policy", "boss", "virus", "crisis", "job", ""]
    texts = ["the woman spoke", "a woman again", "that woman there", "woman here"] + _ELSEWHERE
    assignments = np.array([0] * 4 + [1] * len(_ELSEWHERE))
    assert describe_themes(texts, assignments, label_max_df=0.9)[0][0] == "woman"
    assert describe_themes(texts, assignments, label_max_df=0.9, used_labels=["Women"])[0][0] != "woman"


def test_a_first_name_does_not_label_a_theme():
    from commentminer.themes.phrases import first_names

    tagger = _name_tagger({"tom", "flanagan", "mulcair", "hanks"})
    people = [f"{t} tom {s}, {w}." for s in ("flanagan", "mulcair", "hanks")
              for t, w in (("so", "wrote"), ("then", "spoke"))]
    people += ["and tom, ran.", "the pundits wrote columns", "the pundits spoke again", "pundits again"]
    assignments = np.array([0] * len(people) + [1] * len(_ELSEWHERE))
    described = describe_themes(people + _ELSEWHERE, assignments, label_max_df=0.9, tagger=tagger)
    assert described[0][0] not in ("tom", "theme 0")
    stats = term_statistics(people + _ELSEWHERE, assignments, (1, 3))
    stats.proper = np.array([str(p) in {"tom", "flanagan", "mulcair", "hanks"} for p in stats.vocab])
    tom, flanagan = (list(stats.vocab).index(w) for w in ("tom", "flanagan"))
    assert first_names(stats, 0)[tom] and not first_names(stats, 0)[flanagan]    # 6 of Tom's 7 units open a name
    # now 1 of Tom's 2 units in theme 0, and 1 of his 4 in the label sample: Tom is someone here
    alone = ["tom again", "tom spoke"]
    stats = term_statistics(people[5:] + _ELSEWHERE + alone, np.r_[assignments[5:], [1, 1]], (1, 3))
    stats.proper = np.array([str(p) in {"tom", "hanks"} for p in stats.vocab])
    assert not first_names(stats, 0)[list(stats.vocab).index("tom")]


def test_a_name_the_corpus_mostly_writes_before_a_surname_is_a_first_name_in_every_theme():
    """Of the about 415 SFU C3 units saying "Justin", 157 say "Justin Trudeau": a parent over Obama, Trump and the
    Senate, where "Justin" is a sarcastic aside in each child, was named "Justin". A first name that the label
    sample writes before a surname in FIRST_NAME_CORPUS_SHARE of its units labels no theme, even one that writes
    it alone."""
    from commentminer.themes import phrases

    tagger = _name_tagger({"justin", "trudeau"})
    leaders = [f"{w} justin trudeau {v}, the budget deficit, spending plans and pipelines."
               for w in ("so", "then", "and", "now") for v in ("again", "spoke")]
    leaders.append("so justin spoke, budget deficit, spending plans.")               # 8 of Justin's 9 units here
    asides = [f"{w}, like justin." for w in ("golf", "tweets", "lies", "rallies", "budgets", "senate")]
    texts = leaders + asides + _ELSEWHERE
    assignments = np.array([0] * len(leaders) + [1] * len(asides) + [2] * len(_ELSEWHERE))
    stats = term_statistics(texts, assignments, (1, 3))
    stats.proper = np.array([str(p) in {"justin", "trudeau"} for p in stats.vocab])
    justin = list(stats.vocab).index("justin")
    assert 8 / 15 >= phrases.FIRST_NAME_CORPUS_SHARE          # 8 "Justin Trudeau" of the 15 units saying Justin
    assert phrases.first_names(stats, 1)[justin]              # though theme 1 never writes his surname
    assert describe_themes(texts, assignments, label_max_df=0.9, tagger=tagger)[1][0] != "justin"
    rare = term_statistics(texts[8:], assignments[8:], (1, 3))    # 0 of 7: here Justin is a name of its own
    rare.proper = np.array([str(p) in {"justin", "trudeau"} for p in rare.vocab])
    assert not phrases.first_names(rare, 1)[list(rare.vocab).index("justin")]


def test_a_parent_is_not_named_by_a_part_of_a_childs_label():
    texts = ["I met Justin Trudeau today", "so Justin Trudeau spoke", "and Justin Trudeau lost", "then Trudeau again",
             "the budget vote", "a budget today"] + _ELSEWHERE
    assignments = np.array([0] * 6 + [1] * len(_ELSEWHERE))
    assert "trudeau" in describe_themes(texts, assignments, label_max_df=0.9)[0][0].lower()
    barred = describe_themes(texts, assignments, label_max_df=0.9, avoid_labels={0: ["Justin Trudeau"]})
    assert "trudeau" not in barred[0][0].lower()
    # a label used elsewhere in the tree (a leaf under another parent) is barred exactly, for every theme
    plain = describe_themes(texts, assignments, label_max_df=0.9)
    elsewhere = describe_themes(texts, assignments, label_max_df=0.9, used_labels=[plain[1][0].upper()])
    assert elsewhere[1][0] != plain[1][0] and elsewhere[0][0] == plain[0][0]


def test_a_parent_label_is_weighed_by_how_many_children_say_it():
    """`allowed_labels` weights (the share of a parent's children using each phrase, hierarchy.shared_phrases)
    multiply the label scores: a phrase five of six children say beats a slightly better one two of them say."""
    texts = ["bombing again", "bombing today", "bombing now", "more bombing", "bombing", "the war goes on",
             "war is long", "a war"] + _ELSEWHERE
    assignments = np.array([0] * 8 + [1] * len(_ELSEWHERE))
    stats = term_statistics(texts, assignments, (1, 3))
    bombing, war = (list(stats.vocab).index(w) for w in ("bombing", "war"))
    weights = np.zeros(len(stats.vocab))
    assert describe_themes(texts, assignments, label_max_df=0.9)[0][0] == "bombing"
    weights[[bombing, war]] = 1.0
    assert describe_themes(texts, assignments, label_max_df=0.9, allowed_labels={0: weights})[0][0] == "bombing"
    weights[bombing], weights[war] = 2 / 6, 5 / 6
    assert describe_themes(texts, assignments, label_max_df=0.9, allowed_labels={0: weights})[0][0] == "war"
    weights[war] = 0.0   # a phrase of weight 0 is not a label while a weighted one is a candidate
    assert describe_themes(texts, assignments, label_max_df=0.9, allowed_labels={0: weights})[0][0] == "bombing"


def test_spacy_tagger_tags_verbs_and_nouns():
    from commentminer.themes.pos import SpacyTagger

    tagger = SpacyTagger()
    tagged = tagger(["I hope the funding arrives.", "There is little hope of funding."])
    assert ("hope", "VERB") in tagged[0] and ("hope", "NOUN") in tagged[1] and ("funding", "NOUN") in tagged[0]
    again = tagger(["There is little hope of funding.", "Funding hope."])     # one cached, one new
    assert again[0] == tagged[1] and ("funding", "NOUN") in again[1] and len(tagger._tagged) == 3


def test_spacy_tagger_names_a_missing_pipeline():
    from commentminer.errors import BackendError
    from commentminer.themes.pos import SpacyTagger

    with pytest.raises(BackendError, match="no_such_pipeline.*label_pos_model"):
        SpacyTagger("no_such_pipeline")(["text"])


def test_n_clusters_and_merge_small_clusters():
    assert n_clusters_for(242, 12, 40) == 20
    assert n_clusters_for(10, 12, 40) == 2
    assert n_clusters_for(5000, 12, 40) == 40
    vecs = np.eye(6, 4)[[0, 0, 0, 1, 1, 1]].astype(np.float64)
    vecs[5] = [0.9, 0.1, 0.0, 0.0]
    merged = merge_small_clusters(vecs / np.linalg.norm(vecs, axis=1, keepdims=True), np.array([0, 0, 0, 1, 1, 2]), 2)
    assert merged.tolist() == [0, 0, 0, 1, 1, 0]


def test_quotes_are_members_without_near_duplicates(blobs, blob_fit):
    _, vecs, _ = blobs
    vecs = vecs.copy()
    vecs[1] = vecs[0]  # an exact duplicate must not be quoted twice
    quotes = quotes_by_theme(vecs, blob_fit.assignments, 5)
    for theme, idx in quotes.items():
        assert 1 <= len(idx) <= 5
        assert all(blob_fit.assignments[i] == theme for i in idx)
        sims = vecs[idx] @ vecs[idx].T
        assert np.all(sims[~np.eye(len(idx), dtype=bool)] <= NEAR_DUPLICATE)


def test_quotes_prefer_attributed_reader_voices():
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(6, 16))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    priority = unit_priority(["article", "article", "comment", "quote", "comment", "article"],
                             [False, False, True, False, False, False])
    chosen = pick_quotes(vecs, np.arange(6), 3, priority)
    assert chosen[0] == 2 and set(chosen[1:]) == {3, 4}
    assert pick_quotes(vecs, np.arange(6), 0) == [] and pick_quotes(vecs, np.array([], int), 3) == []


@pytest.mark.slow
def test_larger_corpus_uses_umap_kmeans_with_chosen_k_and_is_deterministic():
    texts, vecs, truth = blob_corpus(n_per_blob=100, seed=3)
    model = BertopicThemeModel(seed=11, small_corpus_max_units=200, min_topic_size=15)
    fit = model.fit(texts, vecs)
    assert fit.strategy.startswith("medium:umap5+kmeans(k=3,") and fit.details["chosen_k"] == 3
    assert fit.details["outlier_share"] == 0.0
    _purity_map(fit.assignments, truth)
    assert fit.details["n_themes"] == 3
    again = model.fit(texts, vecs)
    assert np.array_equal(again.assignments, fit.assignments)
    assert [t.label for t in again.themes] == [t.label for t in fit.themes]


REAL_SENTENCES = {
    "vote": ["Practice managers should have voting rights on the CCG board.",
             "Without a vote on the board our views will not count.",
             "Give managers a seat and a vote at board meetings.",
             "We need voting rights, not just an invitation to attend the board.",
             "The board should include a practice manager with full voting rights.",
             "Nobody on our board lets a manager vote on decisions."],
    "lip": ["The DH is only paying lip service to practice managers.",
            "It is lip service, nobody actually listens to us.",
            "They consult us and then ignore everything we say.",
            "All this talk of engagement is lip service.",
            "We are asked for views that are then quietly ignored.",
            "Warm words, but it is lip service and nothing changes."],
    "money": ["Our practice budget has been cut again this year.",
              "Funding for staff salaries is running out.",
              "The practice finances cannot absorb another cut.",
              "We spend hours balancing the accounts and chasing income.",
              "Savings targets mean less money for patient services.",
              "The budget will not stretch to cover the new salaries."],
}


@pytest.mark.slow
def test_real_minilm_embeddings_give_sensible_themes():
    from conftest import MODEL_DIR

    if not (MODEL_DIR / "model.safetensors").exists():
        pytest.skip(f"needs the local MiniLM model at {MODEL_DIR}")
    from sentence_transformers import SentenceTransformer

    texts = [t for group in REAL_SENTENCES.values() for t in group]
    truth = np.repeat(np.arange(3), 6)
    vecs = SentenceTransformer(str(MODEL_DIR), device="cpu").encode(texts, normalize_embeddings=True)
    fit = BertopicThemeModel(units_per_theme=6).fit(texts, vecs)
    assert fit.strategy == "small:ward" and fit.details["outlier_share"] == 0.0
    # Each true group sits mostly (4 of 6) in one theme: real sentences overlap ("board", "managers").
    for g in range(3):
        assert np.bincount(fit.assignments[truth == g]).max() >= 4
    labels = {t.label for t in fit.themes}
    assert "lip service" in labels


def test_part_of_speech_checks_tag_fewer_sentences_per_phrase_when_there_are_many_themes(monkeypatch):
    """The tagging budget: 12 sentences per candidate for a few themes, down to 3 when themes x candidates x 12
    would pass POS_BUDGET (spaCy's time grew with the leaf count: 14.6 s of a 36 s themes stage at 53 leaves)."""
    from commentminer.themes import phrases
    from commentminer.themes.labels import phrase_scores
    from commentminer.themes.terms import term_statistics

    assert phrases.pos_contexts(1) == phrases.POS_CONTEXTS
    assert phrases.pos_contexts(10_000) == phrases.POS_MIN_CONTEXTS
    assert all(phrases.pos_contexts(n) >= phrases.pos_contexts(n + 1) for n in range(1, 200))
    n_themes = 40
    texts = [f"topic{t} words{t} here again {i}" for t in range(n_themes) for i in range(12)]
    assignments = np.repeat(np.arange(n_themes), 12)
    stats = term_statistics(texts, assignments, (1, 3))

    def asked_for() -> list[str]:
        tag, asked = _fake_tagger(set())
        phrases.pos_flags(stats, phrase_scores(stats), texts, assignments, tag)
        return asked

    bounded = asked_for()
    assert len(bounded) == n_themes * phrases.POS_MIN_CONTEXTS == len(set(bounded))   # 3 sentences per theme
    monkeypatch.setattr(phrases, "POS_BUDGET", 10**9)
    assert len(asked_for()) == n_themes * 12                                         # no budget: all 12 each
