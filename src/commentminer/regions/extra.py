"""[regions] extra_gazetteer: a user's own place -> region table, read into gazetteer entries.

For corpora outside the UK (or names the packaged table lacks). The file is a UTF-8 CSV with a header row
`place,region`; regions are free text, so any country can be mapped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable, TypeVar

from ..errors import ConfigError
from .normalise import normalise_place

EntryT = TypeVar("EntryT")
EXTRA_COLUMNS = ("place", "region")


def read_extra_gazetteer(path: Path, data: bytes, entry: Callable[[str, str], EntryT]) -> dict[str, EntryT]:
    """A user's place table ([regions] extra_gazetteer): a UTF-8 CSV with a header row `place,region` (further
    columns ignored), one place per row, e.g. "Lyon,Auvergne-Rhône-Alpes". Regions are free text, so any country
    can be mapped. Returns normalised place -> entry(place, region) (an object with a `region`; the gazetteer makes
    kind-"alias" entries, which win over every packaged kind). A missing column, an empty cell, a name that
    normalises to nothing or one place given two regions is a ConfigError naming the file and row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: [regions] extra_gazetteer is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if not set(EXTRA_COLUMNS) <= set(columns):
        raise ConfigError(f"{path}: [regions] extra_gazetteer needs a header row with columns place,region "
                          f"(found: {', '.join(columns) or 'nothing'})")
    reader.fieldnames = columns
    entries: dict[str, EntryT] = {}
    for line, row in enumerate(reader, start=2):
        place, region = (row.get("place") or "").strip(), (row.get("region") or "").strip()
        if not place or not region:
            raise ConfigError(f"{path}: row {line}: place and region must both be given")
        key = normalise_place(place)
        if not key:
            raise ConfigError(f"{path}: row {line}: {place!r} is not a place name")
        if key in entries and entries[key].region != region:
            raise ConfigError(f"{path}: row {line}: {place!r} is given two regions "
                              f"({entries[key].region!r} and {region!r})")
        entries[key] = entry(place, region)
    return entries
