"""Stable content-derived ids: the same content always gets the same id, so re-running updates, never duplicates."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_SEP = "\x1f"  # unit separator: cannot occur in ordinary text, so ("ab","c") and ("a","bc") differ


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a string's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 4 MiB blocks (model weights and exports can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def content_id(prefix: str, *parts: object) -> str:
    """`prefix_` + 16 hex chars of the SHA-256 of the parts (None is encoded distinctly from "")."""
    joined = _SEP.join("\x00" if p is None else str(p) for p in parts)
    return f"{prefix}_{sha256_text(joined)[:16]}"


def normalise_name(text: str | None) -> str:
    """Case-, space- and punctuation-insensitive key for names and places."""
    if not text:
        return ""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
