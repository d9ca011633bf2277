"""Place-string normalisation and the checks that tell a place from an organisation or a job title.

Both the gazetteer table and the incoming place go through `normalise_place`, so the rules here define what
counts as "the same name": case, accents, punctuation, hyphens, "&"/"and", "St"/"Saint", a leading "the".
"""

from __future__ import annotations

import re
import unicodedata

# Splits a signature place into parts: "Newport, Isle of Wight", "Bolton (Lancs)", "Leeds; West Yorkshire".
_PART_SPLIT = re.compile(r"\s*[,;()\[\]|]\s*|\s+[-–—/]\s+")

# Words that make a part an organisation. Matched on whole normalised words. Deliberately simple: a part that
# names an organisation is never mined for a place inside it ("Bolton Medical Centre" stays unresolved), because
# practices are often named after roads or people ("Boleyn Road Practice"), which would give false regions.
_ORGANISATION = re.compile(
    r"\b(practice|practices|surgery|surgeries|medical|health ?centre|health ?center|healthcare|clinic|hospital|"
    r"ccg|ccgs|pct|pcts|nhs|trust|pharmacy|partnership|consortium|consortia|federation|council|university|"
    r"college|school|ltd|limited|plc|llp|association|society|network|alliance|group)\b"
)

# Job titles and similar words that commenters put where a place would be ("Practice Manager", "Retired GP").
_ROLE = re.compile(
    r"\b(manager|managers|gp|gps|nurse|doctor|dr|receptionist|partner|retired|locum|administrator|pharmacist|"
    r"director|chair|chairman|clinician|commissioner|consultant|patient|secretary|lead|salaried|registrar)$"
)

# Names of the whole UK or of England: real places, but not one of the 12 regions.
TOO_BROAD = frozenset({"uk", "u k", "united kingdom", "gb", "great britain", "britain", "england", "nationwide"})

# Leading/trailing words that qualify a place without changing its region ("North London", "near Bath",
# "Leeds area"). Tried only after the exact name failed, so "North Somerset" still matches the LAD.
_LEADING_QUALIFIERS = ("near", "nr", "outside", "central", "north", "south", "east", "west", "mid", "inner",
                       "outer", "greater", "rural", "city of", "county", "north east", "north west", "south east",
                       "south west")
_TRAILING_QUALIFIERS = ("area", "city", "town", "district", "borough", "and district", "city centre", "region",
                        "based")


def normalise_place(text: str | None) -> str:
    """Lower-case key: accents folded, '&' -> 'and', apostrophes/dots dropped, other punctuation -> space,
    'saint' -> 'st', a leading 'the' dropped, spaces collapsed. "Weston-Super-Mare" == "weston super mare"."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    folded = folded.replace("&", " and ")
    folded = re.sub(r"['’‘`.]", "", folded)  # "King's Lynn" -> "kings lynn", "St. Albans" -> "st albans"
    words = re.sub(r"[^a-z0-9]+", " ", folded).split()
    words = ["st" if w == "saint" else w for w in words]
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def split_parts(text: str) -> list[str]:
    """Comma/semicolon/bracket-separated parts of a place string, blanks dropped, order kept."""
    return [p.strip() for p in _PART_SPLIT.split(text) if p and p.strip()]


def is_organisation(norm: str) -> bool:
    """True when a normalised part names a practice, surgery, CCG, PCT, NHS body or similar."""
    return bool(_ORGANISATION.search(norm))


def is_role(norm: str) -> bool:
    """True when a normalised part ends in a job title ("practice manager", "retired gp")."""
    return bool(_ROLE.search(norm))


def qualifier_variants(norm: str) -> list[str]:
    """The name with one leading and/or trailing qualifier removed, most specific first (may be empty)."""
    variants: list[str] = []
    heads = [norm] + [norm[len(q) + 1:] for q in _LEADING_QUALIFIERS if norm.startswith(q + " ")]
    for head in heads:
        variants.append(head)
        variants += [head[: -len(q) - 1] for q in _TRAILING_QUALIFIERS if head.endswith(" " + q)]
    return [v for v in dict.fromkeys(variants[1:]) if v]
