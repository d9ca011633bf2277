"""Resolver protocol: a place string as a commenter wrote it in, a UK region (or a reason why not) out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Resolution:
    region: str | None        # one of schema.UK_REGIONS, or None
    matched_name: str | None  # the gazetteer name that matched
    method: str               # "exact" | "alias" | "county" | "region" | "postcode" | "organisation" | "fuzzy"
                              # | "none"
    confidence: float         # [0, 1]; 0 when unresolved
    reason: str | None        # why unresolved, e.g. "withheld", "no_place", "organisation", "ambiguous",
                              # "outside_uk_regions", "too_broad", "not_found"
    ambiguous: bool = False   # the name is shared by several regions (or the parts disagree): picked by rule


class Resolver(Protocol):
    resolver_id: str

    def resolve(self, place: str | None, withheld: bool = False) -> Resolution:
        ...
