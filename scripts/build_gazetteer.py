"""Build the packaged place -> UK region table from the ONS and GeoNames source files.

Usage:
    .venv/bin/python scripts/build_gazetteer.py --source ../shared/data/uk_gazetteer \
        --out src/commentminer/regions/data/gazetteer.csv

What it does (mechanically; no region is assigned by hand here — hand-written aliases live in
src/commentminer/regions/data/aliases.csv):

- ons_ward_lad_cty_rgn_ctry_dec2019.csv (ONS, OGL v3):
    every distinct LAD19NM -> kind "lad", region RGN19NM (England) else CTRY19NM (Wales/Scotland/NI);
    "Bristol, City of" style names also give "Bristol" as kind "lad_alias";
    every distinct CTY19NM -> kind "county" (includes metropolitan counties and Inner/Outer London);
    every RGN19NM -> kind "region"; CTRY19NM Wales/Scotland/Northern Ireland -> kind "country"
    (England is left out: it is not one region).
- ons_bua11_to_rgn11.csv / ons_buasd11_to_rgn11.csv (ONS, OGL v3): built-up areas and sub-divisions ->
    kind "bua" / "buasd", region RGN11NM. The " BUA"/" BUASD" suffix and the "(District)" disambiguator are
    stripped and "X/Y" names are split into X and Y. Areas that cross a region boundary appear once per region.
- geonames_postal_GB.txt (GeoNames, CC BY 4.0): only Scotland, Wales and Northern Ireland rows (in England the
    postcode-district keying mislabels border places and admin_name2 is a ceremonial county, not ONS); each
    distinct place name -> kind "geonames_place", region = the country. Northern Ireland's six "County X"
    names -> kind "county" plus "X" as kind "county_alias".

The other ONS files in the source folder (bua11_to_lad11, bua11_to_buasd11) are not needed for the region.
Output: CSV with columns name,kind,region,part (part = "part" for a built-up area that crosses a region
boundary, else empty), one row per distinct (name, kind, region, part), sorted, UTF-8, LF.
The script prints row counts per kind and, when the source folder has derived_place_region_lookup.csv, how
the result compares with it (a cross-check that the rules above match the documented build).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from pathlib import Path

COLUMNS = ("name", "kind", "region", "part")
GEONAMES_COUNTRIES = ("Scotland", "Wales", "Northern Ireland")


def _rows(path: Path) -> list[dict[str, str]]:
    # utf-8-sig: ONS exports sometimes start with a byte-order mark that would corrupt the first header.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def from_ward_lookup(path: Path) -> list[tuple[str, str, str, str]]:
    """LADs, counties, regions and countries (with "X, City of" aliases) from the Dec 2019 ward lookup."""
    out: list[tuple[str, str, str]] = []
    for row in _rows(path):
        region = row["RGN19NM"] or row["CTRY19NM"]  # RGN19NM is empty outside England
        lad = row["LAD19NM"]
        out.append((lad, "lad", region, ""))
        official = re.fullmatch(r"(.+), (?:City|County) of", lad)
        if official:  # "Bristol, City of" is written "Bristol" by everyone
            out.append((official.group(1), "lad_alias", region, ""))
        if row["CTY19NM"]:
            out.append((row["CTY19NM"], "county", region, ""))
        if row["RGN19NM"]:
            out.append((row["RGN19NM"], "region", row["RGN19NM"], ""))
        if row["CTRY19NM"] in GEONAMES_COUNTRIES:
            out.append((row["CTRY19NM"], "country", row["CTRY19NM"], ""))
    return out


def _builtup_names(raw: str, suffix: str) -> list[str]:
    """'Drayton (South Somerset) BUA' -> ['Drayton']; 'Heage/Crich BUA' -> ['Heage', 'Crich']."""
    name = re.sub(rf"\s+{suffix}$", "", raw.strip())
    name = re.sub(r"\s*\([^)]*\)", "", name).strip()
    return [part.strip() for part in name.split("/") if part.strip()]


def from_builtup(path: Path, code_col: str, name_col: str, kind: str, suffix: str) -> list[tuple[str, str, str, str]]:
    """Built-up areas (or sub-divisions) -> region, one row per (name, region).

    part = "part" when WHOLE_PART says the area crosses a region boundary (it then has a row in each region):
    the resolver does not count those extra regions as a homonym ("Sheffield" spills into the East Midlands).
    """
    out = []
    for row in _rows(path):
        if not row[code_col] or not row["RGN11NM"]:
            continue
        part = "part" if row["WHOLE_PART"].strip().lower() == "part" else ""
        for name in _builtup_names(row[name_col], suffix):
            out.append((name, kind, row["RGN11NM"], part))
    return out


def from_geonames(path: Path) -> list[tuple[str, str, str, str]]:
    """Scotland/Wales/NI postcode places (region = country) and Northern Ireland's six counties."""
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        for fields in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            country, place, county = fields[3], fields[2], fields[5]
            if country not in GEONAMES_COUNTRIES:
                continue
            out.append((place, "geonames_place", country, ""))
            if country == "Northern Ireland" and county.startswith("County "):
                out.append((county, "county", country, ""))
                out.append((county.removeprefix("County "), "county_alias", country, ""))
    return out


def build(source: Path) -> list[tuple[str, str, str, str]]:
    """All rows, deduplicated and sorted (so the output bytes, and the resolver id, are reproducible)."""
    rows = from_ward_lookup(source / "ons_ward_lad_cty_rgn_ctry_dec2019.csv")
    rows += from_builtup(source / "ons_bua11_to_rgn11.csv", "BUA11CD", "BUA11NM", "bua", "BUA")
    rows += from_builtup(source / "ons_buasd11_to_rgn11.csv", "BUASD11CD", "BUASD11NM", "buasd", "BUASD")
    rows += from_geonames(source / "geonames_postal_GB.txt")
    return sorted(set(rows))


def write(rows: list[tuple[str, str, str, str]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def compare_with_derived(rows: list[tuple[str, str, str, str]], derived: Path) -> str:
    """One line comparing our (name, kind, region) set with the session's derived lookup."""
    theirs = {(r["name"], r["kind"], r["region"]) for r in _rows(derived) if r["region"]}
    ours = {row[:3] for row in rows}
    return (f"derived_place_region_lookup.csv: {len(theirs)} distinct (name, kind, region); "
            f"in both {len(ours & theirs)}, only ours {len(ours - theirs)}, only derived {len(theirs - ours)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="folder with the ONS/GeoNames files (see its SOURCE.md)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write (the packaged gazetteer.csv)")
    args = parser.parse_args(argv)
    if not (args.source / "ons_ward_lad_cty_rgn_ctry_dec2019.csv").is_file():
        print(f"{args.source}: not a gazetteer source folder (ons_ward_lad_cty_rgn_ctry_dec2019.csv missing)",
              file=sys.stderr)
        return 2
    rows = build(args.source)
    write(rows, args.out)
    kinds = Counter(row[1] for row in rows)
    print(f"wrote {args.out}: {len(rows)} rows, {args.out.stat().st_size:,} bytes")
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:15s} {n:6d}")
    regions = Counter(row[2] for row in rows)
    print("  regions:", ", ".join(f"{r} {n}" for r, n in sorted(regions.items())))
    derived = args.source / "derived_place_region_lookup.csv"
    if derived.is_file():
        print(compare_with_derived(rows, derived))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
