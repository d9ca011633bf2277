"""Resolver protocol: a place string as a commenter wrote it in, a UK region (or a reason why not) out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Resolution:
    region: str | None        # one of schema.UK_REGIONS, or None
    matched_name: str | None  # the gazetteer name that matched
    method: str               # "exact" | "alias" | "county" | "region" | "none" ...
    confidence: float         # [0, 1]; 0 when unresolved
    reason: str | None        # why unresolved, e.g. "withheld", "no_place", "organisation", "not_found"


class Resolver(Protocol):
    resolver_id: str

    def resolve(self, place: str | None, withheld: bool = False) -> Resolution:
        ...
