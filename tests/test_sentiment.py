import pandas as pd
import pytest

from commentminer.config import load_config
from commentminer.context import StageContext
from commentminer.sentiment import stage
from commentminer.sentiment.base import label_for
from commentminer.sentiment.vader import VaderSentiment


def test_label_thresholds():
    assert label_for(0.05, 0.05) == "positive"
    assert label_for(-0.05, 0.05) == "negative"
    assert label_for(0.0, 0.05) == "neutral"


def test_vader_scores_polarity_in_range():
    pos, neg, neu = VaderSentiment().score(["This is a really good time for excellent practice management.",
                                            "I think it's insulting to our profession.",
                                            "The board meets on Tuesday."])
    assert pos.label == "positive" and pos.score > 0.5
    assert neg.label == "negative" and neg.score < -0.3
    assert neu.label == "neutral" and neu.score == 0.0 and neu.confidence == 1.0
    assert all(0 <= s.confidence <= 1 for s in (pos, neg, neu))


def test_comment_score_is_length_weighted_mean_of_its_units(store):
    ctx = StageContext.create(store, load_config(overrides=["run.progress=false", "sentiment.backend=vader.v1"]),
                              run_id="run_test")
    texts = ["I love this wonderful plan.", "It is a terrible, insulting and awful decision by the board today."]
    ctx.store.upsert("units", pd.DataFrame([{
        "unit_id": f"u{i}", "kind": "comment", "article_id": "a", "comment_id": "c1", "position": i, "text": t,
        "char_start": 0, "char_end": len(t), "text_hash": f"h{i}", "speaker": None, "place": None,
        "segmenter_id": "s",
    } for i, t in enumerate(texts)]))
    result = stage.run(ctx)
    assert result["units_scored"] == 2 and result["comments_scored"] == 1
    scores = VaderSentiment().score(texts)
    expected = (scores[0].score * len(texts[0]) + scores[1].score * len(texts[1])) / (len(texts[0]) + len(texts[1]))
    row = ctx.store.read("sentiment", "target_kind = 'comment'").iloc[0]
    assert row["target_id"] == "c1"
    assert row["score"] == pytest.approx(expected)
    assert row["label"] == label_for(expected, 0.05)
    assert stage.run(ctx)["units_scored"] == 0
