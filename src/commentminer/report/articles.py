"""The per-article view of the report: each article with its comments (who, where, sentiment, themes, text).

Bounded so a big corpus still gives a report a browser opens: at most MAX_ARTICLES articles and
MAX_COMMENTS_PER_ARTICLE comments per article are listed (the template says how many more), each comment text
cut to MAX_COMMENT_CHARS. Article links are only made for http(s) URLs; anything else (javascript:, data:,
relative paths) is never put in an href. All text stays plain strings: the template escapes it.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ..aggregate import UNRESOLVED
from ..store import Store
from .html import clip, records
from .pseudonyms import Pseudonyms

MAX_ARTICLES = 200
MAX_COMMENTS_PER_ARTICLE = 200
MAX_COMMENT_CHARS = 600

_HTTP_URL = re.compile(r"^https?://[^\s<>\"'`\x00-\x1f\x7f]+$", re.IGNORECASE)


def safe_url(value: Any) -> str | None:
    """`value` stripped when it is an absolute http(s) URL without spaces, quotes or control characters, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _HTTP_URL.match(value) else None


def theme_titles(themes: pd.DataFrame) -> dict[int, str]:
    """theme_id -> the title its card shows (a guided theme's name, else its label), from `theme_summary`."""
    out = {}
    for row in records(themes):
        out[int(row["theme_id"])] = str(row.get("name") or row["label"])
    return out


def article_views(store: Store, run_id: str, sentiment_backend: str | None, resolver_id: str | None,
                  theme_titles: dict[int, str], pseudonyms: Pseudonyms | None = None,
                  max_articles: int | None = None, max_comments: int | None = None,
                  max_chars: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """(articles, n articles not shown). Each article: article_id, title, published, byline, url (http(s) or
    None), n_comments, n_hidden, comments. Each comment: comment_id, position, name, place, withheld, region,
    label, score, themes [{theme_id, title, anchor}] (anchor True when a theme card exists), text, cut.

    Articles in the order of the Articles table (published, title); comments in page order. `theme_titles`
    maps the ids of the theme cards in the report to their titles (other ids are shown without a link).
    """
    max_articles = MAX_ARTICLES if max_articles is None else max_articles
    max_comments = MAX_COMMENTS_PER_ARTICLE if max_comments is None else max_comments
    max_chars = MAX_COMMENT_CHARS if max_chars is None else max_chars
    articles = store.query(
        """
        SELECT a.article_id, a.title, a.published, a.byline, a.url,
               (SELECT count(*) FROM comments c WHERE c.article_id = a.article_id) AS n_comments
        FROM articles a ORDER BY a.published NULLS LAST, a.title, a.article_id
        """)
    n_hidden_articles = max(0, len(articles) - max_articles)
    articles = articles.head(max_articles)
    if articles.empty:
        return [], 0
    comments = store.query(
        f"""
        WITH ut AS (
            SELECT u.comment_id, list(DISTINCT t.theme_id ORDER BY t.theme_id) AS theme_ids
            FROM units u JOIN unit_themes t ON t.unit_id = u.unit_id AND t.run_id = ?
            WHERE u.kind = 'comment' AND u.comment_id IS NOT NULL
            GROUP BY u.comment_id
        ),
        ranked AS (
            SELECT c.article_id, c.comment_id, c.position, c.name, c.place, c.withheld,
                   left(c.text, ?) AS text, length(c.text) AS text_chars,
                   coalesce(r.region, '{UNRESOLVED}') AS region, s.label, s.score, ut.theme_ids,
                   row_number() OVER (PARTITION BY c.article_id ORDER BY c.position, c.comment_id) AS rn
            FROM comments c
            LEFT JOIN sentiment s ON s.target_kind = 'comment' AND s.target_id = c.comment_id AND s.backend_id = ?
            LEFT JOIN regions r ON r.subject_kind = 'comment' AND r.subject_id = c.comment_id
                               AND r.resolver_id = ?
            LEFT JOIN ut ON ut.comment_id = c.comment_id
            WHERE c.article_id IN (SELECT unnest(?::VARCHAR[]))
        )
        SELECT * FROM ranked WHERE rn <= ? ORDER BY article_id, rn
        """,
        [run_id, max_chars + 200, sentiment_backend, resolver_id, list(articles["article_id"]), max_comments],
    )
    by_article: dict[str, list[dict[str, Any]]] = {}
    for row in records(comments):
        by_article.setdefault(row["article_id"], []).append(_comment_view(row, theme_titles, pseudonyms, max_chars))
    views = []
    for article in records(articles):
        listed = by_article.get(article["article_id"], [])
        title = article["title"] if pseudonyms is None else pseudonyms.text(article["title"])
        views.append({**article, "title": title, "url": safe_url(article.get("url")),
                      "url_refused": bool(article.get("url")) and safe_url(article.get("url")) is None,
                      "comments": listed, "n_hidden": max(0, int(article["n_comments"] or 0) - len(listed))})
    return views, n_hidden_articles


def _comment_view(row: dict[str, Any], theme_titles: dict[int, str], pseudonyms: Pseudonyms | None,
                  max_chars: int) -> dict[str, Any]:
    text = row["text"] or ""
    if pseudonyms is not None:
        text = pseudonyms.text(text)
    shown = clip(text, max_chars)
    name = row["name"]
    if pseudonyms is not None and name is not None:
        name = pseudonyms.comment(row["comment_id"]) or "Commenter"
    ids = row["theme_ids"] if isinstance(row["theme_ids"], list) else []
    themes = [{"theme_id": int(t), "title": theme_titles.get(int(t), f"theme {int(t)}"),
               "anchor": int(t) in theme_titles} for t in ids if t is not None and not pd.isna(t)]
    return {
        "comment_id": row["comment_id"], "position": row["position"], "name": name, "place": row["place"],
        "withheld": bool(row["withheld"]), "region": row["region"], "label": row["label"], "score": row["score"],
        "themes": themes, "text": shown,
        "cut": shown != " ".join(text.split()) or int(row["text_chars"] or 0) > len(row["text"] or ""),
        "text_chars": int(row["text_chars"] or 0),
    }
