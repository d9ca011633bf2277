"""Loose themes (themes/focus.py): the share of a theme's members that use any of its top keywords."""

import numpy as np
import pandas as pd
import pytest

from commentminer.config import Config
from commentminer.themes.focus import FOCUS_KEYWORDS, keyword_focus, theme_focus
from commentminer.themes.labels import describe_themes
from commentminer.themes.terms import regroup, term_statistics

TAX = ["The carbon tax raises prices at the pump.", "A carbon tax on gasoline hurts rural drivers.",
       "Scrap the carbon tax before the election.", "Carbon pricing works better than a carbon tax rebate.",
       "The carbon tax revenue goes back to families.", "Nobody voted for this tax grab."]
# sixty reactions that share no word but stop words: any five keywords are in at most five of them
REACTION_WORDS = ("nonsense rubbish baloney drivel hogwash garbage twaddle claptrap poppycock malarkey bunk tripe "
                  "piffle codswallop balderdash gibberish humbug hooey bilge guff bravo hurrah hooray kudos cheers "
                  "wonderful splendid marvellous superb brilliant outrageous disgraceful shameful appalling "
                  "pathetic ridiculous absurd ludicrous laughable preposterous incredible unbelievable amazing "
                  "astonishing staggering shocking stunning priceless classic typical predictable tiresome "
                  "boring tedious dreary dismal lame feeble weak sad").split()
REACTIONS = [f"Such {word}!" for word in REACTION_WORDS]
PIPELINE = ["The pipeline will carry bitumen to the coast.", "Build the pipeline and create jobs.",
            "The pipeline route crosses First Nations land.", "Pipeline spills poison rivers.",
            "Another pipeline delay costs the province.", "The pipeline debate divides Alberta."]


@pytest.fixture
def corpus():
    texts = TAX + REACTIONS + PIPELINE
    themes = np.repeat([0, 1, 2], [len(TAX), len(REACTIONS), len(PIPELINE)])
    return texts, themes, term_statistics(texts, themes)


def test_focus_counts_members_with_any_of_the_top_keywords(corpus):
    texts, themes, stats = corpus
    members = np.flatnonzero(themes == 0)
    assert keyword_focus(stats, ["carbon tax"], members) == pytest.approx(5 / 6)    # one member says "tax grab"
    assert keyword_focus(stats, ["Carbon tax", "tax grab"], members) == 1.0          # written forms map to phrases
    # only the first FOCUS_KEYWORDS keywords count
    assert keyword_focus(stats, ["rural"] * FOCUS_KEYWORDS + ["carbon tax"], members) == pytest.approx(1 / 6)
    assert keyword_focus(stats, ["not a phrase here"], members) == 0.0
    assert keyword_focus(stats, ["carbon tax"], np.array([], dtype=int)) == 0.0


def test_reactions_without_a_shared_word_are_loose_and_topics_are_not(corpus):
    texts, themes, stats = corpus
    described = describe_themes(texts, themes, stats=stats)
    frame = pd.DataFrame([{"theme_id": t, "label": label, "keywords": kws, "kind": "discovered", "parent_id": None}
                          for t, (label, kws) in described.items()])
    focus, loose = theme_focus(stats, themes, frame, Config().themes.loose_focus)
    by_id = dict(zip(frame.theme_id, zip(focus, loose)))
    assert by_id[0][0] >= 0.8 and by_id[2][0] == 1.0 and not by_id[0][1] and not by_id[2][1]
    assert by_id[1] == (pytest.approx(5 / 60), True)          # each reaction keyword is said once
    # the threshold decides "loose" only: 0 makes none loose, above 1 every measured theme
    unchanged, none_loose = theme_focus(stats, themes, frame, 0.0)
    assert unchanged == focus and not any(none_loose)
    assert all(theme_focus(stats, themes, frame, 1.01)[1])


def test_parent_focus_is_over_its_childrens_members_and_other_has_none(corpus):
    texts, themes, stats = corpus
    frame = pd.DataFrame([
        {"theme_id": 0, "keywords": ["carbon tax"], "kind": "discovered", "parent_id": 9},
        {"theme_id": 2, "keywords": ["pipeline"], "kind": "discovered", "parent_id": 9},
        {"theme_id": 1, "keywords": ["joke"], "kind": "other", "parent_id": None},
        {"theme_id": 9, "keywords": ["pipeline", "carbon tax"], "kind": "parent", "parent_id": None},
    ])
    focus, loose = theme_focus(stats, themes, frame, 0.1)
    assert focus[0] == pytest.approx(5 / 6) and focus[1] == 1.0
    assert focus[2] is None and loose[2] is False                # "other" is never measured
    assert focus[3] == pytest.approx(11 / 12)                     # 5 of 6 tax and 6 of 6 pipeline members
    # regroup keeps the units' phrases: the parent's counted rows are the same units
    merged = regroup(stats, {0: 9, 2: 9})
    assert merged.unit_phrases is stats.unit_phrases
    assert theme_focus(None, themes, frame, 0.1) == ([None] * 4, [False] * 4)
