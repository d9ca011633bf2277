"""Stable pseudonyms for people named in the data: commenters and speakers quoted in articles.

Commenters are numbered "Commenter 1", "Commenter 2", ... by first appearance in the comments export order
(article date, title, article id, position), keyed by commenter_id, so one person (same normalised name and
place) keeps one pseudonym across articles, and the same store gives the same numbers every time. Quoted
speakers become "Speaker 1", ... (keyed by the normalised speaker name, in the units export order). Withheld
and unsigned comments carry no name and are left as they are; places are kept.

Names can also occur inside texts (a reply naming an earlier commenter, a label, an article sentence quoting a
speaker): `text()` replaces every full name as signed or quoted, as a whole word sequence, case-insensitively.
Nicknames and surnames alone are not recognised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

KEYWORD_COLUMNS = ("keywords",)


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class Pseudonyms:
    """commenter_id / comment_id / speaker -> pseudonym, and name -> pseudonym for replacing names in texts."""

    by_commenter: dict[str, str] = field(default_factory=dict)
    by_comment: dict[str, str] = field(default_factory=dict)
    by_speaker: dict[str, str] = field(default_factory=dict)     # normalised speaker name -> "Speaker N"
    by_name: dict[str, str] = field(default_factory=dict)        # normalised name as written -> pseudonym
    _pattern: re.Pattern | None = None

    @classmethod
    def build(cls, comments: pd.DataFrame, units: pd.DataFrame) -> "Pseudonyms":
        """From `aggregate.comments_table` (comment_id, commenter_id, name, withheld) and `aggregate.units_table`
        (kind, speaker) rows, in their export order."""
        self = cls()
        for comment_id, commenter_id, name, withheld in zip(comments["comment_id"], comments["commenter_id"],
                                                             comments["name"], comments["withheld"]):
            if _missing(name) or not str(name).strip() or (not _missing(withheld) and bool(withheld)):
                continue
            key = str(commenter_id) if not _missing(commenter_id) else f"comment:{comment_id}"
            alias = self.by_commenter.setdefault(key, f"Commenter {len(self.by_commenter) + 1}")
            self.by_comment[str(comment_id)] = alias
            self.by_name.setdefault(_norm(str(name)), alias)
        for kind, speaker in zip(units["kind"], units["speaker"]):
            if kind != "quote" or _missing(speaker) or not str(speaker).strip():
                continue
            key = _norm(str(speaker))
            alias = self.by_speaker.setdefault(key, f"Speaker {len(self.by_speaker) + 1}")
            self.by_name.setdefault(key, alias)
        names = sorted((n for n in self.by_name if len(n) >= 2), key=len, reverse=True)
        if names:
            alternatives = "|".join(r"\s+".join(re.escape(word) for word in n.split()) for n in names)
            self._pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return self

    def comment(self, comment_id: Any) -> str | None:
        """The pseudonym of a comment's commenter (None for withheld / unsigned comments)."""
        return self.by_comment.get(str(comment_id))

    def speaker(self, speaker: Any) -> str | None:
        return None if _missing(speaker) else self.by_speaker.get(_norm(str(speaker)), "Speaker")

    def text(self, value: Any) -> Any:
        """`value` with every known name replaced by its pseudonym (non-strings returned unchanged)."""
        if self._pattern is None or not isinstance(value, str):
            return value
        return self._pattern.sub(lambda m: self.by_name.get(_norm(m.group(0)), m.group(0)), value)

    # -- whole export tables -----------------------------------------------------------------------------------
    def frame(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """A table with names, commenter ids and names inside texts replaced: an export by its name, or the
        report's "quotes" (theme quotes) and "errors" (quarantined items)."""
        out = frame.copy()
        if name in ("comments", "quotes"):
            out["name"] = [self.comment(c) if not _missing(n) else None for c, n in zip(out["comment_id"], out["name"])]
        if name == "comments":
            out["commenter_id"] = [self.comment(c) or f"comment:{c}" for c in out["comment_id"]]
        if "speaker" in out:
            out["speaker"] = [self.speaker(s) for s in out["speaker"]]
        for column in ("text", "article_title", "title", "label", "summary", "theme", "themes", "theme_label", "article",
                       "detail"):
            if column in out:
                out[column] = [self.text(v) for v in out[column]]
        for column in KEYWORD_COLUMNS:
            if column in out:
                out[column] = [[self.text(k) for k in kws] if isinstance(kws, list) else self.text(kws)
                               for kws in out[column]]
        return out
