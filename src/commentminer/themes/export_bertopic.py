"""Our themes as a fitted BERTopic model, for BERTopic's users (`commentminer.api.to_bertopic`).

The themes stage clusters and labels itself; this builds a real `bertopic.BERTopic` that holds the same result:
BERTopic is fitted on the run's unit texts and stored embeddings with our theme of each unit given as the
clustering (BERTopic's "manual topic modeling": `BaseCluster` and `y`), so its topics are exactly our leaf
themes and "other" is its outlier topic -1. It then carries our labels (`custom_labels_`, shown by
`get_topic_info` and the visualisations with `custom_labels=True`) and our keywords first in each topic's
representation (`get_topic`, `visualize_barchart`), scored by BERTopic's own c-TF-IDF of the same phrases.
`visualize_hierarchy` works on the fitted c-TF-IDF as usual; our parent of each topic is in the
`commentminer_parent_` dict (BERTopic topic -> our parent label). The dated units' texts, timestamps (comment
date, else article date) and topics are kept on the model as `commentminer_docs_`, `commentminer_timestamps_` and
`commentminer_topics_`: `model.topics_over_time(model.commentminer_docs_, model.commentminer_timestamps_,
topics=model.commentminer_topics_)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import CommentminerError
from ..store.vectors import vector_matrix
from .base import OUTLIER_THEME
from .terms import make_vectorizer


def run_units(store, run_id: str) -> tuple[pd.DataFrame, np.ndarray]:
    """(units of the run with theme_id and timestamp, ordered by unit_id; their (n, dim) vectors)."""
    sql = (
        "SELECT u.unit_id, u.text, ut.theme_id, coalesce(c.published, a.published) AS published, e.vector "
        "FROM unit_themes ut JOIN units u USING (unit_id) "
        "LEFT JOIN comments c ON c.comment_id = u.comment_id LEFT JOIN articles a ON a.article_id = u.article_id "
        "JOIN embeddings e ON e.text_hash = u.text_hash AND e.model_id = ? "
        "WHERE ut.run_id = ? ORDER BY u.unit_id"
    )
    model_id = _embedding_model(store, run_id, store.query("SELECT stats_json FROM runs WHERE run_id = ?", [run_id]))
    table = store.con.sql(sql, params=[model_id, run_id]).to_arrow_table()
    if not len(table):
        raise CommentminerError(f"{store.path}: run {run_id} has no themed units with embeddings")
    frame = store.con.from_arrow(table.drop_columns(["vector"])).df()
    return frame, vector_matrix(table.column("vector"))


def _embedding_model(store, run_id: str, stats: pd.DataFrame) -> str:
    import json

    if not stats.empty and isinstance(stats.iloc[0, 0], str):
        found = json.loads(stats.iloc[0, 0]).get("themes", {}).get("embedding_model_id")
        if found:
            return str(found)
    models = store.query("SELECT DISTINCT model_id FROM embeddings ORDER BY model_id")
    if len(models) != 1:
        raise CommentminerError(f"{store.path}: cannot tell which embeddings run {run_id} used")
    return str(models.iloc[0, 0])


def build_bertopic(units: pd.DataFrame, vectors: np.ndarray, themes: pd.DataFrame, ngram_range=(1, 3),
                   top_n_words: int = 10):
    """A fitted BERTopic whose topics are the themes of `units.theme_id` (see the module docstring)."""
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    from bertopic.vectorizers import ClassTfidfTransformer

    docs = units.text.astype(str).tolist()
    ours = units.theme_id.to_numpy(dtype=np.int64)
    model = BERTopic(embedding_model=None, umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster(),
                     vectorizer_model=make_vectorizer(tuple(ngram_range)),
                     ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True), top_n_words=top_n_words,
                     calculate_probabilities=False, verbose=False)
    topics, _ = model.fit_transform(docs, embeddings=np.asarray(vectors, np.float32), y=ours)
    topics = np.asarray(topics, np.int64)
    # BERTopic renumbers topics by size; map each of its topics back to our theme (they coincide unit for unit)
    theme_of = {int(t): int(pd.Series(ours[topics == t]).mode().iloc[0]) for t in np.unique(topics)}
    by_id = themes.set_index("theme_id")
    labels = {}
    for topic, theme in theme_of.items():
        row = by_id.loc[theme] if theme in by_id.index else None
        name = row["name"] if row is not None and isinstance(row["name"], str) and row["name"] else None
        labels[topic] = "other" if theme == OUTLIER_THEME else (name or (row["label"] if row is not None else str(theme)))
    model.set_topic_labels(labels)
    _keywords_first(model, theme_of, by_id, top_n_words)
    parents = themes[themes.kind == "parent"].set_index("theme_id")
    model.commentminer_theme_ids_ = theme_of
    model.commentminer_parent_ = {
        topic: str(parents.loc[int(by_id.loc[theme, "parent_id"]), "label"])
        for topic, theme in theme_of.items()
        if theme in by_id.index and pd.notna(by_id.loc[theme, "parent_id"])
        and int(by_id.loc[theme, "parent_id"]) in parents.index
    }
    dated = pd.to_datetime(units.published).notna().to_numpy()   # an undated unit has no place over time
    model.commentminer_docs_ = [d for d, keep in zip(docs, dated) if keep]
    model.commentminer_timestamps_ = pd.to_datetime(units.published[dated]).tolist()
    model.commentminer_topics_ = topics[dated].tolist()
    return model


def _keywords_first(model, theme_of: dict[int, int], by_id: pd.DataFrame, top_n: int) -> None:
    """Each topic's representation: our keywords (with their c-TF-IDF weight in the topic) before BERTopic's own."""
    vocab = {w: i for i, w in enumerate(model.vectorizer_model.get_feature_names_out())}
    ctfidf = model.c_tf_idf_.tocsr()
    for topic, theme in theme_of.items():
        if theme not in by_id.index or topic not in model.topic_representations_:
            continue
        row = topic + model._outliers
        keywords = [k for k in by_id.loc[theme, "keywords"] if isinstance(k, str)] \
            if by_id.loc[theme, "keywords"] is not None else []
        ours = [(k, float(ctfidf[row, vocab[k.lower()]])) for k in keywords if k.lower() in vocab]
        seen = {k.lower() for k, _ in ours}
        rest = [(w, s) for w, s in model.topic_representations_[topic] if w not in seen]
        model.topic_representations_[topic] = (ours + rest)[:top_n]
