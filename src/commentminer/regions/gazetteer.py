"""Gazetteer resolver: a signature place ("Weston-super-Mare, North Somerset") -> one of the 12 UK regions.

The table (regions/data/gazetteer.csv) is built from ONS lookups (OGL v3) and GeoNames (CC BY 4.0) by
scripts/build_gazetteer.py; regions/data/aliases.csv holds the few hand-written names the sources lack
("East Anglia", "Lancs", "Hull"). See regions/data/SOURCE.md for provenance and attribution.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from ..ids import sha256_bytes
from ..schema import UK_REGIONS
from .base import Resolution
from .normalise import TOO_BROAD, is_organisation, is_role, normalise_place, qualifier_variants, split_parts

# Preference order when one name has entries of several kinds (SOURCE.md rule 1); lower wins. Hand-written
# aliases come first because each one exists to settle exactly such a case ("Greater London").
KIND_RANK = {"alias": 0, "lad": 1, "lad_alias": 1, "county": 2, "county_alias": 2, "region": 3, "country": 3,
             "buasd": 4, "bua": 5, "geonames_place": 6}
METHOD = {"alias": "alias", "lad_alias": "alias", "county_alias": "alias", "lad": "exact", "buasd": "exact",
          "bua": "exact", "geonames_place": "exact", "county": "county", "region": "region", "country": "region"}
# How sure a match of each kind is when the name is unique: a region name is the label itself; a LAD or county
# is an official area wholly inside one region; built-up areas and postcode places are smaller, fuzzier units.
BASE_CONFIDENCE = {"region": 1.0, "country": 1.0, "lad": 0.95, "county": 0.95, "alias": 0.9, "lad_alias": 0.9,
                   "county_alias": 0.9, "buasd": 0.9, "bua": 0.85, "geonames_place": 0.8}
AMBIGUOUS_FACTOR = 0.7    # name exists in more than one region and nothing else in the string settles it
QUALIFIED_FACTOR = 0.9    # matched only after dropping "North"/"near"/"area"... ("North London")
DISAGREE_FACTOR = 0.6     # parts of the string point at different regions ("Leeds, Cornwall")


@dataclass(frozen=True)
class Entry:
    name: str     # display name as in the source ("Weston-super-Mare")
    kind: str     # a KIND_RANK key
    region: str   # one of UK_REGIONS
    part: bool = False  # a built-up area crossing a region boundary: its other regions are not homonyms


@dataclass(frozen=True)
class _Match:
    """One part of the place string and what it matched."""

    entries: tuple[Entry, ...]
    qualified: bool  # matched only after dropping a qualifier word

    @property
    def regions(self) -> set[str]:
        return {e.region for e in self.entries}

    @property
    def homonym_regions(self) -> set[str]:
        """Regions of distinct places with this name. The spill-over rows of a boundary-crossing built-up
        area ("Sheffield" BUA in the East Midlands) do not make the name ambiguous."""
        whole = {e.region for e in self.entries if not e.part}
        return whole or self.regions

    def best(self, region: str | None = None) -> list[Entry]:
        """Entries of the most preferred kind (optionally within one region)."""
        pool = [e for e in self.entries if region is None or e.region == region]
        top = min(KIND_RANK[e.kind] for e in pool)
        return [e for e in pool if KIND_RANK[e.kind] == top]


def _unresolved(reason: str, matched_name: str | None = None) -> Resolution:
    return Resolution(region=None, matched_name=matched_name, method="none", confidence=0.0, reason=reason)


def _resolution(entry: Entry, confidence: float) -> Resolution:
    return Resolution(region=entry.region, matched_name=entry.name, method=METHOD[entry.kind],
                      confidence=round(min(max(confidence, 0.0), 1.0), 3), reason=None)


class GazetteerResolver:
    """Resolve free-text UK places to one of `schema.UK_REGIONS`.

    Steps, in order:
      1. withheld -> reason "withheld"; None/blank -> "no_place".
      2. The whole string, normalised (see `normalise_place`), is looked up; if absent it is split on commas,
         semicolons and brackets into parts. A part ending in a job title ("Practice Manager") or naming an
         organisation (practice, surgery, medical centre, CCG, PCT, NHS, trust...) is ignored, never mined for a
         place inside it; "UK"/"England" are ignored as too broad. A part not found is retried without a
         qualifier word ("North London" -> London, "Leeds area" -> Leeds) and, for several words without
         commas, as two adjacent names that both match ("Bolton Lancs").
      3. One matching part: its entries of the most preferred kind win, in the order (SOURCE.md)
         alias > lad > county > region/country > buasd > bua > geonames_place. If the name exists in more than
         one region ("Bolton": LAD in the North West, a village in East Lothian) the winner is kept and the
         confidence multiplied by AMBIGUOUS_FACTOR. Regions reached only through a built-up area that crosses
         a region boundary (WHOLE_PART = Part) do not count as homonyms. If the most preferred kind itself
         spans several regions ("Middleton" is a BUA in six, with no LAD or BUASD of that name) the place is
         left unresolved with reason "ambiguous" and matched_name set.
         Region names: the 9 ONS regions, Wales/Scotland/Northern Ireland, "London"; "Yorkshire",
         "East Anglia" (Norfolk, Suffolk, Cambridgeshire: all East of England), "West Country" come from
         aliases.csv; "the Midlands" is not resolved (East or West).
      4. Several matching parts: the region named by the most parts wins ("Newport, Isle of Wight" -> South
         East, "Newport, Wales" -> Wales), reported with the first (most specific) part's best entry in that
         region; agreement removes the ambiguity penalty. A tie falls back to rule 3 on the first part, with
         confidence multiplied by DISAGREE_FACTOR.
      5. Nothing matched: reason "organisation" or "role" if such a part was seen, "too_broad" for "UK" alone,
         else "not_found".

    method: "exact" (LAD, BUA/BUASD or GeoNames place name), "alias", "county", "region" (region or country
    name), "none". resolver_id = "gazetteer.v1+" + a short hash of the table and alias files, so a rebuilt
    table gets new rows in `regions` instead of silently mixing with the old ones.
    """

    name = "gazetteer.v1"

    def __init__(self, table: str | Path | None = None, aliases: str | Path | None = None):
        # Constructor only stores parameters; the files are read on first use.
        self.table = table
        self.aliases = aliases
        self._index: dict[str, tuple[Entry, ...]] | None = None
        self._id: str | None = None

    # -- data ------------------------------------------------------------------------------------------------
    def _read(self, path: str | Path | None, packaged: str) -> bytes:
        if path is not None:
            return Path(path).read_bytes()
        return resources.files("commentminer.regions").joinpath("data", packaged).read_bytes()

    @property
    def resolver_id(self) -> str:
        """'gazetteer.v1+<12 hex>' — changes whenever the packaged table or aliases change."""
        if self._id is None:
            data = self._read(self.table, "gazetteer.csv") + b"\x00" + self._read(self.aliases, "aliases.csv")
            digest = sha256_bytes(data)
            self._id = f"{self.name}+{digest[:12]}"
        return self._id

    @property
    def index(self) -> dict[str, tuple[Entry, ...]]:
        """normalised name -> entries (one per kind and region); loaded once."""
        if self._index is None:
            self._index = self._load()
        return self._index

    def _load(self) -> dict[str, tuple[Entry, ...]]:
        index: dict[str, dict[tuple[str, str], Entry]] = {}

        def add(entries: Iterable[Entry]) -> None:
            for e in entries:
                slot = index.setdefault(normalise_place(e.name), {})
                # Two areas of one kind and name in one region: keep the whole one (it is a place there).
                if (e.kind, e.region) not in slot or slot[(e.kind, e.region)].part:
                    slot[(e.kind, e.region)] = e

        table = csv.DictReader(io.StringIO(self._read(self.table, "gazetteer.csv").decode("utf-8")))
        add(Entry(r["name"], r["kind"], r["region"], r["part"] == "part") for r in table)
        frozen = {k: tuple(v.values()) for k, v in index.items()}
        aliases = csv.DictReader(io.StringIO(self._read(self.aliases, "aliases.csv").decode("utf-8")))
        for row in aliases:
            target = self._alias_target(row["target"], frozen)
            key = normalise_place(row["alias"])
            index.setdefault(key, {})[("alias", target.region)] = Entry(target.name, "alias", target.region)
        return {k: tuple(v.values()) for k, v in index.items()}

    @staticmethod
    def _alias_target(target: str, index: dict[str, tuple[Entry, ...]]) -> Entry:
        """An alias points at a region name or at an unambiguous gazetteer name; anything else is a data bug."""
        if target in UK_REGIONS:
            return Entry(target, "region", target)
        best = _Match(index.get(normalise_place(target), ()), False)
        if not best.entries or len({e.region for e in best.best()}) != 1:
            raise ValueError(f"aliases.csv: target {target!r} is not a region or an unambiguous gazetteer name")
        return best.best()[0]

    # -- resolving -------------------------------------------------------------------------------------------
    def resolve(self, place: str | None, withheld: bool = False) -> Resolution:
        """Resolve one place string; never raises for odd input (see the class docstring for the rules)."""
        if withheld:
            return _unresolved("withheld")
        if place is None or not str(place).strip():
            return _unresolved("no_place")
        place = str(place)
        whole = normalise_place(place)
        if whole in self.index and not is_organisation(whole):
            matches = [_Match(self.index[whole], False)]
            seen: set[str] = set()
        else:
            matches, seen = self._match_parts(split_parts(place))
        if not matches:
            for reason in ("organisation", "role", "too_broad"):
                if reason in seen:
                    return _unresolved(reason)
            return _unresolved("not_found")
        return self._decide(matches)

    def _match_parts(self, parts: list[str]) -> tuple[list[_Match], set[str]]:
        """Matches for each usable part, and the reasons ("organisation", ...) for the parts skipped."""
        matches: list[_Match] = []
        seen: set[str] = set()
        for part in parts:
            norm = normalise_place(part)
            if not norm:
                continue
            if is_role(norm):  # before organisation: "Practice Manager" is a job, not a practice
                seen.add("role")
            elif is_organisation(norm):
                seen.add("organisation")
            elif norm in TOO_BROAD:
                seen.add("too_broad")
            else:
                matches += self._match_one(norm)
        return matches, seen

    def _match_one(self, norm: str) -> list[_Match]:
        if norm in self.index:
            return [_Match(self.index[norm], False)]
        for variant in qualifier_variants(norm):
            if variant in self.index:
                return [_Match(self.index[variant], True)]
        words = norm.split()
        # "Weston super Mare North Somerset": two names written without a comma; both halves must match.
        for cut in range(len(words) - 1, 0, -1):
            head, tail = " ".join(words[:cut]), " ".join(words[cut:])
            if head in self.index and tail in self.index and tail not in TOO_BROAD:
                return [_Match(self.index[head], False), _Match(self.index[tail], False)]
        return []

    def _decide(self, matches: list[_Match]) -> Resolution:
        if len(matches) == 1:
            return self._single(matches[0])
        votes = {r: sum(r in m.regions for m in matches) for r in set().union(*(m.regions for m in matches))}
        top = max(votes.values())
        winners = [r for r, v in votes.items() if v == top]
        if top >= 2 and len(winners) == 1:
            region = winners[0]
            first = next(m for m in matches if region in m.regions)
            entry = first.best(region)[0]
            factor = QUALIFIED_FACTOR if first.qualified else 1.0
            if top < len(matches):  # some part pointed elsewhere
                factor *= DISAGREE_FACTOR
            return _resolution(entry, BASE_CONFIDENCE[entry.kind] * factor)
        single = self._single(matches[0])
        if single.region is None:
            return single
        return replace(single, confidence=round(single.confidence * DISAGREE_FACTOR, 3))

    @staticmethod
    def _single(match: _Match) -> Resolution:
        best = match.best()
        regions = {e.region for e in best}
        if len(regions) > 1:
            return _unresolved("ambiguous", matched_name=best[0].name)
        entry = best[0]
        confidence = BASE_CONFIDENCE[entry.kind]
        if len(match.homonym_regions) > 1:
            confidence *= AMBIGUOUS_FACTOR
        if match.qualified:
            confidence *= QUALIFIED_FACTOR
        return _resolution(entry, confidence)

