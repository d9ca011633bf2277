"""Gazetteer resolver: a signature place ("Weston-super-Mare, North Somerset") -> one of the 12 UK regions.

The table (regions/data/gazetteer.csv) is built from ONS lookups (OGL v3) and GeoNames (CC BY 4.0) by
scripts/build_gazetteer.py; regions/data/aliases.csv holds the few hand-written names the sources lack
("East Anglia", "Lancs", "Hull"). See regions/data/SOURCE.md for provenance and attribution.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from ..errors import ConfigError
from ..ids import sha256_bytes
from ..schema import UK_REGIONS
from .base import Resolution
from .extra import read_extra_gazetteer
from .normalise import (
    AMBIGUOUS_AREAS,
    NON_PLACE_WORDS,
    OUTSIDE_REGIONS,
    TOO_BROAD,
    inner_runs,
    is_organisation,
    is_role,
    is_withheld,
    normalise_place,
    qualifier_variants,
    split_parts,
)

# Bumped whenever the matching rules change, so that the stage re-resolves (it is part of resolver_id).
RULES_VERSION = "2"

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
ORGANISATION_FACTOR = 0.8  # a place found inside an organisation name or job title ("NHS Bristol CCG")
# Fuzzy matches by edit distance (spaces ignored): 0 = only the spacing differs ("Black pool").
FUZZY_FACTOR = {0: 0.85, 1: 0.7, 2: 0.55}

# Inside an organisation name only official areas and towns count (no GeoNames hamlets, no postcodes).
ORGANISATION_KINDS = frozenset({"alias", "lad", "lad_alias", "county", "county_alias", "region", "country",
                                "buasd", "bua"})
# Fuzzy matching reaches only towns and areas people commonly misspell: official areas, aliases and built-up-area
# sub-divisions (the large towns), never the 5,600 built-up areas or 7,800 GeoNames places, which include
# villages spelt like English words (Locking, Detling, Resolven).
FUZZY_KINDS = frozenset({"alias", "lad", "lad_alias", "county", "county_alias", "region", "country", "buasd"})
FUZZY_MIN_LEN = 6     # letters (spaces ignored) of the shortest misspelling tried, and of the shortest target
FUZZY_MAX_WORDS = 4
# A UK postcode, full ("LS1 4AP") or outward code only ("SW1", "M14"), normalised (lower case, one space). The
# table has no postcode districts yet: a postcode alone is unresolved (reason "postcode"), after a name it is
# dropped ("London N1" -> London).
_POSTCODE = re.compile(r"[a-z]{1,2}[0-9][a-z0-9]?(?: [0-9][a-z]{2})?")
_TRAILING_POSTCODE = re.compile(r"(.+?) ([a-z]{1,2}[0-9][a-z0-9]?(?: [0-9][a-z]{2})?)")


def _fuzzy_max_distance(n_letters: int) -> int:
    """Edit distance allowed for a misspelling of this many letters: 1 up to 10 letters, 2 from 11; -1 below
    FUZZY_MIN_LEN (not tried)."""
    if n_letters < FUZZY_MIN_LEN:
        return -1
    return 1 if n_letters <= 10 else 2


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment edit distance (insert, delete, substitute, swap two neighbours); any value above
    `limit` is returned as limit + 1 (early exit)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


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
    via: str | None = None  # "fuzzy" or "organisation": the method reported instead of the entry kind's
    factor: float = 1.0     # confidence factor of `via` (FUZZY_FACTOR / ORGANISATION_FACTOR)

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


def _unresolved(reason: str, matched_name: str | None = None, ambiguous: bool = False) -> Resolution:
    return Resolution(region=None, matched_name=matched_name, method="none", confidence=0.0, reason=reason,
                      ambiguous=ambiguous)


def _resolution(entry: Entry, confidence: float, via: str | None = None, ambiguous: bool = False) -> Resolution:
    return Resolution(region=entry.region, matched_name=entry.name, method=via or METHOD[entry.kind],
                      confidence=round(min(max(confidence, 0.0), 1.0), 3), reason=None, ambiguous=ambiguous)


class GazetteerResolver:
    """Resolve free-text UK places to one of `schema.UK_REGIONS`.

    Steps, in order:
      1. withheld (the flag, or text such as "Name and address withheld", "Anonymous") -> reason "withheld";
         None/blank -> "no_place".
      2. The whole string, normalised (see `normalise_place`), is looked up; if absent it is split on commas,
         semicolons and brackets into parts. Each part, in order:
         - "UK"/"England" -> ignored as "too_broad"; "the Midlands", "Home Counties", "the North" ->
           ignored as "ambiguous" (several regions, never guessed); Jersey, Isle of Man, Ireland, abroad ->
           ignored as "outside_uk_regions".
         - A part ending in a job title ("Practice Manager") or naming an organisation (practice, surgery,
           hospital, CCG, PCT, NHS, trust, group...) is searched for a place inside it: the runs of words between
           organisation/role words ("Leeds Teaching Hospitals" -> "Leeds", "NHS Bristol CCG" -> "Bristol") that
           match a LAD, county, region, alias or built-up area exactly. Runs naming a street ("Boleyn Road
           Practice"), GeoNames hamlets and generic words ("Park Surgery", "Valley Medical Centre") do not count,
           so such a part stays unresolved ("organisation" / "role"). Found: method "organisation",
           confidence x ORGANISATION_FACTOR.
         - A postcode alone ("SW1", "LS1 4AP") -> ignored as "postcode" (the table has no postcode districts).
         - Otherwise: the exact name; the name without a trailing postcode ("London N1"); the name without a
           qualifier word ("North London" -> London, "Leeds area" -> Leeds); two adjacent names that both match
           ("Bolton Lancs"); and last a fuzzy match (step 6).
      3. One matching part: its entries of the most preferred kind win, in the order (SOURCE.md)
         alias > lad > county > region/country > buasd > bua > geonames_place. If the name exists in
         more than one region ("Bolton": LAD in the North West, a village in East Lothian) the winner is kept,
         the confidence multiplied by AMBIGUOUS_FACTOR and the result flagged `ambiguous`. Regions reached only
         through a built-up area that crosses a region boundary (WHOLE_PART = Part) do not count as homonyms.
         If the most preferred kind itself spans several regions ("Middleton" is a BUA in six, with no LAD or
         BUASD of that name) the place is left unresolved with reason "ambiguous", flagged, matched_name set.
      4. Several matching parts: the region named by the most parts wins ("Newport, Isle of Wight" -> South
         East, "Newport, Wales" -> Wales), reported with the first (most specific) part's best entry in that
         region; agreement removes the ambiguity penalty. A tie falls back to rule 3 on the first part, with
         confidence multiplied by DISAGREE_FACTOR and the result flagged `ambiguous` (so is a partial agreement).
      5. Nothing matched: the reason of the first kind seen among "withheld", "outside_uk_regions", "ambiguous",
         "organisation", "role", "postcode", "too_broad", else "not_found".
      6. Fuzzy (method "fuzzy"): only for a part of FUZZY_MIN_LEN+ letters, at most FUZZY_MAX_WORDS words, no
         digits and no NON_PLACE_WORDS ("Unknown", "Mum of two"), after every exact rule failed. Targets are the
         names of FUZZY_KINDS (LADs, counties, regions, aliases, built-up-area sub-divisions: towns, not
         villages) with the same first and last letter; spaces are ignored ("Black pool" = "Blackpool",
         distance 0). Allowed optimal-string-alignment distance (insert, delete, substitute, swap): 1 up to 10
         letters ("Manchster", "Barnsely", "Westen-super-Mare"), 2 from 11; at 6 letters only a dropped letter
         ("Glasow"). The nearest names must all lead to one region, else nothing is matched. Confidence x
         FUZZY_FACTOR[distance]. Ordinary words one letter away from a town ("Working" / Woking) are the
         residual risk; the gold list test checks that no non-place gets a region.

    method: "exact" (LAD, BUA/BUASD or GeoNames place name), "alias", "county", "region" (region or country
    name), "organisation" (a place inside an organisation name or job title), "fuzzy", "none".
    `ambiguous` flags a name shared by several regions (the rule above picked one, or none).
    resolver_id = "gazetteer.v1+" + a short hash of RULES_VERSION and the table and alias files, so a rebuilt
    table or changed rules get new rows in `regions` instead of silently mixing with the old ones.
    """

    name = "gazetteer.v1"

    def __init__(self, table: str | Path | None = None, aliases: str | Path | None = None,
                 extra: str | Path | None = None):
        # Constructor only stores parameters; the files are read on first use.
        self.table = table
        self.aliases = aliases
        self.extra = Path(extra) if extra else None  # [regions] extra_gazetteer: the user's place -> region table
        self._extra_keys: frozenset[str] = frozenset()
        self._index: dict[str, tuple[Entry, ...]] | None = None
        self._fuzzy_index: dict[str, list[tuple[str, str]]] | None = None
        self._fuzzy_cache: dict[str, _Match | None] = {}
        self._id: str | None = None

    # -- data ------------------------------------------------------------------------------------------------
    def _read(self, path: str | Path | None, packaged: str) -> bytes:
        if path is not None:
            return Path(path).read_bytes()
        return resources.files("commentminer.regions").joinpath("data", packaged).read_bytes()

    @property
    def resolver_id(self) -> str:
        """'gazetteer.v1+<12 hex>' — changes whenever the rules, the packaged table or the aliases change."""
        if self._id is None:
            data = (RULES_VERSION.encode() + b"\x00" + self._read(self.table, "gazetteer.csv") + b"\x00"
                    + self._read(self.aliases, "aliases.csv"))
            if self.extra is not None:  # another place table resolves differently: new rows, not mixed ones
                data += b"\x00extra\x00" + self._read_extra()
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
        if self.extra is not None:
            user = read_extra_gazetteer(self.extra, self._read_extra(),
                                        lambda place, region: Entry(place, "alias", region))
            for key, entry in user.items():  # the user's table wins over a packaged place of the same name
                index[key] = {("alias", entry.region): entry}
            self._extra_keys = frozenset(user)
        return {k: tuple(v.values()) for k, v in index.items()}

    def _read_extra(self) -> bytes:
        assert self.extra is not None
        try:
            return self.extra.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{self.extra}: cannot read [regions] extra_gazetteer ({exc.strerror or exc}); "
                              "fix the path or set --set regions.extra_gazetteer=\"\"") from None

    @staticmethod
    def _alias_target(target: str, index: dict[str, tuple[Entry, ...]]) -> Entry:
        """An alias points at a region name or at an unambiguous gazetteer name; anything else is a data bug."""
        if target in UK_REGIONS:
            return Entry(target, "region", target)
        best = _Match(index.get(normalise_place(target), ()), False)
        if not best.entries or len({e.region for e in best.best()}) != 1:
            raise ValueError(f"aliases.csv: target {target!r} is not a region or an unambiguous gazetteer name")
        return best.best()[0]

    @property
    def fuzzy_index(self) -> dict[str, list[tuple[str, str]]]:
        """first + last letter -> [(name without spaces, normalised name)] of the names fuzzy matching may reach
        (FUZZY_KINDS, FUZZY_MIN_LEN+ letters). Misspellings usually keep the first and last letter; requiring both
        makes the candidate lists short and cuts most ordinary-word look-alikes ("brought" / Brough)."""
        if self._fuzzy_index is None:
            buckets: dict[str, list[tuple[str, str]]] = {}
            for key, entries in self.index.items():
                compact = key.replace(" ", "")
                if (compact.isalpha() and len(compact) >= FUZZY_MIN_LEN
                        and any(e.kind in FUZZY_KINDS for e in entries)):
                    buckets.setdefault(compact[0] + compact[-1], []).append((compact, key))
            self._fuzzy_index = buckets
        return self._fuzzy_index

    # -- resolving -------------------------------------------------------------------------------------------
    def resolve(self, place: str | None, withheld: bool = False) -> Resolution:
        """Resolve one place string; never raises for odd input (see the class docstring for the rules)."""
        if withheld:
            return _unresolved("withheld")
        if place is None or not str(place).strip():
            return _unresolved("no_place")
        place = str(place)
        whole = normalise_place(place)
        if not whole:
            return _unresolved("no_place")
        self.index  # loads the user's table too (its names are checked before the UK rules)
        if whole in self.index and (whole in self._extra_keys or not is_organisation(whole)):
            matches = [_Match(self.index[whole], False)]
            seen: dict[str, str | None] = {}
        else:
            matches, seen = self._match_parts(split_parts(place))
        if not matches:
            for reason in ("withheld", "outside_uk_regions", "ambiguous", "organisation", "role", "postcode",
                           "too_broad"):
                if reason in seen:
                    return _unresolved(reason, matched_name=seen[reason], ambiguous=reason == "ambiguous")
            return _unresolved("not_found")
        return self._decide(matches)

    def _match_parts(self, parts: list[str]) -> tuple[list[_Match], dict[str, str | None]]:
        """Matches for each usable part, and the reasons ("organisation", ...) for the parts skipped (with the
        name to report as matched_name, if any)."""
        matches: list[_Match] = []
        seen: dict[str, str | None] = {}
        for part in parts:
            norm = normalise_place(part)
            if not norm:
                continue
            if norm in self._extra_keys:  # a user place is a place, even outside the UK ("Lyon", "France")
                matches.append(_Match(self.index[norm], False))
            elif is_withheld(norm):
                seen.setdefault("withheld", None)
            elif norm in TOO_BROAD:
                seen.setdefault("too_broad", None)
            elif norm in AMBIGUOUS_AREAS:
                seen.setdefault("ambiguous", part.strip())
            elif norm in OUTSIDE_REGIONS:
                seen.setdefault("outside_uk_regions", None)
            elif _POSTCODE.fullmatch(norm):
                seen.setdefault("postcode", None)
            elif is_role(norm) or is_organisation(norm):
                # is_role first: "Practice Manager" is a job, not a practice
                inner = self._match_inner(norm)
                if inner is not None:
                    matches.append(inner)
                else:
                    seen.setdefault("role" if is_role(norm) else "organisation", None)
            else:
                found = self._match_one(norm)
                if not found:
                    fuzzy = self._match_fuzzy(norm)
                    found = [fuzzy] if fuzzy is not None else []
                matches += found
        return matches, seen

    def _match_one(self, norm: str) -> list[_Match]:
        if norm in self.index:
            return [_Match(self.index[norm], False)]
        trailing = _TRAILING_POSTCODE.fullmatch(norm)
        if trailing is not None:  # "london n1", "leeds ls1 4ap"
            return self._match_one(trailing.group(1))
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

    def _match_inner(self, norm: str) -> _Match | None:
        """A place named inside an organisation name or job title (see inner_runs): the first run that matches
        ORGANISATION_KINDS exactly (or without a qualifier word: "leeds city" -> Leeds)."""
        for run in inner_runs(norm):
            for key, qualified in [(run, False)] + [(v, True) for v in qualifier_variants(run)]:
                entries = self.index.get(key, ())
                # all entries are kept so that homonyms still count (the best kind is an allowed one anyway:
                # every kind outside ORGANISATION_KINDS ranks below them)
                if any(e.kind in ORGANISATION_KINDS for e in entries):
                    return _Match(entries, qualified, via="organisation", factor=ORGANISATION_FACTOR)
        return None

    def _match_fuzzy(self, norm: str) -> _Match | None:
        """The gazetteer name nearest to a misspelt part, under the limits of the class docstring (step 6)."""
        if norm in self._fuzzy_cache:
            return self._fuzzy_cache[norm]
        result = None
        words = norm.split()
        compact = norm.replace(" ", "")
        limit = _fuzzy_max_distance(len(compact))
        if (limit >= 0 and compact.isalpha() and len(words) <= FUZZY_MAX_WORDS
                and not any(w in NON_PLACE_WORDS for w in words)):
            best: dict[int, list[str]] = {}
            for candidate, key in self.fuzzy_index.get(compact[0] + compact[-1], ()):
                if abs(len(candidate) - len(compact)) > limit:
                    continue
                # six letters: only a dropped letter ("Glasow", "Cardif"), the commonest slip in short names
                if len(compact) == FUZZY_MIN_LEN and len(candidate) != len(compact) + 1 and candidate != compact:
                    continue
                distance = _osa_distance(compact, candidate, limit)
                if distance <= limit:
                    best.setdefault(distance, []).append(key)
            for distance in sorted(best):
                # all entries kept (homonyms count); the best kind is a FUZZY_KINDS one, as they rank first
                matches = [_Match(self.index[key], False, via="fuzzy", factor=FUZZY_FACTOR[distance])
                           for key in best[distance]]
                # every nearest name must lead to the same region (by its own preference rule)
                regions = {self._single(m).region for m in matches}
                if len(regions) == 1 and None not in regions:
                    result = min(matches, key=lambda m: min(KIND_RANK[e.kind] for e in m.entries))
                break
        self._fuzzy_cache[norm] = result
        return result

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
            factor = (QUALIFIED_FACTOR if first.qualified else 1.0) * first.factor
            disagree = top < len(matches)  # some part pointed elsewhere
            if disagree:
                factor *= DISAGREE_FACTOR
            return _resolution(entry, BASE_CONFIDENCE[entry.kind] * factor, first.via, ambiguous=disagree)
        single = self._single(matches[0])
        if single.region is None:
            return single
        return replace(single, confidence=round(single.confidence * DISAGREE_FACTOR, 3), ambiguous=True)

    @staticmethod
    def _single(match: _Match) -> Resolution:
        best = match.best()
        regions = {e.region for e in best}
        if len(regions) > 1:
            return _unresolved("ambiguous", matched_name=best[0].name, ambiguous=True)
        entry = best[0]
        confidence = BASE_CONFIDENCE[entry.kind] * match.factor
        homonym = len(match.homonym_regions) > 1
        if homonym:
            confidence *= AMBIGUOUS_FACTOR
        if match.qualified:
            confidence *= QUALIFIED_FACTOR
        return _resolution(entry, confidence, match.via, ambiguous=homonym)

